import { existsSync } from 'node:fs'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { isPortFree, type RedisServerHandle, startStandalone } from '../src/index.js'

/** A client that fails fast instead of retrying, so "unreachable" is observable. */
function oneShotClient(url: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    connectTimeout: 1_000,
  })
  client.on('error', () => {})
  return client
}

async function ping(url: string): Promise<string> {
  const client = oneShotClient(url)
  try {
    await client.connect()
    return await client.ping()
  } finally {
    client.disconnect()
  }
}

describe('startStandalone', () => {
  let server: RedisServerHandle | undefined

  afterAll(async () => {
    await server?.stop()
  })

  it('starts a server that answers PING on 127.0.0.1', async () => {
    server = await startStandalone()
    expect(server.host).toBe('127.0.0.1')
    expect(server.port).not.toBe(6379)
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    expect(server.running).toBe(true)
    expect(await ping(server.url)).toBe('PONG')
  })

  it('kill() makes it unreachable and restart() brings it back on the same port', async () => {
    const s = server!
    const { port, dir } = s
    await s.kill()
    expect(s.running).toBe(false)
    expect(s.pid).toBeUndefined()
    await expect(ping(s.url)).rejects.toThrow()
    await s.restart()
    expect(s.port).toBe(port)
    expect(s.dir).toBe(dir)
    expect(await ping(s.url)).toBe('PONG')
  })

  it('applies a password and extra args', async () => {
    await using secured = await startStandalone({ password: 's3cret', args: ['--maxmemory', '10mb'] })
    expect(secured.url).toBe(`redis://:s3cret@127.0.0.1:${secured.port}`)
    await expect(ping(`redis://127.0.0.1:${secured.port}`)).rejects.toThrow(/NOAUTH/)
    const client = oneShotClient(secured.url)
    await client.connect()
    expect(await client.config('GET', 'maxmemory')).toEqual(['maxmemory', String(10 * 1024 * 1024)])
    client.disconnect()
  })

  it('freeze() makes it hang with its connections open, thaw() makes it answer again', async () => {
    await using frozen = await startStandalone()
    const client = new Redis(frozen.url, { commandTimeout: 300, maxRetriesPerRequest: 0 })
    client.on('error', () => {})
    try {
      expect(await client.ping()).toBe('PONG')
      await frozen.freeze()
      try {
        await expect(client.ping()).rejects.toThrow(/timed out/)
        expect(client.status).toBe('ready') // the connection stays up: a hang, not a crash
        expect(frozen.running).toBe(true)
      } finally {
        await frozen.thaw()
      }
      expect(await client.ping()).toBe('PONG')
    } finally {
      client.disconnect()
    }
  })

  it('stop() kills a frozen server too', async () => {
    const s = await startStandalone()
    await s.freeze()
    await s.stop()
    expect(s.running).toBe(false)
    expect(await isPortFree(s.port)).toBe(true)
  })

  it('stop() frees the port and deletes the dir', async () => {
    const s = await startStandalone()
    const { port, dir } = s
    expect(existsSync(dir)).toBe(true)
    await s.stop()
    expect(existsSync(dir)).toBe(false)
    expect(await isPortFree(port)).toBe(true)
  })
})
