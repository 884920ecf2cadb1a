import { InvalidOptionError } from '@cachekit/core'

/**
 * Versions of write-behind entries are their stream ids (`<ms>-<seq>`): Redis makes them strictly
 * increasing within a stream, atomically with the XADD, at no cost in memory. A key always goes to
 * the same stream, so its versions only grow.
 */

const ID = /^(\d{1,20})-(\d{1,20})$/

function parse(version: string): [bigint, bigint] {
  const match = ID.exec(version)
  if (!match) throw new InvalidOptionError(`[cachekit/patterns] not a stream id: ${JSON.stringify(version)}`)
  return [BigInt(match[1]!), BigInt(match[2]!)]
}

/**
 * Orders two write-behind versions (stream ids): negative when `a` is older, 0 when equal, positive
 * when `a` is newer. For sinks other than Postgres that keep a version per key.
 *
 * @example compareVersions('1700000000000-3', '1700000000000-12') // < 0
 */
export function compareVersions(a: string, b: string): number {
  const [aMs, aSeq] = parse(a)
  const [bMs, bSeq] = parse(b)
  if (aMs !== bMs) return aMs < bMs ? -1 : 1
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1
}

/**
 * A version as one exact integer, `ms × 2^64 + seq`, in decimal: what the Postgres sink stores in its
 * `numeric` version column, so SQL orders versions with a plain `<`.
 *
 * @example versionToDecimal('1-0') // '18446744073709551616'
 */
export function versionToDecimal(version: string): string {
  const [ms, seq] = parse(version)
  return ((ms << 64n) + seq).toString()
}
