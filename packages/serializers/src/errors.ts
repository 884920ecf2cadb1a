import { CodecDecodeError, CodecEncodeError, InvalidOptionError } from '@cachekit/core'

// Every message names the package, so a log line says where it came from (STYLE.md, Errors).
const PREFIX = '[cachekit/serializers]'

/** A `CodecDecodeError` with the package prefix; `cause` keeps the decoder's own error. */
export function decodeError(reason: string, cause?: unknown): CodecDecodeError {
  return new CodecDecodeError(`${PREFIX} cannot decode: ${reason}`, cause === undefined ? {} : { cause })
}

/** A `CodecEncodeError` with the package prefix. */
export function encodeError(reason: string, cause?: unknown): CodecEncodeError {
  return new CodecEncodeError(`${PREFIX} cannot encode: ${reason}`, cause === undefined ? {} : { cause })
}

/** An `InvalidOptionError` with the package prefix. */
export function optionError(reason: string): InvalidOptionError {
  return new InvalidOptionError(`${PREFIX} ${reason}`)
}

/** The message of an unknown thrown value, for wrapping it into one of ours. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
