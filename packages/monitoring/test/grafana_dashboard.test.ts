import { readFile } from 'node:fs/promises'
import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore, memoryTagIndex } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import { Registry } from 'prom-client'
import { describe, expect, inject, it } from 'vitest'
import { cacheMetrics, METRICS } from '../src/index.js'
import { metricNamesOf, promtoolRules, withGrafanaVariables } from './support/promql.js'

const { url } = requireTopology(inject('redis'), 'standalone')
const dashboardFile = new URL('../dashboards/cachekit.json', import.meta.url)

interface Panel {
  title: string
  targets?: Array<{ expr: string }>
  panels?: Panel[]
}
interface Dashboard {
  panels: Panel[]
  templating: { list: Array<{ name: string; query?: string | { query: string } }> }
}

/** Every PromQL expression of the dashboard, by where it is, with the template variables' queries. */
function expressions(dashboard: Dashboard): Array<{ where: string; expr: string }> {
  const found: Array<{ where: string; expr: string }> = []
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) found.push({ where: panel.title, expr: target.expr })
      walk(panel.panels ?? [])
    }
  }
  walk(dashboard.panels)
  for (const variable of dashboard.templating.list) {
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query
    // label_values(metric, label) is Grafana's, not PromQL: its first argument is the selector.
    const labelValues = query && /^label_values\((.+),\s*\w+\)$/.exec(query)
    if (labelValues) found.push({ where: `variable ${variable.name}`, expr: labelValues[1]! })
  }
  return found
}

describe('the Grafana dashboard', () => {
  it('queries only metric names a real scrape has, in PromQL that Prometheus parses, and shows every metric', async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as Dashboard
    const exprs = expressions(dashboard)
    expect(exprs.length).toBeGreaterThan(30)

    // A real cache mix on the harness' Redis, with every part cacheMetrics can watch.
    const prefix = `grafana:${process.pid}`
    const client = createRedis(url)
    const l1 = memoryStore<CacheEntry>({ maxEntries: 2 }) // small, so the mix evicts
    const cache = createCache({
      prefix,
      l1,
      l2: redisStore({ client, closeClient: false }),
      fallback: memoryStore<CacheEntry>({ maxEntries: 100 }),
      tagIndex: memoryTagIndex(),
    })
    cache.on('error', () => {}) // the failing factory below is counted, not logged
    const registry = new Registry()
    // @cachekit/pubsub is not a dependency of this package; the bus part is read through its
    // documented stats() shape, which is all cacheMetrics reads of a bus.
    const bus = { stats: () => ({ published: 0, received: 0, missed: 0 }) }
    const metrics = cacheMetrics(cache, { registry, name: 'app', l1, bus, client, fallback: true })
    for (let i = 0; i < 4; i++) await cache.set(`k${i}`, i, { tags: ['t'] })
    await cache.get('k3') // L1 hit
    await cache.get('k0') // evicted from L1: an L2 hit
    await cache.get('nope') // miss
    await cache.getOrSet('made', () => 'value') // factory ok
    await expect(cache.getOrSet('broken', () => Promise.reject(new Error('db down')))).rejects.toThrow()
    await cache.set('old', 'v', { ttl: 1, grace: '1m' })
    await new Promise((resolve) => setTimeout(resolve, 20)) // lets the 1 ms TTL pass
    expect(await cache.getOrSet('old', () => Promise.reject(new Error('down')), { grace: '1m' })).toBe('v')
    await cache.delete('k1')
    await cache.invalidateTags(['t'])

    const scraped = new Set(
      (await registry.metrics())
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => /^[a-zA-Z_:][\w:]*/.exec(line)![0]),
    )
    const missing: string[] = []
    const used = new Set<string>()
    for (const { where, expr } of exprs) {
      const names = metricNamesOf(expr)
      expect(names.length, `no metric name found in ${where}: ${expr}`).toBeGreaterThan(0)
      for (const name of names) {
        used.add(name)
        if (!scraped.has(name)) missing.push(`${where}: ${name}`)
      }
    }
    expect(missing).toEqual([])
    // And the other way: every metric cacheMetrics exports has a panel.
    const families = [...used].map((name) => name.replace(/^cachekit_/, '').replace(/_bucket$/, ''))
    expect(Object.keys(METRICS).filter((name) => !families.includes(name))).toEqual([])

    const lint = await promtoolRules(exprs.map(({ expr }) => withGrafanaVariables(expr)))
    expect(lint.output).toMatch(/SUCCESS: \d+ rules found/)
    expect(lint.code).toBe(0)

    metrics.close()
    await cache.clear()
    await cache.close()
    client.disconnect()
  })

  it('finds the names in the PromQL shapes the dashboard uses, and no label or function', () => {
    expect(
      metricNamesOf(
        'histogram_quantile(0.99, sum by (le, op) (rate(cachekit_operation_duration_seconds_bucket{cache=~"$cache",op="get"}[$__rate_interval])))',
      ),
    ).toEqual(['cachekit_operation_duration_seconds_bucket'])
    expect(
      metricNamesOf(
        'sum by (tier) (rate(a_total{result="hit"}[5m])) / ignoring(tier) group_left sum(rate(b_total[5m])) > bool 0',
      ),
    ).toEqual(['a_total', 'b_total'])
    expect(metricNamesOf('max by (node) (used_bytes) / max by (node) (max_bytes > 0) offset 5m')).toEqual([
      'used_bytes',
      'max_bytes',
    ])
  })
})
