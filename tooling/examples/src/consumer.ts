/**
 * A consumer project outside the monorepo, as a user makes one: the packed tarballs of the packages
 * it needs installed with npm (their peers and third-party dependencies come from the registry),
 * compiled with tsc for Node 20, run with node.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import ts from 'typescript'

const execFileAsync = promisify(execFile)
const require = createRequire(import.meta.url)

/** A published package of the monorepo, packed the way `pnpm publish` packs it. */
export interface PackedPackage {
  readonly name: string
  readonly tarball: string
  /** Other cachekit packages it needs: its dependencies and peers under `@cachekit/`. */
  readonly needs: readonly string[]
}

interface Manifest {
  name: string
  private?: boolean
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}

/**
 * Packs every non-private package under `packages/` into `destination` with `pnpm pack`, which
 * turns `workspace:` and `catalog:` ranges into the ranges a published tarball carries.
 */
export async function packPackages(root: string, destination: string): Promise<Map<string, PackedPackage>> {
  mkdirSync(destination, { recursive: true })
  const packed = new Map<string, PackedPackage>()
  for (const folder of readdirSync(join(root, 'packages')).sort()) {
    const dir = join(root, 'packages', folder)
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest
    if (manifest.private) continue
    const { stdout } = await execFileAsync('pnpm', ['pack', '--json', '--pack-destination', destination], {
      cwd: dir,
    })
    const { filename } = JSON.parse(stdout) as { filename: string }
    const needs = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).filter((name) =>
      name.startsWith('@cachekit/'),
    )
    packed.set(manifest.name, { name: manifest.name, tarball: join(destination, basename(filename)), needs })
  }
  return packed
}

/**
 * The cachekit packages to install for `imports`: those, and what they need, transitively (what npm
 * would fetch from the registry for a user, had we published). Sorted.
 */
export function packagesToInstall(imports: readonly string[], packed: Map<string, PackedPackage>): string[] {
  const wanted = new Set<string>()
  const visit = (name: string): void => {
    const pkg = packed.get(name)
    if (!pkg || wanted.has(name)) return
    wanted.add(name)
    for (const need of pkg.needs) visit(need)
  }
  for (const name of imports) visit(name)
  return [...wanted].sort()
}

/** The compiler options a user compiling for Node 20 needs (see the READMEs' notes). */
export const consumerCompilerOptions = {
  target: 'ES2022', // Node 20 runs ES2022; `await using` and decorators are downleveled
  lib: ['ES2022', 'ESNext.Disposable'], // `await using`; Node 20 has Symbol.asyncDispose
  module: 'NodeNext', // .mts is ESM, .cts is CommonJS
  moduleResolution: 'NodeNext',
  strict: true,
  types: ['node'],
  rootDir: 'src',
  outDir: 'dist',
}

/**
 * Writes a consumer project in `dir` that depends on `packages` (and on @types/node). With
 * `checkDeclarations`, tsc also checks the installed .d.ts files (`skipLibCheck: false`): our
 * published types must compile in a user's project, not only resolve. It costs seconds per project
 * (most of it @types/node), so one project per package is enough.
 */
export function writeConsumer(
  dir: string,
  packages: readonly PackedPackage[],
  typesNode: string,
  checkDeclarations: boolean,
  registryPackages: Readonly<Record<string, string>> = {},
): void {
  mkdirSync(join(dir, 'src'), { recursive: true })
  const dependencies = {
    ...registryPackages,
    ...Object.fromEntries(packages.map((pkg) => [pkg.name, `file:${pkg.tarball}`])),
  }
  const manifest = {
    name: 'cachekit-example-consumer',
    private: true,
    dependencies,
    devDependencies: { '@types/node': typesNode },
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  writeFileSync(
    join(dir, 'tsconfig.json'),
    `${JSON.stringify({ compilerOptions: { ...consumerCompilerOptions, skipLibCheck: !checkDeclarations }, include: ['src'] }, null, 2)}\n`,
  )
}

/** The environment of npm and of the examples: the caller's, without what pnpm sets for its scripts. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    // pnpm exports its own settings (auto-install-peers, ...) as npm_config_*; npm would read them.
    if (/^(npm|pnpm)_/i.test(key) && !/^npm_config_(registry|cache|userconfig)$/i.test(key)) continue
    if (/^(VITEST|NODE_ENV$|NODE_OPTIONS$|TEST$)/.test(key)) continue
    env[key] = value
  }
  return { ...env, ...extra }
}

/** `npm install` in `dir`, from the npm cache when it has what is needed. */
export async function npmInstall(dir: string): Promise<void> {
  await execFileAsync(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'],
    { cwd: dir, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 },
  )
}

/**
 * Compiles the consumer in `dir` with the repo's TypeScript and returns the diagnostics per source
 * file: examples by name (`ex-core-15.mts`), other files by path (`node_modules/...`), `(project)` for
 * errors of no file. A file that compiled cleanly has no entry.
 */
export async function compileConsumer(dir: string): Promise<Map<string, string[]>> {
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin/tsc')
  const result = await execFileAsync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; stderr?: string }) => ({
    stdout: error.stdout ?? '',
    stderr: error.stderr ?? '',
  }))
  const byFile = new Map<string, string[]>()
  let current = ''
  for (const line of `${result.stdout}${result.stderr}`.split('\n')) {
    const located = /^(.+?)\(\d+,\d+\): error /.exec(line)
    if (located)
      current = (located[1] ?? '').replace(/^src\//, '') // examples by name, others by path
    else if (/^\S/.test(line)) current = line.startsWith('error') ? '(project)' : current
    if (!line.trim() || !current) continue
    byFile.set(current, [...(byFile.get(current) ?? []), line])
  }
  return byFile
}

/**
 * The example as a CommonJS module: imports stay at the top (tsc turns them into `require`), the
 * rest runs in an async main, since CommonJS has no top-level await. This is how a CJS user writes it.
 */
export function toCommonJs(code: string): string {
  const source = ts.createSourceFile('example.ts', code, ts.ScriptTarget.Latest, true)
  const imports: string[] = []
  const body: string[] = []
  for (const statement of source.statements) {
    const text = code.slice(statement.getFullStart(), statement.getEnd())
    ;(ts.isImportDeclaration(statement) ? imports : body).push(text)
  }
  return [
    ...imports.map((text) => text.trim()),
    '',
    'async function main(): Promise<void> {',
    body.join('').replace(/^\n+/, ''),
    '}',
    '',
    'main().catch((error: unknown) => {',
    '  console.error(error)',
    '  process.exitCode = 1',
    '})',
    '',
  ].join('\n')
}

/** How a run of an example ended. */
export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly timedOut: boolean
  readonly stdout: string
  readonly stderr: string
}

/** Runs `node file` in `cwd`; kills it after `timeoutMs` (then `timedOut` is true). */
export function runNode(
  file: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, timedOut, stdout, stderr })
    })
  })
}

/**
 * What a user installs from the registry beside cachekit for an example that imports other
 * packages (express for the session store's example): each at the range the repo itself depends on
 * (a package's manifest), with its `@types/` package when the repo has one. Packages the repo only
 * takes from its catalog (ioredis) come as cachekit's peers and are left out.
 */
export function registryPackagesFor(root: string, imports: readonly string[]): Record<string, string> {
  const ranges = new Map<string, string>()
  for (const group of ['packages', 'apps', 'tooling']) {
    for (const folder of readdirSync(join(root, group))) {
      let manifest: Manifest & { devDependencies?: Record<string, string> }
      try {
        manifest = JSON.parse(readFileSync(join(root, group, folder, 'package.json'), 'utf8'))
      } catch {
        continue
      }
      for (const [name, range] of Object.entries({
        ...manifest.peerDependencies,
        ...manifest.devDependencies,
      })) {
        if (!range.startsWith('workspace:') && !range.startsWith('catalog:') && !ranges.has(name))
          ranges.set(name, range)
      }
    }
  }
  const wanted: Record<string, string> = {}
  for (const name of imports) {
    if (name.startsWith('@cachekit/')) continue
    const range = ranges.get(name)
    if (range) wanted[name] = range
    const types = `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`
    const typesRange = ranges.get(types)
    if (range && typesRange) wanted[types] = typesRange
  }
  return wanted
}

/** The optional peers of cachekit packages (express-session for @cachekit/sessions' store entry). */
export function optionalPeersOf(root: string, packages: readonly string[]): string[] {
  const peers: string[] = []
  for (const name of packages) {
    if (!name.startsWith('@cachekit/')) continue
    try {
      const manifest = JSON.parse(
        readFileSync(join(root, 'packages', name.slice('@cachekit/'.length), 'package.json'), 'utf8'),
      ) as { peerDependenciesMeta?: Record<string, { optional?: boolean }> }
      for (const [peer, meta] of Object.entries(manifest.peerDependenciesMeta ?? {}))
        if (meta.optional) peers.push(peer)
    } catch {
      // Not a package of packages/: nothing optional to add.
    }
  }
  return peers
}
