import type { Codec } from '@cachekit/core'
import { type CodecOptions, createCodec } from './codec_chain.js'
import { jsonSerializer } from './json_serializer.js'
import { lz4 } from './lz4_transform.js'
import { msgpackSerializer } from './msgpack_serializer.js'

/** Options of the ready-made codecs: everything of `createCodec` but the serializer. */
export type ReadyMadeCodecOptions = Omit<CodecOptions, 'serializer'>

/** Tagged JSON, no transforms unless given: readable by hand with `cachekit get`. */
export function jsonCodec(options: ReadyMadeCodecOptions = {}): Codec {
  return createCodec({ ...options, serializer: jsonSerializer() })
}

/** MessagePack, no transforms unless given. Needs nothing native: the codec to pick where lz4 is not available. */
export function msgpackCodec(options: ReadyMadeCodecOptions = {}): Codec {
  return createCodec({ ...options, serializer: msgpackSerializer() })
}

/**
 * The default: MessagePack, then LZ4 for values of 1 KiB and more (when it shrinks them). `transforms`
 * cannot be changed here; build that chain with `createCodec`.
 *
 * It never quietly drops lz4 where lz4-napi is missing: that machine would write a format the others
 * do not expect. It throws instead, and `msgpackCodec()` is the codec to use there (it reads lz4
 * values only if given `accept: [lz4()]`, which needs lz4-napi too).
 * @throws Lz4UnavailableError (`E_INVALID_OPTION`) when lz4-napi cannot be loaded on this machine.
 */
export function defaultCodec(options: Omit<ReadyMadeCodecOptions, 'transforms'> = {}): Codec {
  return createCodec({ ...options, serializer: msgpackSerializer(), transforms: [lz4({ threshold: 1024 })] })
}
