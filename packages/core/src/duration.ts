import ms from 'ms'
import { InvalidDurationError } from './errors.js'

/** Units accepted in a duration string. */
export type DurationUnit =
  | 'ms'
  | 's'
  | 'sec'
  | 'secs'
  | 'second'
  | 'seconds'
  | 'm'
  | 'min'
  | 'mins'
  | 'minute'
  | 'minutes'
  | 'h'
  | 'hr'
  | 'hrs'
  | 'hour'
  | 'hours'
  | 'd'
  | 'day'
  | 'days'
  | 'w'
  | 'week'
  | 'weeks'

/**
 * A duration: milliseconds as a number, or a string such as `'250ms'`, `'5m'`, `'1h'`, `'7d'`,
 * `'1.5 hours'`. A bare numeric string is milliseconds.
 */
export type Duration = number | `${number}` | `${number}${DurationUnit}` | `${number} ${DurationUnit}`

/**
 * Parses a duration into milliseconds.
 *
 * @throws InvalidDurationError for anything that is not a finite, non-negative duration.
 * @example parseDuration('5m') // 300000
 */
export function parseDuration(input: Duration): number {
  const millis = typeof input === 'number' ? input : parseString(input)
  if (!Number.isFinite(millis) || millis < 0) throw new InvalidDurationError(input)
  return millis
}

/** Like `parseDuration`, but passes `undefined` through, for optional settings. */
export function parseOptionalDuration(input: Duration | undefined): number | undefined {
  return input === undefined ? undefined : parseDuration(input)
}

function parseString(input: unknown): number {
  if (typeof input !== 'string' || input.trim() === '') throw new InvalidDurationError(input)
  // `ms` returns undefined (or NaN) for text it does not understand instead of throwing.
  const parsed: unknown = ms(input as Parameters<typeof ms>[0])
  if (typeof parsed !== 'number') throw new InvalidDurationError(input)
  return parsed
}
