import { type Codec, CodecEncodeError } from '@cachekit/core'

/**
 * What travels on a channel: a tuple rather than an object, so the field names are not repeated in
 * every message. With the default JSON encoding a message reads
 *
 *     ["ck1","Vq3xN0bW7kRt",42,1732233445123,{"op":"delete","keys":["user:1"]}]
 *
 * marker and version, sender instance id, the sender's sequence number on this channel, the send time
 * (ms since the epoch), the payload.
 */
export const ENVELOPE_MARKER = 'ck1'

/** The longest instance id accepted, in characters. */
export const MAX_INSTANCE_ID_LENGTH = 256

/** A decoded envelope. */
export interface Envelope {
  readonly instanceId: string
  readonly seq: number
  readonly sentAt: number
  readonly payload: unknown
}

/** Why a byte string is not an envelope; `undefined` from `readEnvelope` means it is one. */
export type EnvelopeProblem = { readonly reason: string; readonly cause?: unknown }

/**
 * Encodes an envelope, as JSON (the default: readable with `redis-cli SUBSCRIBE`, and by any language)
 * or through a cachekit codec (e.g. `msgpackCodec()` from `@cachekit/serializers`, for Dates, Maps and
 * binary payloads). Throws `CodecEncodeError` for a payload the encoding cannot represent.
 */
export function encodeEnvelope(envelope: Envelope, codec: Codec | undefined): Buffer {
  const tuple = [ENVELOPE_MARKER, envelope.instanceId, envelope.seq, envelope.sentAt, envelope.payload]
  if (codec) {
    const bytes = codec.encode(tuple)
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  let json: string
  try {
    json = JSON.stringify(tuple)
  } catch (error) {
    throw new CodecEncodeError('[cachekit/pubsub] the payload cannot be encoded as JSON', { cause: error })
  }
  return Buffer.from(json, 'utf8')
}

/**
 * Decodes and validates a message. Anything on the wire may be garbage (another app publishing on the
 * channel, another codec, a hand-typed `PUBLISH`), so every field is checked and a problem is returned,
 * never thrown.
 */
export function readEnvelope(
  bytes: Buffer,
  codec: Codec | undefined,
): { envelope: Envelope; problem?: undefined } | { envelope?: undefined; problem: EnvelopeProblem } {
  let decoded: unknown
  try {
    decoded = codec ? codec.decode(bytes) : JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    return { problem: { reason: codec ? `not decodable by codec ${codec.name}` : 'not JSON', cause: error } }
  }
  if (!Array.isArray(decoded) || decoded.length !== 5 || decoded[0] !== ENVELOPE_MARKER) {
    return { problem: { reason: `not a ${ENVELOPE_MARKER} envelope` } }
  }
  const [, instanceId, seq, sentAt, payload] = decoded as [unknown, unknown, unknown, unknown, unknown]
  if (!isInstanceId(instanceId)) return { problem: { reason: 'bad instance id' } }
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    return { problem: { reason: 'bad sequence number' } }
  }
  if (typeof sentAt !== 'number' || !Number.isFinite(sentAt) || sentAt < 0) {
    return { problem: { reason: 'bad send time' } }
  }
  return { envelope: { instanceId, seq, sentAt, payload } }
}

/** A non-empty string of at most `MAX_INSTANCE_ID_LENGTH` characters without NUL. */
export function isInstanceId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_INSTANCE_ID_LENGTH &&
    !value.includes('\0')
  )
}
