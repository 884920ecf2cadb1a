import { once } from 'node:events'
import { startStandalone } from '@cachekit/redis-harness'
import { expect, test } from 'vitest'
import { type WriteBehindEventMap, writeBehind } from '../../src/index.js'
import { memorySink, onCleanup, redisClient, uniqueStream } from './helpers.js'

test('while Redis is down, write says so with a typed error; when it is back, the queue carries on by itself', async () => {
  const server = await startStandalone()
  onCleanup(() => server.stop())
  const client = redisClient({ url: server.url })
  const stream = uniqueStream()
  const sink = memorySink<{ n: number }>()
  const errors: Array<WriteBehindEventMap['error']> = []
  const wb = writeBehind<{ n: number }>({
    client,
    stream,
    sink,
    flushInterval: '10ms',
    closeClient: false,
    on: { error: (error) => errors.push(error) },
  })
  onCleanup(() => wb.close())
  await wb.write('a', { n: 1 })
  await wb.flush()

  await server.kill()
  await expect(wb.write('b', { n: 2 })).rejects.toMatchObject({ code: 'E_STORE_FAILURE', key: 'b' })

  // The server comes back empty (no persistence): the consumer recreates its group by itself.
  await server.restart()
  if (client.status !== 'ready') await once(client, 'ready')
  await wb.write('c', { n: 3 })
  await wb.flush()
  expect(sink.rows.get('c')?.value).toEqual({ n: 3 })
  expect(sink.rows.has('b')).toBe(false)
  expect(errors.length).toBeGreaterThan(0)
  expect(errors.every((error) => error.code === 'E_BUS_FAILURE')).toBe(true)
})
