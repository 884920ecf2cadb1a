/**
 * results/ab.md from the run reports of src/ab.ts: every ratio of every run, side by side, and
 * whether it fell. A ratio is "worse" when every run after is below every run before (above, for
 * bytes per entry): the ranges do not overlap. Overlapping ranges are "within noise", which on a
 * shared 2-core machine they often are; the medians and their change are shown either way.
 */
import { cachekitOf, formatRatio, type RunReport } from './report.js'
import type { Measurement } from './timing.js'
import { MEMORY_REFERENCE, type MemoryRow } from './workloads/memory.js'

export interface AbRun {
  side: 'base' | 'current'
  round: number
  report: RunReport
}

interface Ratio {
  workload: string
  ratio: string
  value: number
  /** Bytes per entry: lower is better. */
  lowerIsBetter: boolean
}

/** The ratios of one run: cachekit ÷ every row that is not cachekit's own; memory over lru-cache. */
export function ratiosOf(report: RunReport): Ratio[] {
  const out: Ratio[] = []
  for (const workload of report.workloads) {
    const data = workload.data as { measurements?: Measurement[]; rows?: MemoryRow[] }
    if (data.measurements) {
      const cachekit = cachekitOf(data.measurements)
      for (const m of data.measurements) {
        if (m.role === 'cachekit') continue
        out.push({
          workload: workload.title,
          ratio: `cachekit ÷ ${m.name}${m.reference ? ' (reference)' : ''}`,
          value: cachekit.opsPerSec / m.opsPerSec,
          lowerIsBetter: false,
        })
      }
    } else if (workload.id === 'memory-per-entry' && data.rows) {
      const lru = data.rows.find((row) => row.library === MEMORY_REFERENCE)
      if (!lru) continue
      for (const row of data.rows.filter((r) => r.library.startsWith('cachekit'))) {
        out.push({
          workload: workload.title,
          ratio: `${row.library} bytes ÷ bare lru-cache (lower is better)`,
          value: row.bytesPerEntry / lru.bytesPerEntry,
          lowerIsBetter: true,
        })
      }
    }
  }
  return out
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function verdict(before: number[], after: number[], lowerIsBetter: boolean): string {
  // One run a side shows no spread, so no range to fall outside of: the medians' change only.
  if (before.length < 2 || after.length < 2) return '- (needs 2+ rounds)'
  const [worse, better] = lowerIsBetter
    ? [Math.min(...after) > Math.max(...before), Math.max(...after) < Math.min(...before)]
    : [Math.max(...after) < Math.min(...before), Math.min(...after) > Math.max(...before)]
  if (worse) return '❌ worse'
  if (better) return '✅ better'
  return 'within noise'
}

function change(before: number, after: number, lowerIsBetter: boolean): string {
  if (!Number.isFinite(before) || !Number.isFinite(after)) return '-'
  const percent = (after / before - 1) * 100
  const sign = percent >= 0 ? '+' : ''
  return `${sign}${percent.toFixed(1)}%${lowerIsBetter ? ' (lower is better)' : ''}`
}

export interface AbInput {
  base: string
  current: string
  currentDirty: boolean
  only: string
  quick: boolean
  runs: AbRun[]
}

/**
 * With n runs a side and no real change (the 2n runs exchangeable), the ranges fail to overlap by
 * chance with probability 2 / C(2n, n): the odds of a verdict from noise alone.
 */
function chance(n: number): string {
  if (n < 2) return 'One run a side gives no verdict.'
  let combinations = 1
  for (let i = 1; i <= n; i++) combinations = (combinations * (n + i)) / i
  return `With ${n} runs a side, identical code gets a verdict (either way) by chance in 1 ratio of ${Math.round(combinations / 2)}: read a lone one with the load averages below.`
}

const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`

export function abMarkdown(input: AbInput): string {
  const baseRuns = input.runs.filter((r) => r.side === 'base')
  const currentRuns = input.runs.filter((r) => r.side === 'current')
  const keyOf = (r: Ratio) => `${r.workload}\u0000${r.ratio}`
  const order: Ratio[] = []
  const values = new Map<string, { base: number[]; current: number[] }>()
  for (const run of input.runs) {
    for (const ratio of ratiosOf(run.report)) {
      const key = keyOf(ratio)
      let entry = values.get(key)
      if (!entry) {
        entry = { base: [], current: [] }
        values.set(key, entry)
        order.push(ratio)
      }
      entry[run.side].push(ratio.value)
    }
  }
  const load = (runs: AbRun[]) =>
    runs.map(
      (r) =>
        `${r.report.machine.loadAverage.start.toFixed(2)}→${r.report.machine.loadAverage.end.toFixed(2)}`,
    )
  const lines = [
    '# Before and after',
    '',
    `Alternating runs of \`src/main.ts --only=${input.only}${input.quick ? ' --quick' : ''}\` on one machine, ` +
      `${baseRuns.length} of each, in the order ${input.runs.map((r) => r.side).join(', ')}. ` +
      `\`base\` is ${input.base.slice(0, 10)}; \`current\` is ${input.current.slice(0, 10)}` +
      `${input.currentDirty ? ' with uncommitted changes under packages/' : ''}. Both sides ran this tree’s bench ` +
      'code; only the `@cachekit/*` packages differ (the base’s built in a temporary worktree). ' +
      'Ratios are cachekit ÷ the row named, from the same run (higher is better, except memory). ' +
      'A ratio is worse when every run after is below every run before (for memory: above); overlapping ranges are within noise. ' +
      chance(Math.min(baseRuns.length, currentRuns.length)),
    '',
    `Load average (1 min, start→end) of the runs: base ${load(baseRuns).join(', ')}; current ${load(currentRuns).join(', ')}.`,
    '',
    `| workload | ratio | base (${runs(baseRuns.length)}) | current (${runs(currentRuns.length)}) | median base → current | change | verdict |`,
    '| --- | --- | --- | --- | --- | ---: | --- |',
  ]
  for (const ratio of order) {
    const entry = values.get(keyOf(ratio))!
    const before = median(entry.base)
    const after = median(entry.current)
    const cells = [
      ratio.workload,
      ratio.ratio,
      entry.base.map(formatRatio).join(', ') || '-',
      entry.current.map(formatRatio).join(', ') || '-',
      `${formatRatio(before)} → ${formatRatio(after)}`,
      change(before, after, ratio.lowerIsBetter),
      verdict(entry.base, entry.current, ratio.lowerIsBetter),
    ]
    lines.push(`| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`)
  }
  const targets = new Map<string, { base: string[]; current: string[] }>()
  for (const run of input.runs) {
    for (const target of run.report.targets) {
      let entry = targets.get(target.target)
      if (!entry) {
        entry = { base: [], current: [] }
        targets.set(target.target, entry)
      }
      entry[run.side].push(
        `${target.measured} ${target.status === 'met' ? '✅' : target.status === 'missed' ? '❌' : 'ℹ️'}`,
      )
    }
  }
  if (targets.size > 0) {
    lines.push('', '## Targets, per run', '', '| target | base | current |', '| --- | --- | --- |')
    for (const [target, entry] of targets) {
      lines.push(
        `| ${target.replaceAll('|', '\\|')} | ${entry.base.join(', ')} | ${entry.current.join(', ')} |`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}
