import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { deserialize, serialize } from 'node:v8'
import type { CacheEntry, L1Entry } from '@cachekit/core'
import { SnapshotError } from '../errors.js'

/**
 * The bytes of a snapshot: `CKSNAP`, a format version, a flags byte (bit 0: signed with HMAC), a
 * 32-byte digest, then the body. The digest is SHA-256 (or HMAC-SHA-256 with the `secret`) of
 * everything else, header included, so a flipped bit anywhere, a truncation or a swapped flag is
 * caught before the body is decoded. The body is V8's structured serialization (node:v8), which
 * carries what an L1 holds (Dates, Maps, Sets, BigInts, typed arrays) as it was.
 */
const MAGIC = Buffer.from('CKSNAP', 'latin1')
const VERSION = 1
const SIGNED = 1
const HEADER_BYTES = MAGIC.length + 2
const DIGEST_BYTES = 32

/** An entry as a snapshot stores it: key, value, createdAt, expiresAt, hardExpiresAt, tags. */
type Row = [string, unknown, number, number, number, readonly string[]]

interface Body {
  writtenAt: number
  rows: Row[]
}

/** What a decoded snapshot holds. */
export interface DecodedSnapshot {
  writtenAt: number
  entries: L1Entry[]
}

/** Encodes entries; an entry whose value V8 cannot serialize (a function in it) is left out and counted. */
export function encodeSnapshot(
  entries: readonly L1Entry[],
  secret: Uint8Array | undefined,
): { bytes: Buffer; skipped: number } {
  const rows: Row[] = entries.map(({ storeKey, entry }) => [
    storeKey,
    entry.value,
    entry.createdAt,
    entry.expiresAt,
    entry.hardExpiresAt,
    entry.tags,
  ])
  let body: Buffer
  let skipped = 0
  try {
    body = serialize({ writtenAt: Date.now(), rows } satisfies Body)
  } catch {
    // Rare, so only then is each value tried alone.
    const kept = rows.filter((row) => {
      try {
        serialize(row[1])
        return true
      } catch {
        skipped++
        return false
      }
    })
    body = serialize({ writtenAt: Date.now(), rows: kept } satisfies Body)
  }
  const header = Buffer.concat([MAGIC, Buffer.from([VERSION, secret ? SIGNED : 0])])
  return { bytes: Buffer.concat([header, digest(header, body, secret), body]), skipped }
}

/** Decodes and checks a whole snapshot; throws `SnapshotError` on anything wrong, before any use. */
export function decodeSnapshot(
  bytes: Uint8Array,
  source: string,
  secret: Uint8Array | undefined,
): DecodedSnapshot {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (data.length < HEADER_BYTES + DIGEST_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotError(source, 'not a cachekit snapshot')
  }
  const version = data[MAGIC.length]
  const flags = data[MAGIC.length + 1]!
  if (version !== VERSION)
    throw new SnapshotError(source, `format version ${version} is not one this version reads`)
  if ((flags & ~SIGNED) !== 0) throw new SnapshotError(source, 'unknown flags')
  const signed = (flags & SIGNED) !== 0
  // Both ways refused: a signed snapshot read without its secret cannot be checked, and an unsigned
  // one read with a secret could be anyone's (stripping the signature must not be a way in).
  if (signed && !secret) throw new SnapshotError(source, 'it is signed; pass its `secret`')
  if (!signed && secret) throw new SnapshotError(source, 'it is not signed, and a `secret` was given')
  const header = data.subarray(0, HEADER_BYTES)
  const stored = data.subarray(HEADER_BYTES, HEADER_BYTES + DIGEST_BYTES)
  const body = data.subarray(HEADER_BYTES + DIGEST_BYTES)
  if (!timingSafeEqual(stored, digest(header, body, secret))) {
    throw new SnapshotError(source, signed ? 'its HMAC does not match' : 'its checksum does not match')
  }
  let decoded: unknown
  try {
    decoded = deserialize(body)
  } catch (error) {
    throw new SnapshotError(source, 'its body does not decode', { cause: error })
  }
  return checkBody(decoded, source)
}

function digest(header: Buffer, body: Buffer, secret: Uint8Array | undefined): Buffer {
  const hash = secret ? createHmac('sha256', secret) : createHash('sha256')
  return hash.update(header).update(body).digest()
}

function checkBody(decoded: unknown, source: string): DecodedSnapshot {
  const body = decoded as Partial<Body> | null
  if (
    typeof body !== 'object' ||
    body === null ||
    typeof body.writtenAt !== 'number' ||
    !Array.isArray(body.rows)
  ) {
    throw new SnapshotError(source, 'its body is not a snapshot')
  }
  const entries = body.rows.map((row, i): L1Entry => {
    if (!isRow(row)) throw new SnapshotError(source, `entry ${i} is malformed`)
    const [storeKey, value, createdAt, expiresAt, hardExpiresAt, tags] = row
    const entry: CacheEntry = { value, createdAt, expiresAt, hardExpiresAt, tags }
    return { storeKey, entry }
  })
  return { writtenAt: body.writtenAt, entries }
}

function isRow(row: unknown): row is Row {
  return (
    Array.isArray(row) &&
    row.length === 6 &&
    typeof row[0] === 'string' &&
    typeof row[2] === 'number' &&
    typeof row[3] === 'number' &&
    typeof row[4] === 'number' &&
    row[4] >= row[3] &&
    Array.isArray(row[5]) &&
    row[5].every((tag: unknown) => typeof tag === 'string')
  )
}
