/**
 * Results: the JSON of a run, its markdown tables, and the README section that shows the latest.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { Measurement } from './timing.js'

export interface Table {
  columns: string[]
  rows: string[][]
}

export interface WorkloadResult {
  id: string
  title: string
  /** One or two sentences: what is measured, and how each library is set up. */
  setup: string
  table: Table
  notes?: string[]
  /** The raw numbers, for the JSON. */
  data: unknown
  seconds: number
}

export interface TargetResult {
  target: string
  /** The measured value, e.g. `12.3x` or `1 call`. */
  measured: string
  /** `met`, `missed`, or `reported` for a number that is only shown. */
  status: 'met' | 'missed' | 'reported'
  detail: string
}

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  redis: string
  platform: string
  libraries: Record<string, string>
  /** 1-minute load average when the run started and when it ended: other work on the machine. */
  loadAverage: { start: number; end: number }
}

export interface RunReport {
  startedAt: string
  seconds: number
  quick: boolean
  machine: Machine
  targets: TargetResult[]
  /** Steps the run left out, and why (its time budget, a cluster that did not start). */
  skipped?: string[]
  workloads: WorkloadResult[]
}

export function formatOps(opsPerSec: number): string {
  if (!Number.isFinite(opsPerSec)) return '-'
  if (opsPerSec >= 1e6) return `${(opsPerSec / 1e6).toFixed(2)}M`
  if (opsPerSec >= 1e4) return `${Math.round(opsPerSec / 1e3)}k`
  if (opsPerSec >= 1e3) return `${(opsPerSec / 1e3).toFixed(1)}k`
  return opsPerSec.toFixed(1)
}

export function formatUs(us: number | undefined): string {
  if (us === undefined || !Number.isFinite(us)) return '-'
  if (us >= 1000) return `${(us / 1000).toFixed(2)} ms`
  if (us >= 10) return `${Math.round(us)} µs`
  return `${us.toFixed(2)} µs`
}

export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '-'
  return ratio >= 10 ? `${ratio.toFixed(1)}x` : `${ratio.toFixed(2)}x`
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(2)} MiB`
  if (bytes >= 10 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${Math.round(bytes)} B`
}

/** The primary cachekit row: the first measurement whose role is `cachekit`. */
export function cachekitOf(measurements: readonly Measurement[]): Measurement {
  const found = measurements.find((m) => m.role === 'cachekit')
  if (!found) throw new Error('no cachekit measurement')
  return found
}

export function byName(measurements: readonly Measurement[], name: string): Measurement {
  const found = measurements.find((m) => m.name === name)
  if (!found) throw new Error(`no measurement named ${name}`)
  return found
}

/** The workload's like-for-like raw reference, when it has one. */
export function referenceOf(measurements: readonly Measurement[]): Measurement | undefined {
  return measurements.find((m) => m.reference)
}

/**
 * ops/s, p50, p99, cachekit's throughput divided by each row's, and each row's divided by the
 * workload's reference (when it has one): the ratio its target is judged on.
 */
export function throughputTable(measurements: readonly Measurement[]): Table {
  const cachekit = cachekitOf(measurements)
  const reference = referenceOf(measurements)
  const columns = ['library', 'role', 'ops/s', 'p50', 'p99', 'cachekit ÷ this']
  if (reference) columns.push('this ÷ reference')
  return {
    columns,
    rows: measurements.map((m) => {
      const row = [
        m.name,
        m.reference ? 'raw (reference)' : m.role,
        formatOps(m.opsPerSec),
        formatUs(m.p50Us),
        formatUs(m.p99Us),
        m === cachekit ? '1.00x' : formatRatio(cachekit.opsPerSec / m.opsPerSec),
      ]
      if (reference) row.push(m === reference ? '1.00x' : formatRatio(m.opsPerSec / reference.opsPerSec))
      return row
    }),
  }
}

/** The note that names a workload's reference, first under its table. */
export function referenceNotes(measurements: readonly Measurement[]): string[] {
  const reference = referenceOf(measurements)
  if (!reference) return []
  const cachekit = cachekitOf(measurements)
  return [
    `Reference: ${reference.name}, the same work with the bare libraries; cachekit runs at ${formatRatio(cachekit.opsPerSec / reference.opsPerSec)} of it in this run.`,
  ]
}

function markdownTable(table: Table): string {
  const escapeCell = (cell: string) => cell.replaceAll('|', '\\|')
  const lines = [
    `| ${table.columns.map(escapeCell).join(' | ')} |`,
    `| ${table.columns.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ]
  return lines.join('\n')
}

export function toMarkdown(report: RunReport): string {
  const { machine } = report
  const out: string[] = []
  out.push(
    `Run ${report.startedAt}${report.quick ? ' (quick mode: fewer samples, not for publishing)' : ''}, ` +
      `${Math.round(report.seconds)} s in all.`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}; ` +
      `Node ${machine.node}; Redis ${machine.redis} (started by @cachekit/redis-harness, loopback). ` +
      `Load average (1 min) ${machine.loadAverage.start.toFixed(2)} at the start, ${machine.loadAverage.end.toFixed(2)} at the end: ` +
      'on 2 cores, anything above ~1 means other processes shared the CPU with the bench and Redis.',
    '',
    `Libraries: ${Object.entries(machine.libraries)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}.`,
    ...(report.skipped?.length ? ['', `Skipped: ${report.skipped.join('; ')}.`] : []),
    '',
    '### Targets',
    '',
    markdownTable({
      columns: ['target', 'measured', 'status', 'detail'],
      rows: report.targets.map((t) => [t.target, t.measured, statusMark(t.status), t.detail]),
    }),
  )
  for (const workload of report.workloads) {
    out.push('', `### ${workload.title}`, '', workload.setup, '', markdownTable(workload.table))
    for (const note of workload.notes ?? []) out.push('', `- ${note}`)
  }
  return `${out.join('\n')}\n`
}

function statusMark(status: TargetResult['status']): string {
  if (status === 'met') return '✅ met'
  if (status === 'missed') return '❌ missed'
  return 'ℹ️ reported'
}

const START = '<!-- latest-results:start -->'
const END = '<!-- latest-results:end -->'

/** Writes results/latest.json and latest.md, and the table into the README between its markers. */
export function writeResults(report: RunReport, benchDir: URL): { json: string; markdown: string } {
  const results = new URL('results/', benchDir)
  mkdirSync(results, { recursive: true })
  const json = new URL('latest.json', results)
  const md = new URL('latest.md', results)
  const markdown = toMarkdown(report)
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(md, markdown)
  const readme = new URL('README.md', benchDir)
  const text = readFileSync(readme, 'utf8')
  const start = text.indexOf(START)
  const end = text.indexOf(END)
  if (start >= 0 && end > start) {
    writeFileSync(readme, `${text.slice(0, start + START.length)}\n\n${markdown}\n${text.slice(end)}`)
  }
  return { json: json.pathname, markdown: md.pathname }
}
