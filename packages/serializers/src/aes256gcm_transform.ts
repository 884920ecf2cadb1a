import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
  randomFillSync,
} from 'node:crypto'
import { decodeError, optionError } from './errors.js'
import { type HeaderStep, STEP } from './header.js'
import { defineTransform, type Transform } from './transform.js'

/** Key material: 32 bytes, or a string of them in hex (64 digits) or base64 / base64url. */
export type AesKeyMaterial = Uint8Array | string

/** Options of `aes256gcm()`. */
export interface Aes256GcmOptions {
  /**
   * The keyring: key id -> 32-byte key. Every listed key decrypts; only `currentKeyId` encrypts. Key ids
   * are stored in every value's header, so keep them short (`'k1'`, `'2025-06'`); 1 to 255 bytes.
   */
  keys: Readonly<Record<string, AesKeyMaterial>>
  /** The key new values are encrypted with. */
  currentKeyId: string
  /**
   * Accept values that were written without encryption. Default false: a codec that encrypts refuses
   * plaintext values, so whoever can write to Redis without the key cannot plant a value it will read.
   * Turn on only while migrating an existing unencrypted cache.
   */
  allowUnencrypted?: boolean
}

const KEY_BYTES = 32
const IV_BYTES = 12
const TAG_BYTES = 16
const MAX_KEY_ID_BYTES = 255
const ALGORITHM = 'aes-256-gcm'

// IVs come from one CSPRNG refill per 1,024 values instead of a randomBytes call per value.
const ivPool = Buffer.alloc(IV_BYTES * 1024)
let ivOffset = ivPool.length

function nextIv(target: Uint8Array): void {
  if (ivOffset + IV_BYTES > ivPool.length) {
    randomFillSync(ivPool)
    ivOffset = 0
  }
  target.set(ivPool.subarray(ivOffset, ivOffset + IV_BYTES))
  ivOffset += IV_BYTES
}

const HEX = /^[0-9a-fA-F]{64}$/
const BASE64 = /^[A-Za-z0-9+/]{43}=?$/
const BASE64URL = /^[A-Za-z0-9_-]{43}$/

/** The 32 bytes of a key, or an InvalidOptionError that names the key id (never the material). */
function keyBytes(keyId: string, material: unknown): Buffer {
  let bytes: Buffer | undefined
  if (material instanceof Uint8Array) {
    bytes = material.length === KEY_BYTES ? Buffer.from(material) : undefined
  } else if (typeof material === 'string') {
    if (HEX.test(material)) bytes = Buffer.from(material, 'hex')
    else if (BASE64.test(material)) bytes = Buffer.from(material, 'base64')
    else if (BASE64URL.test(material)) bytes = Buffer.from(material, 'base64url')
  }
  if (bytes === undefined || bytes.length !== KEY_BYTES) {
    throw optionError(
      `aes256gcm key "${keyId}" must be 32 bytes: a Uint8Array, 64 hex digits or 43-44 base64 characters`,
    )
  }
  if (bytes.every((byte) => byte === 0)) {
    throw optionError(`aes256gcm key "${keyId}" is all zeros, which is a placeholder, not a key`)
  }
  return bytes
}

/**
 * AES-256-GCM authenticated encryption (node:crypto): a random 12-byte IV per value and a 16-byte tag;
 * the header (with the key id) and the codec context's additional data (the cache passes the store
 * key and the entry frame) are authenticated, so tampering with the header, or a value copied under
 * another key, fails to decrypt. Rotate keys by adding a new one and making it current: old values keep decrypting while their
 * key stays listed. Must be the last transform of a chain (ciphertext does not compress).
 *
 * With random IVs, encrypt at most 2^32 values under one key (NIST SP 800-38D); rotate well before.
 * @throws InvalidOptionError when key material or ids are invalid, or `currentKeyId` is not listed.
 */
export function aes256gcm(options: Aes256GcmOptions): Transform {
  if (typeof options !== 'object' || options === null)
    throw optionError('aes256gcm needs { keys, currentKeyId }')
  const { keys, currentKeyId } = options
  if (typeof keys !== 'object' || keys === null) throw optionError('aes256gcm keys must be an object')
  const ring = new Map<string, KeyObject>()
  const steps = new Map<string, HeaderStep>()
  for (const [keyId, material] of Object.entries(keys)) {
    const keyIdBytes = Buffer.from(keyId, 'utf8')
    if (keyIdBytes.length === 0 || keyIdBytes.length > MAX_KEY_ID_BYTES) {
      throw optionError(`aes256gcm key ids must be 1 to ${MAX_KEY_ID_BYTES} bytes of UTF-8, got "${keyId}"`)
    }
    ring.set(keyId, createSecretKey(keyBytes(keyId, material)))
    steps.set(keyId, { id: STEP.aes256gcm, keyId, keyIdBytes })
  }
  if (ring.size === 0) throw optionError('aes256gcm needs at least one key')
  const currentKey = ring.get(currentKeyId)
  const currentStep = steps.get(currentKeyId)
  if (currentKey === undefined || currentStep === undefined) {
    throw optionError(`aes256gcm currentKeyId "${String(currentKeyId)}" is not one of the keys`)
  }

  return defineTransform({
    name: 'aes256gcm',
    currentStep,
    allowUnencrypted: options.allowUnencrypted === true,
    overhead: IV_BYTES + TAG_BYTES,
    sealInto(out, offset, plaintext, aad) {
      const iv = out.subarray(offset, offset + IV_BYTES)
      nextIv(iv)
      const cipher = createCipheriv(ALGORITHM, currentKey, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(aad)
      const body = offset + IV_BYTES + TAG_BYTES
      const head = cipher.update(plaintext)
      out.set(head, body)
      // GCM is a stream mode: final() returns nothing more, but it is what computes the tag.
      out.set(cipher.final(), body + head.length)
      out.set(cipher.getAuthTag(), offset + IV_BYTES)
    },
    open(aad, payload, keyId) {
      const key = ring.get(keyId)
      if (key === undefined) {
        throw decodeError(
          `the value is encrypted with key id ${JSON.stringify(keyId)}, which is not in the keyring`,
        )
      }
      if (payload.length < IV_BYTES + TAG_BYTES) throw decodeError('the encrypted payload is truncated')
      try {
        const decipher = createDecipheriv(ALGORITHM, key, payload.subarray(0, IV_BYTES), {
          authTagLength: TAG_BYTES,
        })
        decipher.setAuthTag(payload.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
        decipher.setAAD(aad)
        const head = decipher.update(payload.subarray(IV_BYTES + TAG_BYTES))
        const tail = decipher.final()
        return tail.length === 0 ? head : Buffer.concat([head, tail])
      } catch (error) {
        throw decodeError(
          `authentication failed with key id ${JSON.stringify(keyId)} (tampered, truncated, or bound to other additional data)`,
          error,
        )
      }
    },
  })
}
