/**
 * Free ports for servers, without collisions between harness runs that start servers at the same
 * time (vitest runs test files and projects in parallel processes).
 *
 * "Bind port 0 and take what the OS gives" is not enough here: the port is free only until the
 * probe closes it, the OS hands the same ephemeral ports to outgoing connections (so a killed
 * server's port can be taken by a client before `restart()`), and a cluster node also needs
 * port + 10000 for its bus. So ports are picked below the ephemeral range, reserved through a file
 * created with O_EXCL (atomic across processes), then checked by binding them.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { onProcessExit, readPidFile } from './cleanup.js'
import { RedisHarnessError } from './errors.js'
import { isProcessAlive, portsDir } from './harness_dir.js'

/** A cluster node's bus listens on its port plus this offset (Redis' default). */
export const clusterBusOffset = 10_000

// Redis' default ports: never handed out, even when free, so a harness server is never mistaken for
// (or by) a developer's own Redis.
const excludedPorts = new Set([6379, 16379, 26379])
const lowestPort = 10_000
const maxAttempts = 200

/** A reserved port (and its cluster bus port), held until `release()`. */
export interface PortReservation {
  /** The reserved port. */
  readonly port: number
  /** `port + 10000`, reserved too when asked for a cluster node. */
  readonly busPort: number | undefined
  /** Gives the port back; idempotent. */
  release(): void
}

/** Options of `reservePort`. */
export interface ReservePortOptions {
  /** Also reserve `port + 10000`, the cluster bus port. Default false. */
  busPort?: boolean
}

/**
 * Finds a free 127.0.0.1 port that no other harness run holds, and reserves it until `release()`
 * (or until this process exits). Never 6379, 16379 or 26379.
 *
 * @throws {RedisHarnessError} `code: 'E_NO_FREE_PORT'` after 200 candidates.
 */
export async function reservePort(options: ReservePortOptions = {}): Promise<PortReservation> {
  const withBus = options.busPort === true
  const [min, max] = candidateRange(withBus)
  const dir = portsDir()
  mkdirSync(dir, { recursive: true })
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const port = min + Math.floor(Math.random() * (max - min + 1))
    const ports = withBus ? [port, port + clusterBusOffset] : [port]
    if (ports.some((p) => excludedPorts.has(p))) continue
    const files = claimAll(dir, ports)
    if (!files) continue
    const releaseFiles = (): void => {
      for (const file of files) releaseFile(file)
    }
    if (!(await allFree(ports))) {
      releaseFiles()
      continue
    }
    const forget = onProcessExit(releaseFiles)
    let released = false
    return {
      port,
      busPort: withBus ? port + clusterBusOffset : undefined,
      release() {
        if (released) return
        released = true
        forget()
        releaseFiles()
      },
    }
  }
  throw new RedisHarnessError(
    'E_NO_FREE_PORT',
    `no free port found in ${min}-${max} after ${maxAttempts} attempts (reservations in ${dir})`,
  )
}

/** True when nothing listens on `port` of 127.0.0.1 (checked by binding it for a moment). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve(true))
    })
  })
}

async function allFree(ports: number[]): Promise<boolean> {
  for (const port of ports) {
    if (!(await isPortFree(port))) return false
  }
  return true
}

/** Creates the reservation file of every port, or none of them. */
function claimAll(dir: string, ports: number[]): string[] | undefined {
  const claimed: string[] = []
  for (const port of ports) {
    const file = join(dir, String(port))
    if (!claim(file)) {
      for (const done of claimed) releaseFile(done)
      return undefined
    }
    claimed.push(file)
  }
  return claimed
}

function claim(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' })
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      // A reservation of a dead run is free for the taking; a live one (or one being written) is not.
      const owner = readPidFile(file)
      if (owner === undefined || isProcessAlive(owner)) return false
      rmSync(file, { force: true })
    }
  }
  return false
}

function releaseFile(file: string): void {
  try {
    // Only our own: a reservation that was reaped and re-claimed by another run is theirs now.
    if (readFileSync(file, 'utf8') === String(process.pid)) rmSync(file, { force: true })
  } catch {
    // Already gone.
  }
}

function candidateRange(withBus: boolean): [number, number] {
  const ephemeralLow = ephemeralRangeStart()
  const max = ephemeralLow - 1 - (withBus ? clusterBusOffset : 0)
  // A machine with an unusually wide ephemeral range leaves too little room below it; fall back to
  // a wide range and rely on the bind check.
  if (max - lowestPort < 2_000) return [lowestPort, 55_000 - (withBus ? clusterBusOffset : 0)]
  return [lowestPort, max]
}

function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)
    const parsed = Number(low)
    if (Number.isInteger(parsed) && parsed > 0) return parsed
  } catch {
    // Not Linux.
  }
  // macOS and Windows use the IANA range 49152-65535.
  return 49_152
}
