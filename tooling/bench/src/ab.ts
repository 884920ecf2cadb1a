/**
 * `pnpm --filter @cachekit/bench bench:ab --base=<git rev> [--only=l2-get,set] [--rounds=3] [--quick]`:
 * before and after, in alternating runs on the same machine.
 *
 * 1. Checks the base revision out in a temporary git worktree, installs it offline
 *    (`pnpm install --offline --frozen-lockfile`) and builds its cachekit packages; builds this
 *    tree's too.
 * 2. Runs `src/main.ts --only=... --out=...` `rounds` times for each side, alternating in ABBA order
 *    (base, current, current, base, ...) so drift and a noisy neighbour hit both sides alike. Both
 *    sides run this tree's bench code: only the `@cachekit/*` packages differ (for the base run,
 *    src/base_packages/register.mjs resolves them from the worktree).
 * 3. Writes results/ab.md: every ratio of every run (cachekit ÷ each peer, reference and server
 *    row; memory over bare lru-cache), the medians, and whether a ratio fell. The run reports stay
 *    in results/ab/ (git-ignored).
 * 4. Removes the worktree, also when a step fails or the run is interrupted.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AbRun, abMarkdown } from './ab_report.js'
import type { RunReport } from './report.js'

const args = process.argv.slice(2)
const flag = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
const base = flag('base')
const only = flag('only') ?? 'l2-get,set'
const rounds = Number(flag('rounds') ?? 3)
const quick = args.includes('--quick')
if (!base || !Number.isInteger(rounds) || rounds < 1 || rounds > 10) {
  process.stderr.write('usage: bench:ab --base=<git rev> [--only=l2-get,set] [--rounds=3 (1-10)] [--quick]\n')
  process.exit(2)
}

const benchDir = new URL('../', import.meta.url).pathname
const git = (...gitArgs: string[]) =>
  execFileSync('git', gitArgs, {
    cwd: benchDir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim()
const repoRoot = git('rev-parse', '--show-toplevel')
const baseSha = git('rev-parse', '--verify', `${base}^{commit}`)
const currentSha = git('rev-parse', 'HEAD')
const dirty = git('status', '--porcelain', '--', 'packages').length > 0

function log(message: string): void {
  process.stderr.write(`[bench:ab] ${message}\n`)
}

/** The command running now, so an interrupt ends it too. */
let running: ChildProcess | undefined

/** Runs a command to its end, its output on stderr; rejects on a non-zero exit. */
function run(command: string, commandArgs: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, commandArgs, { cwd, env, stdio: ['ignore', 'ignore', 'inherit'] })
    running = child
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      running = undefined
      if (code === 0) resolve()
      else
        reject(
          new Error(
            `[bench:ab] ${command} ${commandArgs.join(' ')} (in ${cwd}) ended with ${signal ?? code}`,
          ),
        )
    })
  })
}

const build = (root: string) =>
  run(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=@cachekit/bench^...', '--output-logs=errors-only'],
    root,
  )

const tempDir = mkdtempSync(join(tmpdir(), 'cachekit-bench-ab-'))
const worktree = join(tempDir, 'base')
let worktreeAdded = false
function removeWorktree(): void {
  if (worktreeAdded) {
    worktreeAdded = false
    try {
      execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: repoRoot, stdio: 'ignore' })
    } catch {
      // Removed by hand below; `git worktree prune` then forgets it.
      rmSync(tempDir, { recursive: true, force: true })
      execFileSync('git', ['worktree', 'prune'], { cwd: repoRoot, stdio: 'ignore' })
    }
  }
  rmSync(tempDir, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    const child = running
    const finish = () => {
      removeWorktree()
      process.kill(process.pid, signal)
    }
    if (!child) return finish()
    // The bench stops its Redis servers on the signal; the worktree goes once it has exited.
    child.once('exit', finish)
    child.kill(signal)
  })
}

async function main(): Promise<void> {
  const resultsDir = join(benchDir, 'results', 'ab')
  rmSync(resultsDir, { recursive: true, force: true })
  mkdirSync(resultsDir, { recursive: true })
  log(`base ${baseSha.slice(0, 10)} in ${worktree}`)
  git('worktree', 'add', '--detach', worktree, baseSha)
  worktreeAdded = true
  await run('pnpm', ['install', '--offline', '--frozen-lockfile'], worktree)
  log('building the base packages, then this tree’s')
  await build(worktree)
  await build(repoRoot)

  const register = new URL('./base_packages/register.mjs', import.meta.url).href
  const sides = {
    base: {
      ...process.env,
      CACHEKIT_BENCH_PACKAGES_FROM: join(worktree, 'tooling', 'bench', 'package.json'),
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${register}`.trim(),
    },
    current: process.env,
  }
  // The base side must load the worktree's packages, or the comparison is of a tree with itself.
  const resolved = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', "process.stdout.write(import.meta.resolve('@cachekit/core'))"],
    { cwd: benchDir, env: sides.base, encoding: 'utf8' },
  )
  if (!resolved.startsWith(`file://${realpathSync(worktree)}/`)) {
    throw new Error(`[bench:ab] the base side resolves @cachekit/core to ${resolved}, not into ${worktree}`)
  }
  log(`base side loads ${resolved}`)
  const runs: AbRun[] = []
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? (['base', 'current'] as const) : (['current', 'base'] as const)
    for (const side of order) {
      const out = join(resultsDir, `${side}-${round}.json`)
      log(`round ${round}/${rounds}: ${side}`)
      const benchArgs = ['--import', 'tsx', 'src/main.ts', `--only=${only}`, `--out=${out}`]
      if (quick) benchArgs.push('--quick')
      await run(process.execPath, benchArgs, benchDir, sides[side])
      runs.push({ side, round, report: JSON.parse(readFileSync(out, 'utf8')) as RunReport })
    }
  }
  const markdown = abMarkdown({
    base: baseSha,
    current: currentSha,
    currentDirty: dirty,
    only,
    quick,
    runs,
  })
  writeFileSync(join(benchDir, 'results', 'ab.md'), markdown)
  log('wrote results/ab.md (run reports in results/ab/)')
  process.stdout.write(markdown)
}

try {
  await main()
} finally {
  removeWorktree()
}
