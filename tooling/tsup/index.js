// How every published package builds: ESM + CJS + .d.ts/.d.cts for Node 20, with source maps.
import { defineConfig } from 'tsup'

/** The shared options, for packages whose config adds entries of their own. */
export const libraryOptions = {
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
}

export default defineConfig({ ...libraryOptions, entry: ['src/index.ts'] })
