import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { isProcessAlive } from '../src/harness_dir.js'
import { isPortFree, reapLeftovers } from '../src/index.js'

interface Started {
  port: number
  dir: string
  pid: number
}

const fixtures = join(import.meta.dirname, 'fixtures')
const children: ChildProcess[] = []

/** Runs test/fixtures/owner_process.ts in a plain node process and reads the server it started. */
async function startOwner(mode: 'exit' | 'wait'): Promise<{ child: ChildProcess; server: Started }> {
  const child = spawn(
    process.execPath,
    ['--import', join(fixtures, 'register_ts.mjs'), join(fixtures, 'owner_process.ts'), mode],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  children.push(child)
  const lines = createInterface({ input: child.stdout! })
  const [line] = (await Promise.race([once(lines, 'line'), sleep(15_000, ['timeout'])])) as [string]
  lines.close()
  return { child, server: JSON.parse(line) as Started }
}

async function gone(server: Started): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (!isProcessAlive(server.pid) && !existsSync(server.dir) && (await isPortFree(server.port))) return true
    await sleep(20)
  }
  return false
}

// Concurrent: each test is its own process, and starting node with the TypeScript loader is the slow part.
describe.concurrent('a process that started servers', () => {
  afterAll(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL')
  })

  it('kills them when it calls process.exit', async () => {
    const { child, server } = await startOwner('exit')
    const [code] = await once(child, 'exit')
    expect(code).toBe(0)
    expect(await gone(server)).toBe(true)
  })

  it('kills them on SIGTERM, then still dies by the signal', async () => {
    const { child, server } = await startOwner('wait')
    expect(isProcessAlive(server.pid)).toBe(true)
    child.kill('SIGTERM')
    const [code, signal] = await once(child, 'exit')
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' })
    expect(await gone(server)).toBe(true)
  })

  it('leaves them to the next run when SIGKILLed, which reaps them', async () => {
    const { child, server } = await startOwner('wait')
    child.kill('SIGKILL')
    await once(child, 'exit')
    expect(isProcessAlive(server.pid)).toBe(true)
    const report = reapLeftovers()
    expect(report.pids).toContain(server.pid)
    expect(await gone(server)).toBe(true)
  })
})
