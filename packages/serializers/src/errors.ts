import { CodecDecodeError, CodecEncodeError, InvalidOptionError } from '@cachekit/core'

// Every message names the package, so a log line says where it came from.
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

/**
 * `lz4()` was asked for, but the `lz4-napi` package (or its native binary for this platform) cannot
 * be loaded: it was not installed (`npm i --omit=optional` drops the binaries), or the platform has
 * none. Code `E_INVALID_OPTION`, like every other configuration this install cannot honour, thrown
 * where the codec is built; `cause` holds the loader's error. Nothing else in this package needs
 * lz4-napi: codecs without lz4 load and run without it.
 */
export class Lz4UnavailableError extends InvalidOptionError {
  constructor(cause: unknown) {
    super(
      `${PREFIX} lz4() needs the lz4-napi package, which cannot be loaded here (${messageOf(cause).split('\n')[0]}). ` +
        'Install it (`npm i lz4-napi`; it ships binaries for the usual platforms), or use a codec without ' +
        'lz4 (msgpackCodec() instead of defaultCodec()). No codec drops lz4 by itself: every machine must write the same format.',
      { cause },
    )
  }
}

/** The message of an unknown thrown value, for wrapping it into one of ours. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
