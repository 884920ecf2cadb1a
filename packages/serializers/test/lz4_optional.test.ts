import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { libraryOptions } from '@cachekit/tsup-config'
import { build, type Options } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultCodec } from '../src/index.js'
import serializersBuild from '../tsup.config.js'

/**
 * lz4-napi is a native addon. These tests install the built package (both formats, from this
 * package's own tsup config) into a consumer folder outside the monorepo, so nothing resolves
 * lz4-napi by accident, and run Node on it where lz4-napi is absent, where its binary is absent
 * (what `npm i --omit=optional` leaves), and where it is present.
 */

const packageDir = resolve(import.meta.dirname, '..')
const coreDir = resolve(packageDir, '../core')
const requireHere = createRequire(import.meta.url)
// pnpm links each dependency into the package's node_modules; the link's target is the real folder,
// whose own dependencies (msgpackr-extract, lz4-napi's binary) sit next to it.
const realPackageDir = (name: string): string => realpathSync(join(packageDir, 'node_modules', name))

let consumer: string
let modules: string

async function buildInto(options: Options, entry: string, outDir: string): Promise<void> {
  await build({
    ...options,
    entry: [entry],
    outDir,
    dts: false,
    sourcemap: false,
    silent: true,
    config: false,
  })
}

beforeAll(async () => {
  consumer = mkdtempSync(join(tmpdir(), 'cachekit-lz4-optional-'))
  modules = join(consumer, 'node_modules')
  const serializersOut = join(modules, '@cachekit/serializers')
  const coreOut = join(modules, '@cachekit/core')
  mkdirSync(serializersOut, { recursive: true })
  mkdirSync(coreOut, { recursive: true })
  // The package's real build config (formats, target, shims); externals spelled out because tsup
  // reads them from the package.json of the working directory, which is the repo root here.
  await buildInto(
    { ...(serializersBuild as Options), external: ['@cachekit/core', 'msgpackr', 'lz4-napi'] },
    join(packageDir, 'src/index.ts'),
    join(serializersOut, 'dist'),
  )
  await buildInto(
    { ...(libraryOptions as Options), noExternal: ['ms'] },
    join(coreDir, 'src/index.ts'),
    join(coreOut, 'dist'),
  )
  cpSync(join(packageDir, 'package.json'), join(serializersOut, 'package.json'))
  cpSync(join(coreDir, 'package.json'), join(coreOut, 'package.json'))
  symlinkSync(realPackageDir('msgpackr'), join(modules, 'msgpackr'), 'dir')
  writeFileSync(join(consumer, 'probe.mjs'), probe('esm'))
  writeFileSync(join(consumer, 'probe.cjs'), probe('cjs'))
}, 60_000)

afterAll(() => {
  if (consumer !== undefined) rmSync(consumer, { recursive: true, force: true })
})

/** A script that loads the package and reports what works, as one line of JSON. */
function probe(format: 'esm' | 'cjs'): string {
  const load =
    format === 'esm'
      ? "const s = await import('@cachekit/serializers')"
      : "const s = require('@cachekit/serializers')"
  const body = `
const report = {}
const failure = (error) => ({ name: error.name, code: error.code, message: error.message })
const roundTrip = (codec) => codec.decode(codec.encode({ a: [1, 'b'], at: new Date(0) })).at.getTime() === 0
try { fromPackage.resolve('lz4-napi'); report.resolvable = true } catch { report.resolvable = false }
report.json = roundTrip(s.jsonCodec())
report.msgpack = roundTrip(s.msgpackCodec())
try {
  const codec = s.createCodec({ serializer: s.msgpackSerializer(), transforms: [s.lz4({ threshold: 0 })] })
  report.lz4 = s.inspectEncoded(codec.encode('x'.repeat(500))).transforms.map((t) => t.name).join() + ':' + roundTrip(codec)
} catch (error) { report.lz4 = failure(error) }
try { report.defaultCodec = s.defaultCodec().name } catch (error) { report.defaultCodec = failure(error) }
try { s.msgpackCodec().decode(Buffer.from(process.env.LZ4_VALUE, 'base64')) } catch (error) { report.readLz4 = failure(error) }
console.log(JSON.stringify(report))
`
  // `fromPackage` resolves as the package itself does, from its folder.
  return format === 'esm'
    ? `import { createRequire } from 'node:module'\nconst fromPackage = createRequire(import.meta.resolve('@cachekit/serializers'))\n${load}\n${body}`
    : `const fromPackage = require('node:module').createRequire(require.resolve('@cachekit/serializers'))\n${load}\n${body}`
}

interface Report {
  resolvable: boolean
  json: boolean
  msgpack: boolean
  lz4: string | { name: string; code: string; message: string }
  defaultCodec: string | { name: string; code: string; message: string }
  readLz4: { code: string; message: string }
}

function run(format: 'esm' | 'cjs'): Report {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LZ4_VALUE: Buffer.from(defaultCodec().encode('y'.repeat(5000))).toString('base64'),
  }
  delete env.NODE_PATH
  delete env.NODE_OPTIONS
  const child = spawnSync(process.execPath, [format === 'esm' ? 'probe.mjs' : 'probe.cjs'], {
    cwd: consumer,
    env,
    encoding: 'utf8',
    timeout: 20_000,
  })
  expect(child.status, child.stderr).toBe(0)
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Report
}

function expectUnavailable(report: Report): void {
  expect(report.json).toBe(true)
  expect(report.msgpack).toBe(true)
  for (const failure of [report.lz4, report.defaultCodec]) {
    expect(failure).toMatchObject({ name: 'Lz4UnavailableError', code: 'E_INVALID_OPTION' })
    const { message } = failure as { message: string }
    expect(message).toMatch(/^\[cachekit\/serializers\] lz4\(\) needs the lz4-napi package/)
    expect(message).toContain('npm i lz4-napi')
    expect(message).toContain('msgpackCodec()')
  }
  // Reading a compressed value needs lz4 too, and a codec without it refuses it without loading it.
  expect(report.readLz4.code).toBe('E_CODEC_DECODE')
  expect(report.readLz4.message).toMatch(/lz4-compressed, which msgpack does not decompress/)
}

describe.each(['esm', 'cjs'] as const)('the built package (%s)', (format) => {
  describe('without lz4-napi installed', () => {
    it('loads; json and msgpack work; lz4() and defaultCodec() throw Lz4UnavailableError', () => {
      const report = run(format)
      expect(report.resolvable).toBe(false)
      expectUnavailable(report)
      expect((report.lz4 as { message: string }).message).toMatch(/Cannot find module 'lz4-napi'/)
    })
  })

  describe('with lz4-napi but not its native binary (what npm i --omit=optional leaves)', () => {
    beforeAll(() => {
      // The real package's loader, without the optional @antoniomuso/lz4-napi-<platform> package.
      const target = join(modules, 'lz4-napi')
      mkdirSync(target)
      const real = realPackageDir('lz4-napi')
      for (const file of ['package.json', 'index.js']) cpSync(join(real, file), join(target, file))
    })
    afterAll(() => rmSync(join(modules, 'lz4-napi'), { recursive: true, force: true }))

    it('loads; json and msgpack work; lz4() and defaultCodec() throw Lz4UnavailableError', () => {
      const report = run(format)
      expect(report.resolvable).toBe(true)
      expectUnavailable(report)
      expect((report.lz4 as { message: string }).message).toMatch(/native binding/i)
    })
  })

  describe('with lz4-napi installed', () => {
    beforeAll(() => symlinkSync(realPackageDir('lz4-napi'), join(modules, 'lz4-napi'), 'dir'))
    afterAll(() => rmSync(join(modules, 'lz4-napi'), { force: true }))

    it('lz4 compresses, and defaultCodec() is msgpack+lz4', () => {
      const report = run(format)
      expect(report).toMatchObject({ resolvable: true, json: true, msgpack: true, lz4: 'lz4:true' })
      expect(report.defaultCodec).toBe('msgpack+lz4')
      expect(report.readLz4.message).toMatch(/lz4-compressed, which msgpack does not decompress/)
    })
  })
})

it('the test finds lz4-napi and msgpackr where the package does', () => {
  expect(requireHere.resolve('lz4-napi')).toContain('lz4-napi')
  expect(realPackageDir('msgpackr')).toContain('msgpackr')
})
