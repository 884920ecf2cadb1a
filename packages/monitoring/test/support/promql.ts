import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Grafana's variables, replaced by values Prometheus accepts so the query parses as it will run. */
export function withGrafanaVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
    .replaceAll('$cache', '.*')
}

const NOT_NAMES = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'atan2',
  'inf',
  'nan',
])

/**
 * The metric names a PromQL expression selects. String literals, label matchers, ranges and
 * grouping label lists are removed first; what is left that is an identifier and not a function
 * call or a keyword is a metric name. (Its syntax is checked by promtool, see `promtoolRules`.)
 */
export function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  for (const match of stripped.matchAll(/(?<![\w.:$])[a-zA-Z_:][\w:]*(?!\s*\()/g)) {
    const word = match[0]
    // `(?!\s*\()` can stop one letter short of a function name: skip a word that continues into one.
    const after = stripped.slice(match.index + word.length)
    if (/^[\w:]/.test(after)) continue
    if (!NOT_NAMES.has(word.toLowerCase())) names.add(word)
  }
  return [...names]
}

/** Runs `promtool check rules` on recording rules made of `exprs`: Prometheus' own parser. */
export async function promtoolRules(exprs: string[]): Promise<{ code: number; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cachekit-dashboard-'))
  const file = join(dir, 'rules.json') // JSON is YAML
  const rules = exprs.map((expr, i) => ({ record: `cachekit:dashboard_expr_${i}`, expr }))
  await writeFile(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }))
  try {
    return await new Promise((resolve) => {
      execFile('promtool', ['check', 'rules', file], (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` })
      })
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
