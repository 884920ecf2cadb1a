import { describe, expect, it } from 'vitest'
import { CacheError, CodecDecodeError, ValueTooLargeError } from '../src/index.js'

describe('CacheError', () => {
  it('carries a stable code, the key and the cause', () => {
    const cause = new Error('boom')
    const error = new CodecDecodeError('[cachekit/core] bad bytes', { key: 'user:1', cause })
    expect(error.code).toBe('E_CODEC_DECODE')
    expect(error.key).toBe('user:1')
    expect(error.cause).toBe(cause)
    expect(error.name).toBe('CodecDecodeError')
    expect(error).toBeInstanceOf(Error)
  })

  it('is recognised across copies of the package through the Symbol.for marker', () => {
    // A second copy of @cachekit/core has its own class objects but the same registered symbol.
    const foreign = Object.assign(new Error('from another copy'), { [Symbol.for('cachekit.error')]: true })
    expect(CacheError.isInstance(foreign)).toBe(true)
    expect(CacheError.isInstance(new Error('plain'))).toBe(false)
    expect(CacheError.isInstance('E_CODEC_DECODE')).toBe(false)
  })

  it('tells codes apart', () => {
    const error = new ValueTooLargeError(2048, 1024, 'too large')
    expect(CacheError.hasCode(error, 'E_VALUE_TOO_LARGE')).toBe(true)
    expect(CacheError.hasCode(error, 'E_CODEC_DECODE')).toBe(false)
    expect([error.size, error.limit]).toEqual([2048, 1024])
  })
})
