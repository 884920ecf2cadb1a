/**
 * Compares two profiles written by profile.ts as self time per operation, largest difference first:
 * where one library spends the microseconds another does not.
 *
 *   node --import tsx src/profile_diff.ts results/l2-get-cachekit.cpuprofile \
 *     results/l2-get-raw-ioredis-getBuffer-unpack.cpuprofile [rows]
 */
import { readFileSync } from 'node:fs'

// `| head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', () => process.exit(0))

interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>
  samples: number[]
  timeDeltas: number[]
}

function selfPerOp(file: string): Map<string, number> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const ops = Number(readFileSync(`${file}.ops`, 'utf8'))
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = byId.get(profile.samples[i]!)?.callFrame
    if (!frame) continue
    const where = frame.url.replace(/.*\/node_modules\//, '').replace(/.*\/(packages|tooling)\//, '$1/')
    const name = `${frame.functionName || '(anonymous)'} ${where ? `${where}:${frame.lineNumber + 1}` : ''}`
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / ops)
  }
  return self
}

const [a, b, rows = '30'] = process.argv.slice(2)
if (!a || !b) throw new Error('[bench] profile_diff: give two .cpuprofile files written by profile.ts')
const left = selfPerOp(a)
const right = selfPerOp(b)
const names = [...new Set([...left.keys(), ...right.keys()])]
const sum = (map: Map<string, number>) => [...map.values()].reduce((x, y) => x + y, 0)
console.log(`µs per op (idle included): ${sum(left).toFixed(2)} vs ${sum(right).toFixed(2)}`)
console.log('   diff     left    right  function')
for (const name of names
  .sort((x, y) => (left.get(y) ?? 0) - (right.get(y) ?? 0) - ((left.get(x) ?? 0) - (right.get(x) ?? 0)))
  .slice(0, Number(rows))) {
  const l = left.get(name) ?? 0
  const r = right.get(name) ?? 0
  console.log(
    `${(l - r).toFixed(2).padStart(7)}  ${l.toFixed(2).padStart(7)}  ${r.toFixed(2).padStart(7)}  ${name}`,
  )
}
