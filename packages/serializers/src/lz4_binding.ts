import { createRequire } from 'node:module'
import { Lz4UnavailableError } from './errors.js'

/** The two functions of lz4-napi this package calls. */
export interface Lz4Binding {
  compressSync(data: Buffer): Buffer
  uncompressSync(data: Uint8Array): Buffer
}

let binding: Lz4Binding | undefined

/**
 * lz4-napi, loaded on first use rather than imported: it is a native addon, and where its binary is
 * missing (`npm i --omit=optional`, a platform without a prebuilt one) a static import would make
 * this whole package (and every package importing it) fail to load, even for a JSON codec.
 *
 * `createRequire(import.meta.url)` works in both builds: the ESM one has `import.meta.url`, and tsup
 * (`shims: true`) gives the CJS one a `file:` URL of its own file. It resolves lz4-napi from this
 * package's folder, as a static import would.
 * @throws Lz4UnavailableError when lz4-napi or its binary cannot be loaded.
 */
export function loadLz4(): Lz4Binding {
  if (binding !== undefined) return binding
  let loaded: Partial<Lz4Binding>
  try {
    loaded = createRequire(import.meta.url)('lz4-napi') as Partial<Lz4Binding>
  } catch (error) {
    // Not cached: building a codec is rare, and a later call may find a package installed since.
    throw new Lz4UnavailableError(error)
  }
  if (typeof loaded.compressSync !== 'function' || typeof loaded.uncompressSync !== 'function') {
    throw new Lz4UnavailableError(new Error('lz4-napi does not export compressSync and uncompressSync'))
  }
  binding = loaded as Lz4Binding
  return binding
}
