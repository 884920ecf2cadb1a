// Encode/decode throughput and sizes of the codecs, on a ~10 KB JSON-like document and a 1,536-float
// embedding. Runs against the build: `pnpm build && node bench/codecs.bench.mjs` (in packages/serializers).
// Numbers are medians of 7 interleaved rounds of ~150 ms; they compare codecs on one machine, nothing more.
import { randomBytes } from 'node:crypto'
import * as zlib from 'node:zlib'
import {
  aes256gcm,
  createCodec,
  defaultCodec,
  jsonCodec,
  lz4,
  msgpackCodec,
  msgpackSerializer,
  v8Serializer,
} from '../dist/index.js'

function document() {
  const items = []
  for (let i = 0; i < 68; i++) {
    items.push({
      id: 10_000 + i,
      sku: `SKU-${(i * 7919) % 100_000}`,
      name: `Product number ${i}`,
      price: Math.round((9.99 + i * 1.37) * 100) / 100,
      tags: ['catalog', i % 3 === 0 ? 'sale' : 'regular'],
      inStock: i % 2 === 0,
      rating: { average: 4.2, count: 120 + i },
      updatedAt: '2024-05-01T10:00:00.000Z',
    })
  }
  return {
    user: { id: 42, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'editor'] },
    items,
    total: 1234.5,
    page: 1,
    next: null,
  }
}

function embedding() {
  const floats = new Float32Array(1536)
  for (let i = 0; i < floats.length; i++) floats[i] = (Math.random() - 0.5) * 0.2
  return floats
}

/**
 * Median ops/s of each function. Rounds are interleaved (a round of every case, then the next round)
 * so that load drifting on a shared machine hits every case alike.
 */
function compare(cases) {
  const entries = Object.entries(cases)
  for (const [, fn] of entries) for (let i = 0; i < 300; i++) fn()
  const rounds = new Map(entries.map(([name]) => [name, []]))
  for (let round = 0; round < 7; round++) {
    for (const [name, fn] of entries) {
      let n = 0
      const start = process.hrtime.bigint()
      let elapsed = 0n
      while (elapsed < 150_000_000n) {
        for (let i = 0; i < 25; i++) fn()
        n += 25
        elapsed = process.hrtime.bigint() - start
      }
      rounds.get(name).push(n / (Number(elapsed) / 1e9))
    }
  }
  return new Map([...rounds].map(([name, values]) => [name, values.sort((a, b) => a - b)[3]]))
}

const fmt = (ops) => Math.round(ops).toLocaleString('en-US')
const key = randomBytes(32)
const codecs = {
  json: jsonCodec(),
  msgpack: msgpackCodec(),
  'msgpack+lz4 (default)': defaultCodec(),
  v8: createCodec({ serializer: v8Serializer() }),
  'msgpack+lz4+aes256gcm': createCodec({
    serializer: msgpackSerializer(),
    transforms: [lz4(), aes256gcm({ keys: { k1: key }, currentKeyId: 'k1' })],
  }),
}
const inputs = { '10 KB document': document(), '1,536-float embedding': embedding() }

console.log(`node ${process.version}, ${process.arch}\n`)
console.log(`JSON.stringify of the document: ${JSON.stringify(inputs['10 KB document']).length} bytes\n`)
for (const [inputName, value] of Object.entries(inputs)) {
  console.log(`## ${inputName}\n`)
  console.log('| codec | bytes | encode ops/s | decode ops/s |')
  console.log('| --- | ---: | ---: | ---: |')
  const encoded = Object.fromEntries(
    Object.entries(codecs).map(([name, codec]) => [name, codec.encode(value)]),
  )
  const encodes = compare(
    Object.fromEntries(Object.entries(codecs).map(([name, codec]) => [name, () => codec.encode(value)])),
  )
  const decodes = compare(
    Object.fromEntries(
      Object.entries(codecs).map(([name, codec]) => [name, () => codec.decode(encoded[name])]),
    ),
  )
  for (const name of Object.keys(codecs)) {
    console.log(
      `| ${name} | ${encoded[name].length} | ${fmt(encodes.get(name))} | ${fmt(decodes.get(name))} |`,
    )
  }
  console.log('')
}

// What the JSON type tags cost: plain data takes a read-only walk plus bare JSON.stringify / JSON.parse.
const doc = inputs['10 KB document']
const text = Buffer.from(JSON.stringify(doc))
const json = codecs.json
const docBytes = json.encode(doc)
const withDate = { ...doc, at: new Date(0) }
const withDateBytes = json.encode(withDate)
console.log('## JSON overhead on the document\n')
console.log('| operation | ops/s |')
console.log('| --- | ---: |')
// What any checksummed framing costs (a 7-byte header, a copy, a CRC), to tell it from the tag walk.
const framed = (value) => {
  const body = Buffer.from(JSON.stringify(value))
  const out = Buffer.allocUnsafe(body.length + 7)
  out.set(body, 7)
  out.writeUInt32LE(zlib.crc32(body), 3)
  return out
}
const framedDoc = framed(doc)
const jsonRows = compare({
  'bare `Buffer.from(JSON.stringify(doc))`': () => Buffer.from(JSON.stringify(doc)),
  'bare + 7-byte header, copy and CRC-32': () => framed(doc),
  '`jsonCodec().encode(doc)`, plain data (the above + the tag walk)': () => json.encode(doc),
  '`jsonCodec().encode(doc + one Date)`, tagged': () => json.encode(withDate),
  'bare `JSON.parse(buffer.toString())`': () => JSON.parse(text.toString()),
  'bare + CRC-32 check': () =>
    zlib.crc32(framedDoc.subarray(7)) === framedDoc.readUInt32LE(3) &&
    JSON.parse(framedDoc.toString('utf8', 7)),
  '`jsonCodec().decode`, plain data': () => json.decode(docBytes),
  '`jsonCodec().decode`, tagged': () => json.decode(withDateBytes),
})
for (const [name, ops] of jsonRows) console.log(`| ${name} | ${fmt(ops)} |`)
console.log('')

console.log('## CRC-32 (zlib.crc32)\n')
const kb1 = randomBytes(1024)
const kb10 = randomBytes(10 * 1024)
for (const [name, ops] of compare({ '1 KB': () => zlib.crc32(kb1), '10 KB': () => zlib.crc32(kb10) })) {
  console.log(`- ${name}: ${fmt(ops)} ops/s (${(1e6 / ops).toFixed(2)} µs per value)`)
}
