/**
 * Summarises a V8 .cpuprofile: self and total time by function (name, file, line), so a profile
 * can be read without DevTools.
 *
 *   node --import tsx src/profile_summary.ts <file.cpuprofile> [rows] [filter]
 *
 * `filter` keeps the rows whose file contains it (e.g. `@cachekit` or `packages/`).
 */
import { readFileSync } from 'node:fs'

// `| head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', () => process.exit(0))

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const [file, rowsArg = '30', filter = ''] = process.argv.slice(2)
if (!file) throw new Error('[bench] profile_summary: give a .cpuprofile file')
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const where = url
    ? `${url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, '')}:${lineNumber + 1}`
    : ''
  return `${functionName || '(anonymous)'} ${where}`.trim()
}

const self = new Map<string, number>()
const total = new Map<string, number>()
let all = 0
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i] ?? 0
  all += delta
  let node = byId.get(profile.samples[i]!)
  if (!node) continue
  self.set(label(node), (self.get(label(node)) ?? 0) + delta)
  const seen = new Set<string>()
  while (node) {
    const name = label(node)
    if (!seen.has(name)) {
      seen.add(name)
      total.set(name, (total.get(name) ?? 0) + delta)
    }
    const up = parent.get(node.id)
    node = up === undefined ? undefined : byId.get(up)
  }
}

const rows = Number(rowsArg)
const pct = (us: number) => `${((us / all) * 100).toFixed(1).padStart(5)}%`
const show = (title: string, map: Map<string, number>) => {
  console.log(`\n${title} (of ${(all / 1000).toFixed(0)} ms sampled)`)
  const sorted = [...map.entries()].filter(([name]) => name.includes(filter)).sort((a, b) => b[1] - a[1])
  for (const [name, us] of sorted.slice(0, rows)) console.log(`${pct(us)}  ${name}`)
}
show('self time', self)
show('total time (inclusive)', total)
