import { defineConfig } from 'tsup'

const shared = { dts: true, sourcemap: true, target: 'node20' } as const

export default defineConfig([
  { ...shared, entry: { index: 'src/index.ts' }, format: ['esm', 'cjs'], clean: true },
  // The Store contract suite runs inside vitest, which is ESM-only, so its entry is ESM-only too.
  { ...shared, entry: { 'testing/index': 'src/testing/index.ts' }, format: ['esm'] },
])
