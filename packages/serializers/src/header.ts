import { decodeError } from './errors.js'

/**
 * The header every encoded value starts with. It names everything a reader needs to undo the chain
 * (a reader then decodes it only if its codec allows that format and those steps), and it is paid on
 * every Redis value, so it stays a few bytes:
 *
 * ```
 * byte 0     0xC1                      magic
 * byte 1     version << 4 | format     version 2; format: 1 json, 2 json+tags, 3 msgpack, 4 msgpack+tags, 5 v8
 * byte 2     n                         number of transform steps actually applied
 * n steps    0x01                      lz4 block (the payload starts with its u32 LE decoded size)
 *            0x02 len keyId[len]       aes-256-gcm with the key id (1..255 bytes of UTF-8)
 * payload    the bytes of the last step (aes-256-gcm: 12-byte IV, 16-byte tag, ciphertext)
 * 4 bytes    CRC-32 LE                 only when the last step is not aes-256-gcm: over the additional
 *                                      data, the header and the payload (see additional_data.ts)
 * ```
 *
 * Steps are listed in the order they were applied and undone in reverse. The checksum trails the
 * value (version 2; version 1 had it after the header) so the header and payload it covers are one
 * run of bytes, checksummed in one call. Version 1 values read as `E_CODEC_DECODE`, a miss.
 */
export const MAGIC = 0xc1
export const VERSION = 2
export const CHECKSUM_BYTES = 4

/**
 * Wire formats of the serializers. JSON and msgpack each have a plain and a tagged format, so the
 * common case (no Date, Map, ...) decodes with a bare `JSON.parse` / `unpack` and no tree walk.
 */
export const FORMAT = {
  json: 1,
  jsonTagged: 2,
  msgpack: 3,
  msgpackTagged: 4,
  v8: 5,
} as const

/** One of the `FORMAT` values. */
export type FormatId = (typeof FORMAT)[keyof typeof FORMAT]

/** Transform step ids as written in the header. */
export const STEP = { lz4: 1, aes256gcm: 2 } as const

/** A transform step as the header records it. */
export type HeaderStep =
  | { readonly id: typeof STEP.lz4 }
  | { readonly id: typeof STEP.aes256gcm; readonly keyId: string; readonly keyIdBytes: Uint8Array }

/** What `parseHeader` read. */
export interface ParsedHeader {
  readonly version: number
  readonly format: FormatId
  readonly steps: readonly HeaderStep[]
  /** End of the magic, format and steps: the bytes AES-GCM authenticates (with the additional data). */
  readonly stepsEnd: number
  /** True when a CRC-32 ends the value. */
  readonly checksum: boolean
  /** Where the payload starts (`stepsEnd`). */
  readonly bodyOffset: number
  /** Where the payload ends: before the checksum, or at the end of the value. */
  readonly bodyEnd: number
}

const LZ4_STEP: HeaderStep = { id: STEP.lz4 }
const FIXED_BYTES = 3
// Only two kinds of step exist and neither may repeat; the bound keeps a forged header cheap to reject.
const MAX_STEPS = 8
const MAX_FORMAT = FORMAT.v8

/** The lz4 step (it has no parameters). */
export function lz4Step(): HeaderStep {
  return LZ4_STEP
}

/** Length of the header without its checksum. */
export function headerLength(steps: readonly HeaderStep[]): number {
  let length = FIXED_BYTES
  for (const step of steps) length += step.id === STEP.aes256gcm ? 2 + step.keyIdBytes.length : 1
  return length
}

/** Writes magic, format and steps at the start of `target`; returns the offset after them. */
export function writeHeader(target: Uint8Array, format: FormatId, steps: readonly HeaderStep[]): number {
  target[0] = MAGIC
  target[1] = (VERSION << 4) | format
  target[2] = steps.length
  let offset = FIXED_BYTES
  for (const step of steps) {
    target[offset++] = step.id
    if (step.id === STEP.aes256gcm) {
      target[offset++] = step.keyIdBytes.length
      target.set(step.keyIdBytes, offset)
      offset += step.keyIdBytes.length
    }
  }
  return offset
}

/** True when the outermost step is aes-256-gcm, whose tag authenticates the rest instead of a CRC. */
export function endsAuthenticated(steps: readonly HeaderStep[]): boolean {
  return steps.length > 0 && steps[steps.length - 1]!.id === STEP.aes256gcm
}

const keyIdDecoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Reads and checks the header's structure (not the checksum or tag).
 * @throws CodecDecodeError when the bytes are not a cachekit value this version understands.
 */
export function parseHeader(bytes: Uint8Array): ParsedHeader {
  if (bytes.length < FIXED_BYTES || bytes[0] !== MAGIC) {
    throw decodeError('the bytes are not a cachekit encoded value (no 0xC1 header)')
  }
  const version = bytes[1]! >> 4
  if (version !== VERSION) throw decodeError(`unknown header version ${version}`)
  const format = bytes[1]! & 0x0f
  if (format < 1 || format > MAX_FORMAT) throw decodeError(`unknown serializer format ${format}`)
  const count = bytes[2]!
  if (count > MAX_STEPS) throw decodeError(`header lists ${count} transform steps`)
  const steps: HeaderStep[] = []
  let seen = 0
  let offset = FIXED_BYTES
  for (let i = 0; i < count; i++) {
    if (offset >= bytes.length) throw decodeError('the header is truncated')
    const id = bytes[offset++]!
    if (id !== STEP.lz4 && id !== STEP.aes256gcm) throw decodeError(`unknown transform step ${id}`)
    if (seen & (1 << id)) throw decodeError(`transform step ${id} is listed twice`)
    seen |= 1 << id
    if (id === STEP.lz4) {
      steps.push(LZ4_STEP)
      continue
    }
    const length = bytes[offset++]
    if (length === undefined || length === 0 || offset + length > bytes.length) {
      throw decodeError('the header is truncated')
    }
    const keyIdBytes = bytes.subarray(offset, offset + length)
    offset += length
    let keyId: string
    try {
      keyId = keyIdDecoder.decode(keyIdBytes)
    } catch (error) {
      throw decodeError('the key id in the header is not UTF-8', error)
    }
    steps.push({ id, keyId, keyIdBytes })
  }
  const checksum = !endsAuthenticated(steps)
  const bodyEnd = checksum ? bytes.length - CHECKSUM_BYTES : bytes.length
  if (offset > bodyEnd) throw decodeError('the value is truncated')
  return {
    version,
    format: format as FormatId,
    steps,
    stepsEnd: offset,
    checksum,
    bodyOffset: offset,
    bodyEnd,
  }
}

/** The serializer a wire format belongs to. */
export function serializerNameOf(format: FormatId): 'json' | 'msgpack' | 'v8' {
  if (format === FORMAT.json || format === FORMAT.jsonTagged) return 'json'
  if (format === FORMAT.msgpack || format === FORMAT.msgpackTagged) return 'msgpack'
  return 'v8'
}
