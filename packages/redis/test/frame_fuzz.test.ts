import { randomBytes, randomUUID } from 'node:crypto'
import { type Codec, createCache } from '@cachekit/core'
import { requireTopology } from '@cachekit/redis-harness'
import { aes256gcm, createCodec, defaultCodec, msgpackSerializer } from '@cachekit/serializers'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createRedis, redisStore } from '../src/index.js'

/**
 * Bytes in Redis are whatever anyone wrote there. Every truncation and every single-bit flip of a
 * valid entry, and random buffers, written with a raw client, must read as a miss plus one
 * E_CODEC_DECODE event: never a hit, never a throw, never a hang.
 */
const standalone = requireTopology(inject('redis'), 'standalone')
const raw = new Redis(standalone.url)

afterAll(async () => {
  await raw.quit()
})

const aesKey = randomBytes(32)
const chains: Record<string, () => Codec> = {
  plain: () => defaultCodec(),
  lz4: () => defaultCodec(),
  encrypted: () =>
    createCodec({
      serializer: msgpackSerializer(),
      transforms: [aes256gcm({ keys: { k1: aesKey }, currentKeyId: 'k1' })],
    }),
}
const values: Record<string, unknown> = {
  plain: { id: 42, name: 'Ada', roles: ['admin'] },
  lz4: { text: 'compressible '.repeat(200) }, // above the default 1 KiB lz4 threshold
  encrypted: { id: 7, secret: 'token' },
}

/** Writes `variants` under fresh keys, reads them through the cache in batches; counts hits and errors. */
async function readBack(
  codec: Codec,
  variants: readonly Buffer[],
): Promise<{ hits: number; errors: number }> {
  const prefix = `fuzz:${randomUUID()}`
  const cache = createCache({ prefix, l2: redisStore({ client: createRedis(standalone.url) }), codec })
  let errors = 0
  cache.on('error', (event) => {
    expect(event.error.code).toBe('E_CODEC_DECODE')
    errors++
  })
  let hits = 0
  const batch = 1_000
  for (let start = 0; start < variants.length; start += batch) {
    const slice = variants.slice(start, start + batch)
    const keys = slice.map((_, i) => `v${start + i}`)
    const pipeline = raw.pipeline()
    for (const [i, bytes] of slice.entries()) pipeline.set(`${prefix}::${keys[i]}`, bytes, 'PX', 60_000)
    await pipeline.exec()
    const read = await cache.getMany(keys)
    hits += read.filter((value) => value !== undefined).length
  }
  await raw.eval(
    "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('UNLINK', k) end",
    0,
    `${prefix}:*`,
  )
  await cache.close()
  return { hits, errors }
}

describe('frames read back from Redis', () => {
  for (const [name, makeCodec] of Object.entries(chains)) {
    it(`every truncation and bit flip of a ${name} entry reads as a miss`, async () => {
      const codec = makeCodec()
      const prefix = `fuzz-source:${randomUUID()}`
      const writer = createCache({ prefix, l2: redisStore({ client: createRedis(standalone.url) }), codec })
      await writer.set('k', values[name], { ttl: '1m' })
      const valid = (await raw.getBuffer(`${prefix}::k`))!
      await writer.close()
      expect(valid).not.toBeNull()

      // The same bytes under the key they were written for are a hit: the harness can see one.
      const reader = createCache({ prefix, l2: redisStore({ client: createRedis(standalone.url) }), codec })
      expect(await reader.get('k')).toEqual(values[name])
      await reader.close()
      await raw.del(`${prefix}::k`)

      const variants: Buffer[] = []
      for (let length = 0; length < valid.length; length++) variants.push(valid.subarray(0, length))
      for (let bit = 0; bit < valid.length * 8; bit++) {
        const flipped = Buffer.from(valid)
        flipped[bit >> 3]! ^= 1 << (bit & 7)
        variants.push(flipped)
      }
      // Each variant is read under another key than the one it was written for, too: the valid
      // bytes themselves must not read there.
      variants.push(valid)
      const { hits, errors } = await readBack(codec, variants)
      expect(hits).toBe(0)
      expect(errors).toBe(variants.length) // an empty string in Redis is a value too, and not an entry
    }, 60_000)
  }

  it('100,000 random buffers read as misses', async () => {
    const variants: Buffer[] = []
    for (let i = 0; i < 100_000; i++) {
      const bytes = randomBytes(1 + (i % 96))
      // Some start like a real frame and codec header, so the checks past the magic bytes run too.
      if (i % 3 === 0) bytes[0] = 0xce
      if (i % 3 === 0 && bytes.length > 1) bytes[1] = 2
      if (i % 6 === 0 && bytes.length > 28) bytes[28] = 0xc1
      variants.push(bytes)
    }
    const { hits, errors } = await readBack(defaultCodec(), variants)
    expect(hits).toBe(0)
    expect(errors).toBe(variants.length)
  }, 120_000)
})
