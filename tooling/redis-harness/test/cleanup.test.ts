import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runExitCleanups } from '../src/cleanup.js'
import { createRunDir, isProcessAlive, writeServerPid } from '../src/harness_dir.js'
import { findRedisServer, isPortFree, reapLeftovers, reservePort, startStandalone } from '../src/index.js'

/** A pid that certainly belongs to no process any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  return child.pid
}

async function waitForPortState(port: number, free: boolean): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if ((await isPortFree(port)) === free) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return false
}

describe('cleanup', () => {
  const baseDir = mkdtempSync(join(tmpdir(), 'redis-harness-reap-test-'))
  afterAll(() => rmSync(baseDir, { recursive: true, force: true }))

  it('stop() frees the port and deletes the dir, and is idempotent', async () => {
    const server = await startStandalone()
    const { port, dir } = server
    await server.stop()
    expect(existsSync(dir)).toBe(false)
    expect(await isPortFree(port)).toBe(true)
    await server.stop()
  })

  it('reaps the servers and dirs of a run whose owner died', async () => {
    const reservation = await reservePort()
    let server: ChildProcess | undefined
    try {
      // What a SIGKILLed test run leaves: a run dir naming a dead owner, a server still running.
      const runDir = createRunDir('standalone', baseDir)
      writeFileSync(join(runDir, 'owner.json'), JSON.stringify({ pid: deadPid() }))
      const serverDir = join(runDir, `standalone-${reservation.port}`)
      mkdirSync(serverDir)
      server = spawn(
        findRedisServer(),
        ['--port', String(reservation.port), '--bind', '127.0.0.1', '--save', ''],
        {
          stdio: 'ignore',
        },
      )
      writeServerPid(serverDir, server.pid!)
      expect(await waitForPortState(reservation.port, false)).toBe(true)
      mkdirSync(join(baseDir, 'ports'), { recursive: true })
      writeFileSync(join(baseDir, 'ports', '12345'), String(deadPid()))

      const exited = once(server, 'exit')
      const report = reapLeftovers(baseDir)
      expect(report).toEqual({ dirs: [runDir], pids: [server.pid], ports: [12345] })
      await exited
      expect(existsSync(runDir)).toBe(false)
      expect(await waitForPortState(reservation.port, true)).toBe(true)
    } finally {
      server?.kill('SIGKILL')
      reservation.release()
    }
  })

  it('leaves the runs of live processes alone', () => {
    const runDir = createRunDir('standalone', baseDir)
    mkdirSync(join(runDir, 'standalone-1'))
    writeServerPid(join(runDir, 'standalone-1'), process.pid)
    expect(reapLeftovers(baseDir)).toEqual({ dirs: [], pids: [], ports: [] })
    expect(existsSync(runDir)).toBe(true)
    expect(isProcessAlive(process.pid)).toBe(true)
  })

  it('kills servers and removes dirs synchronously on process exit', async () => {
    const server = await startStandalone()
    const { port, dir, pid } = server
    // What the 'exit', SIGINT and SIGTERM handlers run.
    runExitCleanups()
    expect(existsSync(dir)).toBe(false)
    expect(await waitForPortState(port, true)).toBe(true)
    // The exit is seen (and the zombie reaped) once the event loop gets to the SIGCHLD.
    for (let i = 0; i < 50 && server.running; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(server.running).toBe(false)
    expect(pid !== undefined && isProcessAlive(pid)).toBe(false)
    await server.stop()
  })
})
