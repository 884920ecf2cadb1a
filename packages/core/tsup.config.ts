import { libraryOptions } from '@cachekit/tsup-config'
import { defineConfig } from 'tsup'

export default defineConfig([
  { ...libraryOptions, entry: { index: 'src/index.ts' } },
  // The Store contract suite runs inside vitest, which is ESM-only, so its entry is ESM-only too.
  { ...libraryOptions, entry: { 'testing/index': 'src/testing/index.ts' }, format: ['esm'], clean: false },
])
