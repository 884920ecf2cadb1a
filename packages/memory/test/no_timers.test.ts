import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'tsup'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { memoryStore } from '../src/index.js'
import { bytes } from './support/helpers.js'

const packageDir = resolve(import.meta.dirname, '..')

describe('timers', () => {
  it('creates no timer of any kind, not even an unref-ed one', () => {
    const timers = [
      vi.spyOn(globalThis, 'setTimeout'),
      vi.spyOn(globalThis, 'setInterval'),
      vi.spyOn(globalThis, 'setImmediate'),
    ]
    try {
      const store = memoryStore({ maxEntries: 10, maxBytes: 1_000 })
      // No await in between: every call below runs synchronously, so nothing else can set a timer.
      for (let i = 0; i < 50; i++) void store.set(`k:${i}`, bytes(10), 1 + i)
      for (let i = 0; i < 50; i++) store.getSync(`k:${i}`)
      void store.get('k:49')
      void store.getMany(['k:1', 'k:48'])
      for (const timer of timers) expect(timer).not.toHaveBeenCalled()
    } finally {
      for (const timer of timers) timer.mockRestore()
    }
  })

  describe('in a child process', () => {
    let dir: string

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cachekit-memory-'))
      // Tests run from source; a plain `node` child cannot, so the store is bundled for it first.
      await build({
        config: false,
        entry: { store: join(packageDir, 'src/index.ts') },
        outDir: dir,
        format: ['esm'],
        platform: 'node',
        target: 'node20',
        noExternal: [/.*/],
        silent: true,
        esbuildOptions: (options) => {
          options.alias = { '@cachekit/core': resolve(packageDir, '../core/src/index.ts') }
        },
      })
      await writeFile(
        join(dir, 'child.mjs'),
        `import { memoryStore } from './store.js'
const store = memoryStore({ maxEntries: 100, maxBytes: 10_000 })
// An hour of TTL: a timer waiting on any of these would keep the process alive that long.
for (let i = 0; i < 200; i++) await store.set('k:' + i, new Uint8Array(10), 3_600_000)
store.getSync('k:150')
await store.get('k:199')
await store.getMany(['k:1', 'k:199'])
for await (const key of store.scan('k:1*')) void key
await store.delete(['k:199'])
await store.clear('k:15')
await store.prune()
process.stdout.write(JSON.stringify(store.stats()))
// Deliberately not closed.
`,
      )
    }, 60_000)

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it('lets a process holding TTL entries exit on its own, without close()', () => {
      // A child kept alive by a timer would be killed at the timeout (far below its hour of TTLs):
      // spawnSync then reports ETIMEDOUT and the signal, and no exit status.
      const child = spawnSync(process.execPath, [join(dir, 'child.mjs')], {
        encoding: 'utf8',
        timeout: 30_000,
      })
      expect(child.error).toBeUndefined()
      expect(child.signal).toBeNull()
      expect(child.stderr).toBe('')
      expect(child.status).toBe(0)
      expect(JSON.parse(child.stdout)).toMatchObject({ entries: 89, evictions: 100 })
    })
  })
})
