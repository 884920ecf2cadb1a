import type { HeaderStep } from './header.js'

/** Names of the built-in byte transforms. */
export type TransformName = 'lz4' | 'aes256gcm'

// Like serializers, transforms are a closed set: every reader must be able to undo every step id.
declare const transformBrand: unique symbol

/** A byte transform applied after the serializer: made by `lz4()` or `aes256gcm()`. */
export interface Transform {
  /** `lz4` or `aes256gcm`. */
  readonly name: TransformName
  /** Marks transforms made by this package; a codec only accepts those. */
  readonly [transformBrand]: true
}

/** The lz4 transform, inside the package. */
export interface Lz4Impl {
  readonly name: 'lz4'
  /** The compressed block, or undefined when the input is below the threshold or would not shrink. */
  compress(input: Uint8Array): Uint8Array | undefined
  /**
   * Undoes `compress`, refusing a block that declares more than `maxBytes` before allocating.
   * @throws CodecDecodeError when the block is invalid or too large.
   */
  decompress(input: Uint8Array, maxBytes: number): Uint8Array
}

/** The aes-256-gcm transform, inside the package. */
export interface AesImpl {
  readonly name: 'aes256gcm'
  /** The header step of the current key (new writes use it). */
  readonly currentStep: HeaderStep
  /** When false, a codec with this transform refuses values that were not encrypted. */
  readonly allowUnencrypted: boolean
  /** Bytes `seal` adds to the plaintext (IV and tag). */
  readonly overhead: number
  /** Encrypts `plaintext` into `out` at `offset` (IV, tag, ciphertext), authenticating `aad`. */
  sealInto(out: Uint8Array, offset: number, plaintext: Uint8Array, aad: Uint8Array): void
  /** Decrypts a payload written by `sealInto` with key `keyId`, authenticating `aad`. */
  open(aad: Uint8Array, payload: Uint8Array, keyId: string): Uint8Array
}

/** What a transform does, inside the package. */
export type TransformImpl = Lz4Impl | AesImpl

// As for serializers: a registered symbol, so handles from another copy of the package still work.
const IMPL = Symbol.for('cachekit.serializers.transform')

/** Wraps an implementation into the public, branded handle. */
export function defineTransform(impl: TransformImpl): Transform {
  const handle = { name: impl.name }
  Object.defineProperty(handle, IMPL, { value: impl })
  return Object.freeze(handle) as unknown as Transform
}

/** The implementation behind a handle made by this package, or undefined for anything else. */
export function transformImpl(transform: unknown): TransformImpl | undefined {
  if (typeof transform !== 'object' || transform === null) return undefined
  const impl = (transform as { [IMPL]?: Partial<TransformImpl> })[IMPL]
  if (impl?.name === 'lz4' && typeof impl.compress === 'function' && typeof impl.decompress === 'function') {
    return impl as Lz4Impl
  }
  if (impl?.name === 'aes256gcm' && typeof impl.sealInto === 'function' && typeof impl.open === 'function') {
    return impl as AesImpl
  }
  return undefined
}
