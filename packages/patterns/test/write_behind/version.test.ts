import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { compareVersions, versionToDecimal } from '../../src/index.js'

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })

describe('versions', () => {
  test('compareVersions and versionToDecimal order stream ids as (ms, seq) pairs', () => {
    fc.assert(
      fc.property(u64, u64, u64, u64, (aMs, aSeq, bMs, bSeq) => {
        const a = `${aMs}-${aSeq}`
        const b = `${bMs}-${bSeq}`
        const expected = aMs !== bMs ? (aMs < bMs ? -1 : 1) : aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1
        expect(Math.sign(compareVersions(a, b))).toBe(expected)
        const packed = BigInt(versionToDecimal(a)) - BigInt(versionToDecimal(b))
        expect(packed === 0n ? 0 : packed < 0n ? -1 : 1).toBe(expected)
      }),
      { seed: 14, numRuns: 500 },
    )
    expect(compareVersions('007-1', '7-1')).toBe(0)
    expect(versionToDecimal('1-0')).toBe('18446744073709551616')
  })

  test('anything but a stream id is a typed error', () => {
    for (const bad of ['', '1', '1-', '-1', '1-2-3', 'a-1', '1.5-0', `${1n << 64n}-0`, `0-${1n << 64n}`]) {
      expect(() => versionToDecimal(bad)).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
    }
    expect(() => compareVersions('1-0', 'x')).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
  })
})
