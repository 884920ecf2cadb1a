import { libraryOptions } from '@cachekit/tsup-config'
import { defineConfig } from 'tsup'

// `shims`: lz4-napi is loaded lazily with createRequire(import.meta.url) (src/lz4_binding.ts), and the
// CJS build has no import.meta; tsup's shim gives it the file URL of the built file.
export default defineConfig({ ...libraryOptions, entry: ['src/index.ts'], shims: true })
