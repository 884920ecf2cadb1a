import { InvalidOptionError } from '@cachekit/core'

/**
 * Versions of write-behind entries are their stream ids (`<ms>-<seq>`): Redis makes them strictly
 * increasing within a stream, atomically with the XADD, at no cost in memory. A key always goes to
 * the same stream, so its versions only grow.
 */

const ID = /^(\d{1,20})-(\d{1,20})$/

function parts(version: string): [string, string] {
  const match = ID.exec(version)
  if (!match) {
    throw new InvalidOptionError(`[cachekit/patterns] not a stream id: ${JSON.stringify(version)}`)
  }
  // Without leading zeros, so a longer digit string is a larger number.
  return [match[1]!.replace(/^0+(?=\d)/, ''), match[2]!.replace(/^0+(?=\d)/, '')]
}

function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1
  return a === b ? 0 : a < b ? -1 : 1
}

/**
 * Orders two write-behind versions (stream ids): negative when `a` is older, 0 when equal, positive
 * when `a` is newer. For sinks other than Postgres that keep a version per key.
 *
 * @example compareVersions('1700000000000-3', '1700000000000-12') // < 0
 */
export function compareVersions(a: string, b: string): number {
  const [aMs, aSeq] = parts(a)
  const [bMs, bSeq] = parts(b)
  return compareDigits(aMs, bMs) || compareDigits(aSeq, bSeq)
}

/**
 * A version as one exact integer, `ms × 2^64 + seq`, in decimal: what the Postgres sink stores in its
 * `numeric` version column, so SQL orders versions with a plain `<`.
 *
 * @example versionToDecimal('1-0') // '18446744073709551616'
 */
export function versionToDecimal(version: string): string {
  const [ms, seq] = parts(version).map(BigInt) as [bigint, bigint]
  // Redis ids are two unsigned 64-bit numbers; a larger part would not pack without overlap.
  if (ms >= 1n << 64n || seq >= 1n << 64n) {
    throw new InvalidOptionError(`[cachekit/patterns] not a stream id: ${JSON.stringify(version)}`)
  }
  return ((ms << 64n) + seq).toString()
}
