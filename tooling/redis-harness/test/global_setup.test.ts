import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import {
  RedisHarnessError,
  requireTopology,
  reservePort,
  startStandalone,
  startTopologies,
} from '../src/index.js'
import { parseTopologies } from '../src/provided_context.js'

describe('vitest globalSetup', () => {
  it('provides the standalone server this project selected', async () => {
    expect(inject('redisTopologies')).toEqual(['standalone'])
    const standalone = requireTopology(inject('redis'), 'standalone')
    expect(standalone.external).toBe(Boolean(process.env.REDIS_URL))
    const client = new Redis(standalone.url)
    expect(await client.ping()).toBe('PONG')
    client.disconnect()
  })

  it('says how to select a topology the project did not select', () => {
    expect(() => requireTopology(inject('redis'), 'cluster')).toThrow(/test\.provide\.redisTopologies/)
  })

  it('rejects an unknown topology', () => {
    expect(parseTopologies(undefined)).toEqual(['standalone'])
    expect(() => parseTopologies(['standalone', 'replicaset'])).toThrow(RedisHarnessError)
  })
})

describe('startTopologies with REDIS_URL', () => {
  it('uses that server as the standalone topology and never stops it', async () => {
    await using external = await startStandalone()
    const started = await startTopologies({ topologies: ['standalone'], env: { REDIS_URL: external.url } })
    expect(started.provided.standalone).toEqual({
      url: external.url,
      host: '127.0.0.1',
      port: external.port,
      external: true,
    })
    await started.stop()
    expect(external.running).toBe(true)
  })

  it('fails clearly when REDIS_URL does not answer', async () => {
    const unused = await reservePort()
    try {
      const url = `redis://:hunter2@127.0.0.1:${unused.port}`
      const failure = startTopologies({ topologies: ['standalone'], env: { REDIS_URL: url } })
      await expect(failure).rejects.toMatchObject({ code: 'E_REDIS_URL_UNREACHABLE' })
      await expect(failure).rejects.not.toThrow(/hunter2/)
    } finally {
      unused.release()
    }
  })
})
