import type { AddressInfo } from 'node:net'
import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import express from 'express'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { cacheMetrics, expressMonitoring, fastifyMonitoring, HEALTH_CONTENT_TYPE } from '../src/index.js'

const { url } = requireTopology(inject('redis'), 'standalone')
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8'

describe('HTTP handlers', () => {
  const client = createRedis(url)
  const cache = createCache({
    prefix: `endpoints:${process.pid}`,
    l1: memoryStore<CacheEntry>({ maxEntries: 100 }),
    l2: redisStore({ client, closeClient: false }),
  })
  const registry = new Registry()
  const metrics = cacheMetrics(cache, { registry, client })
  const options = { registry, health: { cache, client } }

  beforeAll(async () => {
    await cache.set('a', 1)
    await cache.get('a')
  })
  afterAll(async () => {
    metrics.close()
    await cache.close()
    client.disconnect()
  })

  it('Express: /metrics in both formats by Accept, /health, /health/live, /health/ready, and next() elsewhere', async () => {
    const app = express()
    app.use(expressMonitoring(options))
    app.get('/other', (_req, res) => {
      res.send('app route')
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const text = await fetch(`${base}/metrics`)
      expect(text.status).toBe(200)
      expect(text.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
      const body = await text.text()
      expect(body).toMatch(/^# TYPE cachekit_reads_total counter$/m)
      expect(body).toMatch(/^cachekit_reads_total\{cache="default",group="all",tier="l1",result="hit"\} 1$/m)

      const om = await fetch(`${base}/metrics`, {
        headers: { accept: 'application/openmetrics-text; version=1.0.0' },
      })
      expect(om.headers.get('content-type')).toBe(OPENMETRICS)
      const omBody = await om.text()
      expect(omBody).toMatch(/^# TYPE cachekit_reads counter$/m)
      expect(omBody).toMatch(/^cachekit_reads_total\{.*result="hit"\} 1$/m)
      expect(omBody.trimEnd().endsWith('# EOF')).toBe(true)
      // The user's registry keeps its format and its names.
      expect(registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^# TYPE cachekit_reads_total counter$/m)

      for (const path of ['/health', '/health/live', '/health/ready']) {
        const response = await fetch(`${base}${path}`)
        expect(response.status).toBe(200)
        expect(response.headers.get('content-type')).toBe(HEALTH_CONTENT_TYPE)
        expect((await response.json()) as { status: string }).toMatchObject({ status: 'pass' })
      }
      const health = (await (await fetch(`${base}/health`)).json()) as { checks: Record<string, unknown> }
      expect(Object.keys(health.checks)).toContain('redis:memory')
      expect(await (await fetch(`${base}/other`)).text()).toBe('app route')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('Fastify: the same routes as a plugin, under a base path, and 503 when health fails', async () => {
    const app = Fastify()
    await app.register(fastifyMonitoring, { ...options, basePath: '/ops' })
    const metricsText = await app.inject({ method: 'GET', url: '/ops/metrics' })
    expect(metricsText.statusCode).toBe(200)
    expect(metricsText.body).toMatch(/^cachekit_writes_total\{cache="default",group="all"\} 1$/m)
    const om = await app.inject({
      method: 'GET',
      url: '/ops/metrics',
      headers: { accept: 'application/openmetrics-text' },
    })
    expect(om.headers['content-type']).toBe(OPENMETRICS)
    const live = await app.inject({ method: 'GET', url: '/ops/health/live' })
    expect(live.json()).toMatchObject({ status: 'pass', checks: { 'process:uptime': [{ status: 'pass' }] } })
    await app.close()

    // A Redis that does not answer, and no fallback: fail, 503.
    const dead = createRedis('redis://127.0.0.1:1')
    dead.on('error', () => {})
    const failing = Fastify()
    await failing.register(fastifyMonitoring, { registry, health: { client: dead, timeout: '200ms' } })
    const ready = await failing.inject({ method: 'GET', url: '/health/ready' })
    expect(ready.statusCode).toBe(503)
    expect(ready.headers['content-type']).toMatch(/^application\/health\+json/) // Fastify adds a charset
    expect(ready.json()).toMatchObject({ status: 'fail' })
    await failing.close()
    dead.disconnect()
  })
})
