import { CodecDecodeError } from '@cachekit/core'

/**
 * A message on a bus channel could not be read: not an envelope of ours, truncated, or written with
 * another codec. It is dropped and reported through `onError`; the bus carries on.
 * Code `E_CODEC_DECODE`, like every undecodable byte string in cachekit.
 */
export class MalformedMessageError extends CodecDecodeError {
  /** The channel it arrived on (without the bus' `channelPrefix`). */
  readonly channel: string

  constructor(channel: string, reason: string, options: { cause?: unknown } = {}) {
    super(`[cachekit/pubsub] dropped a malformed message on "${channel}": ${reason}`, options)
    this.channel = channel
  }
}
