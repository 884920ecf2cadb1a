import { decodeError, optionError } from './errors.js'
import { loadLz4 } from './lz4_binding.js'
import { asBuffer } from './serializer.js'
import { defineTransform, type Transform } from './transform.js'

/** Options of `lz4()`. */
export interface Lz4Options {
  /**
   * Values whose serialized form is smaller than this many bytes are stored uncompressed: below about
   * a kilobyte LZ4 rarely pays for its 4-byte size prefix and the call. Default 1024.
   */
  threshold?: number
}

// An LZ4 block grows by at most 255 bytes per input byte (a run of 0xFF length bytes), so a size
// prefix claiming more is forged, and refusing it before the native call avoids a huge allocation.
const MAX_RATIO = 255
const SIZE_PREFIX = 4

/**
 * LZ4 block compression (lz4-napi), for values of at least `threshold` bytes, kept only when it is
 * smaller than the input. The header records whether it was applied, so a reader knows. A codec
 * decompresses only when it lists `lz4()` in `transforms` or `accept`.
 *
 * lz4-napi is a native addon loaded here, on first use, not when the package is imported.
 * @throws InvalidOptionError when the threshold is invalid.
 * @throws Lz4UnavailableError (`E_INVALID_OPTION`) when lz4-napi cannot be loaded on this machine.
 */
export function lz4(options: Lz4Options = {}): Transform {
  const threshold = options.threshold ?? 1024
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw optionError(`lz4 threshold must be a non-negative integer, got ${String(threshold)}`)
  }
  const { compressSync, uncompressSync } = loadLz4()
  return defineTransform({
    name: 'lz4',
    compress(input) {
      if (input.length < threshold) return undefined
      const compressed = compressSync(asBuffer(input))
      // +1: the step byte in the header. Keep only a real saving.
      return compressed.length + 1 < input.length ? compressed : undefined
    },
    decompress(input, maxBytes) {
      if (input.length < SIZE_PREFIX) throw decodeError('the lz4 block is truncated')
      const declared = asBuffer(input).readUInt32LE(0)
      if (declared > maxBytes) {
        throw decodeError(
          `the lz4 block decompresses to ${declared} bytes, above maxSerializedBytes ${maxBytes}`,
        )
      }
      if (declared > (input.length - SIZE_PREFIX) * MAX_RATIO + 16) {
        throw decodeError('the lz4 block declares more bytes than it can hold')
      }
      let output: Buffer
      try {
        output = uncompressSync(input)
      } catch (error) {
        throw decodeError('the lz4 block is corrupt', error)
      }
      if (output.length !== declared) throw decodeError('the lz4 block does not match its declared size')
      return output
    },
  })
}
