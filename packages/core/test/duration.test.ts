import { describe, expect, it } from 'vitest'
import {
  CacheError,
  type Duration,
  InvalidDurationError,
  parseDuration,
  parseOptionalDuration,
} from '../src/index.js'

describe('parseDuration', () => {
  it.each<[Duration, number]>([
    [0, 0],
    [1500, 1500],
    ['250ms', 250],
    ['5s', 5_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
    ['2 hours', 7_200_000],
    ['100', 100],
  ])('parses %j as %d ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected)
  })

  it.each<unknown>([
    '',
    '  ',
    'soon',
    '5 parsecs',
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '-5m',
    null,
    {},
  ])('rejects %j with E_INVALID_DURATION', (input) => {
    let thrown: unknown
    try {
      parseDuration(input as Duration)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InvalidDurationError)
    expect(CacheError.hasCode(thrown, 'E_INVALID_DURATION')).toBe(true)
  })

  it('passes undefined through parseOptionalDuration', () => {
    expect(parseOptionalDuration(undefined)).toBeUndefined()
    expect(parseOptionalDuration('1m')).toBe(60_000)
  })
})
