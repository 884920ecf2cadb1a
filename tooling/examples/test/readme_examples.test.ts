/**
 * Every README example, run as a user runs it: the packages built and packed as `pnpm publish`
 * packs them, installed with npm in a project outside the repo (only the packages the example
 * imports, plus what they need), compiled with tsc for Node 20 as ESM (.mts) and as CommonJS (.cts),
 * and run with node against a real Redis. Each must exit by itself, with code 0 and nothing on stderr.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { requireTopology } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  cleanEnv,
  compileConsumer,
  npmInstall,
  optionalPeersOf,
  type PackedPackage,
  packagesToInstall,
  packPackages,
  registryPackagesFor,
  runNode,
  toCommonJs,
  writeConsumer,
} from '../src/consumer.js'
import { installLines, type ReadmeExample, readmeExamples, readmeFiles } from '../src/readme_examples.js'

const execFileAsync = promisify(execFile)
const root = resolve(import.meta.dirname, '../../..')
const { url: redisUrl } = requireTopology(inject('redis'), 'standalone')
const readmes = readmeFiles(root)
const examples = readmes.flatMap((readme) => readmeExamples(root, readme))
const runnable = examples.filter((example) => !example.fragment)
const kinds = [
  { kind: 'ESM', source: 'mts', output: 'mjs' },
  { kind: 'CommonJS', source: 'cts', output: 'cjs' },
] as const
/** An example that has not exited by then never will: it holds a connection or a timer open. */
const runTimeoutMs = 20_000

interface Consumer {
  readonly dir: string
  readonly packages: readonly string[]
  /** Packages from the registry, at the repo's own ranges (see `registryPackagesFor`). */
  readonly registry: Readonly<Record<string, string>>
  diagnostics: Map<string, string[]>
}
/** One consumer project per set of packages to install, keyed by that set. */
const consumers = new Map<string, Consumer>()
const consumerOf = new Map<string, Consumer>()
let work = ''
let published: string[] = []
const redis = new Redis(redisUrl)

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cachekit-examples-'))
  await execFileAsync('pnpm', ['build'], { cwd: root, maxBuffer: 16 * 1024 * 1024 }) // turbo: cached when unchanged
  const packed = await packPackages(root, join(work, 'tarballs'))
  published = [...packed.keys()].sort()
  const typesNode = (createRequire(import.meta.url)('@types/node/package.json') as { version: string })
    .version

  for (const example of runnable) {
    const names = packagesToInstall(
      example.packages.filter((name) => packed.has(name)),
      packed,
    )
    // Other packages it imports (express), and the optional peers of what it installs, whose
    // declarations the check below compiles: from the registry, as a user would add them.
    const registry = registryPackagesFor(root, [
      ...example.packages.filter((name) => !packed.has(name)),
      ...optionalPeersOf(root, names),
    ])
    const key = [...names, ...Object.keys(registry).sort()].join(' ')
    let consumer = consumers.get(key)
    if (!consumer) {
      consumer = {
        dir: join(work, `consumer-${consumers.size + 1}`),
        packages: names,
        registry,
        diagnostics: new Map(),
      }
      consumers.set(key, consumer)
    }
    consumerOf.set(example.id, consumer)
  }
  // The largest projects check the declarations of the packages they install, each package once.
  const declarationsChecked = new Set<string>()
  for (const consumer of [...consumers.values()].sort((a, b) => b.packages.length - a.packages.length)) {
    const checks = consumer.packages.some((name) => !declarationsChecked.has(name))
    for (const name of consumer.packages) declarationsChecked.add(name)
    writeConsumer(
      consumer.dir,
      consumer.packages.map((name) => packed.get(name)) as PackedPackage[],
      typesNode,
      checks,
      consumer.registry,
    )
  }
  for (const example of runnable) {
    const consumer = consumerOf.get(example.id)!
    writeFileSync(join(consumer.dir, 'src', `ex-${example.id}.mts`), `${example.code}\n`)
    writeFileSync(join(consumer.dir, 'src', `ex-${example.id}.cts`), toCommonJs(example.code))
  }

  // Two at a time: npm and tsc are mostly I/O and one core each.
  const queue = [...consumers.values()]
  const worker = async (): Promise<void> => {
    for (let consumer = queue.shift(); consumer; consumer = queue.shift()) {
      await npmInstall(consumer.dir)
      consumer.diagnostics = await compileConsumer(consumer.dir)
    }
  }
  await Promise.all([worker(), worker()])
})

afterAll(async () => {
  await redis.quit()
  if (work) rmSync(work, { recursive: true, force: true })
})

const where = (example: ReadmeExample): string => `${example.readme}:${example.line}`

describe.each(runnable.map((example) => ({ example, at: where(example) })))('$at', ({ example }) => {
  it.each(kinds)('compiles with tsc and runs to a clean exit as $kind', async ({ source, output }) => {
    const consumer = consumerOf.get(example.id)!
    const errors = [
      ...(consumer.diagnostics.get('(project)') ?? []),
      ...(consumer.diagnostics.get(`ex-${example.id}.${source}`) ?? []),
    ]
    expect(errors, `tsc in ${consumer.dir}`).toEqual([])

    await redis.flushall() // every example starts from an empty Redis, whatever ran before
    const result = await runNode(
      join('dist', `ex-${example.id}.${output}`),
      consumer.dir,
      cleanEnv({ REDIS_URL: redisUrl }),
      runTimeoutMs,
    )
    expect(
      { timedOut: result.timedOut, code: result.code, signal: result.signal, stderr: result.stderr },
      `node dist/ex-${example.id}.${output} in ${consumer.dir}; stdout:\n${result.stdout}`,
    ).toEqual({ timedOut: false, code: 0, signal: null, stderr: '' })
  })
})

describe('the consumer projects', () => {
  it('compile the published type declarations of every package (skipLibCheck off, once per package)', () => {
    const installed = new Set([...consumers.values()].flatMap((consumer) => consumer.packages))
    expect([...installed].sort(), 'every published package is installed by some example').toEqual(published)
    for (const consumer of consumers.values()) {
      // Our declarations, not a third party's: PGlite's need the DOM lib, which a Node project lacks.
      const outside = [...consumer.diagnostics].filter(
        ([file]) =>
          !file.startsWith('ex-') &&
          file !== '(project)' &&
          (!file.startsWith('node_modules/') || file.startsWith('node_modules/@cachekit/')),
      )
      expect(outside, consumer.packages.join(' ')).toEqual([])
    }
  })

  it('install only what they ask for: core and memory come without ioredis, msgpackr or lz4-napi', () => {
    const consumer = consumers.get('@cachekit/core @cachekit/memory')
    expect(consumer, 'an example that imports only core and memory').toBeDefined()
    for (const name of ['ioredis', 'msgpackr', 'lz4-napi', '@cachekit/redis', '@cachekit/serializers']) {
      expect(existsSync(join(consumer!.dir, 'node_modules', name)), name).toBe(false)
    }
  })

  it('hold one copy of ioredis, the one the app itself would use (a peer)', () => {
    const withRedis = [...consumers.values()].filter((consumer) =>
      consumer.packages.includes('@cachekit/redis'),
    )
    expect(withRedis.length).toBeGreaterThan(0)
    for (const consumer of withRedis) {
      expect(existsSync(join(consumer.dir, 'node_modules/ioredis/package.json'))).toBe(true)
      for (const name of consumer.packages) {
        expect(existsSync(join(consumer.dir, 'node_modules', name, 'node_modules/ioredis')), name).toBe(false)
      }
    }
  })
})

describe('the READMEs', () => {
  it.each(readmes)('%s: the install line names every package its first example imports', (readme) => {
    const first = examples.find((example) => example.readme === readme && !example.fragment)
    if (!first) return
    const installed = installLines(root, readme)[0] ?? []
    const missing = first.packages.filter(
      (name) => name.startsWith('@cachekit/') && !installed.includes(name),
    )
    expect(missing, `pnpm add ${installed.join(' ')}`).toEqual([])
  })

  it('mark as fragments only blocks that are not programs, and say why', () => {
    // The list is short on purpose (tooling/examples/README.md names each one): a block a user would
    // paste and run is a program, and is run here.
    for (const fragment of examples.filter((example) => example.fragment)) {
      expect(fragment.fragment, where(fragment)).toMatch(/\w{3,}/)
    }
  })
})
