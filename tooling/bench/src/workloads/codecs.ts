/**
 * Codec throughput and size: cachekit's json, msgpack and msgpack+lz4 (the default) codecs on a
 * ~10 KB document and on a 1,536-float embedding, next to bare JSON and bare msgpackr.
 */
import type { Codec } from '@cachekit/core'
import { defaultCodec, jsonCodec, msgpackCodec } from '@cachekit/serializers'
import { type Budget, scaled } from '../budget.js'
import { document10Kb, embedding } from '../data.js'
import { packr } from '../libraries.js'
import { formatBytes, formatOps, formatRatio, type WorkloadResult } from '../report.js'
import { compareSync } from '../timing.js'

interface CodecRow {
  payload: string
  codec: string
  role: 'cachekit' | 'raw'
  bytes: number
  encodeOpsPerSec: number
  decodeOpsPerSec: number
}

const bareJson: Codec = {
  name: 'JSON.stringify + Buffer (bare)',
  encode: (value) => Buffer.from(JSON.stringify(value)),
  decode: (bytes) => JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString()),
}

const bareMsgpack: Codec = {
  name: 'msgpackr pack (bare)',
  encode: (value) => packr.pack(value),
  decode: (bytes) => packr.unpack(bytes),
}

export async function codecs(budget: Budget): Promise<WorkloadResult> {
  const started = performance.now()
  const payloads: Array<[string, unknown]> = [
    ['~10 KB document', document10Kb()],
    ['embedding, 1,536 floats (number[])', embedding()],
  ]
  const candidates: Array<[string, Codec, CodecRow['role']]> = [
    ['cachekit jsonCodec', jsonCodec(), 'cachekit'],
    ['cachekit msgpackCodec', msgpackCodec(), 'cachekit'],
    ['cachekit defaultCodec (msgpack + lz4)', defaultCodec(), 'cachekit'],
    [bareJson.name, bareJson, 'raw'],
    [bareMsgpack.name, bareMsgpack, 'raw'],
  ]
  const samples = scaled(budget, 5, 2)
  const ops = scaled(budget, 20_000, 4_000)
  const rows: CodecRow[] = []
  for (const [payload, value] of payloads) {
    const encoded = candidates.map(([name, codec]) => {
      const bytes = codec.encode(value)
      if (JSON.stringify(codec.decode(bytes)) !== JSON.stringify(value)) {
        throw new Error(`[bench] ${name} did not round-trip`)
      }
      return bytes
    })
    const encodeNs = compareSync(
      candidates.map(
        ([, codec]) =>
          () =>
            codec.encode(value),
      ),
      ops,
      samples,
      120,
    )
    const decodeNs = compareSync(
      candidates.map(
        ([, codec], c) =>
          () =>
            codec.decode(encoded[c]!),
      ),
      ops,
      samples,
      120,
    )
    for (const [c, [name, , role]] of candidates.entries()) {
      rows.push({
        payload,
        codec: name,
        role,
        bytes: encoded[c]!.byteLength,
        encodeOpsPerSec: 1e9 / encodeNs[c]!,
        decodeOpsPerSec: 1e9 / decodeNs[c]!,
      })
    }
  }
  return {
    id: 'codecs',
    title: 'Codecs: throughput and size',
    setup:
      'encode and decode in a plain loop (no await), samples interleaved across codecs, median of the samples; run first, in a fresh process; sizes include cachekit’s 3-byte header and 4-byte CRC-32. The default codec compresses with lz4 from 1 KiB up, when it saves bytes.',
    table: {
      columns: ['payload', 'codec', 'bytes', 'encode ops/s', 'decode ops/s', 'decode vs bare msgpackr'],
      rows: rows.map((row) => {
        const bare = rows.find((r) => r.payload === row.payload && r.codec === bareMsgpack.name)
        return [
          row.payload,
          row.codec,
          formatBytes(row.bytes),
          formatOps(row.encodeOpsPerSec),
          formatOps(row.decodeOpsPerSec),
          bare ? formatRatio(row.decodeOpsPerSec / bare.decodeOpsPerSec) : '(below)',
        ]
      }),
    },
    data: { rows },
    seconds: (performance.now() - started) / 1000,
  }
}
