import { execFile } from 'node:child_process'
import type { Registry } from 'prom-client'

/** One series of a scrape: its labels and value. */
export interface Series {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

/** Every series of `name` (full name), from the registry as a scrape sees it. */
export async function seriesOf(registry: Registry, name: string): Promise<Series[]> {
  const metrics = await registry.getMetricsAsJSON()
  const metric = metrics.find((m) => m.name === name)
  if (!metric) throw new Error(`no metric ${name} in the scrape`)
  return (metric as unknown as { values: Series[] }).values
}

/** The value of the one series of `name` whose labels include `labels`; 0 when there is none. */
export async function sampleValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const matching = (await seriesOf(registry, name)).filter((s) =>
    Object.entries(labels).every(([k, v]) => String(s.labels[k]) === v),
  )
  if (matching.length > 1)
    throw new Error(`${matching.length} series of ${name} match ${JSON.stringify(labels)}`)
  return matching[0]?.value ?? 0
}

/** Runs `promtool check metrics` on a text exposition; resolves with its complaints (none: ''). */
export async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` })
    })
    child.stdin?.end(text)
  })
}
