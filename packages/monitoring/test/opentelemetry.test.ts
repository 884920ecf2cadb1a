import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { describe, expect, it } from 'vitest'
import { openTelemetryBridge } from '../src/index.js'

const newCache = () =>
  createCache({ prefix: 'otel', l1: memoryStore<CacheEntry>({ maxEntries: 100 }), grace: '1h' })

describe('openTelemetryBridge', () => {
  it('makes one span per operation with the cache attributes, marks failures, and watches only its cache', async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const cache = newCache()
    const other = newCache()
    const bridge = openTelemetryBridge({
      tracer: provider.getTracer('test'),
      cache: cache.namespace('ignored-view'),
    })
    try {
      await cache.set('a', 1)
      await cache.get('a')
      await cache.get('missing')
      await cache.getOrSet('b', async () => 2)
      await expect(
        cache.getOrSet('c', async () => {
          throw new Error('the database is down')
        }),
      ).rejects.toThrow()
      await other.get('a')
      const spans = exporter.getFinishedSpans().map((span) => ({
        name: span.name,
        attributes: span.attributes,
        status: span.status.code,
        events: span.events.map((event) => event.name),
      }))
      expect(spans.map((s) => s.name)).toEqual([
        'cachekit.set',
        'cachekit.get',
        'cachekit.get',
        'cachekit.factory',
        'cachekit.getOrSet',
        'cachekit.factory',
        'cachekit.getOrSet',
      ])
      expect(spans[1]!.attributes).toMatchObject({
        'cachekit.operation': 'get',
        'cachekit.hit': true,
        'cachekit.tier': 'l1',
      })
      expect(spans[2]!.attributes).toMatchObject({ 'cachekit.hit': false })
      // The failing factory and the getOrSet around it are errors, with the exception recorded.
      expect(spans[5]).toMatchObject({ status: 2, events: ['exception'] })
      expect(spans[6]).toMatchObject({ status: 2 })
      // No key unless asked for.
      expect(spans.some((s) => 'cachekit.key' in s.attributes)).toBe(false)

      bridge.close()
      await cache.get('a')
      expect(exporter.getFinishedSpans()).toHaveLength(7)
    } finally {
      bridge.close()
      await cache.close()
      await other.close()
      await provider.shutdown()
    }
  })

  it('adds the key when asked', async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const cache = newCache()
    const bridge = openTelemetryBridge({
      tracer: provider.getTracer('test'),
      cache,
      includeKeys: true,
      operations: ['get'],
    })
    try {
      await cache.set('user:1', 'x')
      await cache.get('user:1')
      expect(exporter.getFinishedSpans().map((span) => [span.name, span.attributes['cachekit.key']])).toEqual(
        [['cachekit.get', 'user:1']],
      )
    } finally {
      bridge.close()
      await cache.close()
      await provider.shutdown()
    }
  })
})
