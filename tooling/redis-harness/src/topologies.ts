/**
 * Starts a selection of topologies at once and describes them as plain data: the work of the vitest
 * globalSetup, kept apart from vitest's API so it can be called (and tested) directly.
 */
import { startCluster } from './cluster.js'
import { RedisHarnessError } from './errors.js'
import { pingUrl } from './probe.js'
import type {
  ProvidedCluster,
  ProvidedRedis,
  ProvidedSentinel,
  ProvidedStandalone,
  RedisTopology,
} from './provided_context.js'
import { startSentinel } from './sentinel.js'
import { startStandalone } from './standalone.js'

type Env = Readonly<Record<string, string | undefined>>

/** Options of `startTopologies`. */
export interface StartTopologiesOptions {
  /** What to start. Default `['standalone']`. */
  topologies?: readonly RedisTopology[]
  /** Where `REDIS_URL` is read from. Default `process.env`. */
  env?: Env
}

/** Topologies started by `startTopologies`. */
export interface StartedTopologies {
  /** Their addresses, as tests get them from `inject('redis')`. */
  readonly provided: ProvidedRedis
  /** Stops every server that was started (never the `REDIS_URL` server). */
  stop(): Promise<void>
}

interface Started<K extends RedisTopology> {
  readonly topology: K
  readonly provided: NonNullable<ProvidedRedis[K]>
  readonly stop: () => Promise<void>
}

/**
 * Starts the selected topologies in parallel. When `REDIS_URL` is set, the standalone topology is
 * that server (checked with a PING) instead of a new one; cluster and sentinel are always started.
 * If one topology fails to start, the others are stopped before the error is thrown.
 */
export async function startTopologies(options: StartTopologiesOptions = {}): Promise<StartedTopologies> {
  const env = options.env ?? process.env
  const selection = options.topologies ?? ['standalone']
  const results = await Promise.allSettled(selection.map((topology) => startOne(topology, env)))
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((each) => each.stop()))
  }
  const failure = results.find((result) => result.status === 'rejected')
  if (failure) {
    await stop()
    throw failure.reason
  }
  const provided: Record<string, unknown> = {}
  for (const each of started) provided[each.topology] = each.provided
  return { provided: provided as ProvidedRedis, stop }
}

function startOne(topology: RedisTopology, env: Env): Promise<Started<RedisTopology>> {
  switch (topology) {
    case 'standalone':
      return env.REDIS_URL ? useExternal(env.REDIS_URL) : startLocalStandalone()
    case 'cluster':
      return startLocalCluster()
    case 'sentinel':
      return startLocalSentinel()
  }
}

async function useExternal(url: string): Promise<Started<'standalone'>> {
  let parsed: URL
  try {
    parsed = new URL(url)
    await pingUrl(url)
  } catch (error) {
    throw new RedisHarnessError('E_REDIS_URL_UNREACHABLE', `REDIS_URL=${redact(url)} does not answer PING`, {
      cause: error,
    })
  }
  const provided: ProvidedStandalone = {
    url,
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 6379,
    external: true,
  }
  return { topology: 'standalone', provided, stop: async () => {} }
}

async function startLocalStandalone(): Promise<Started<'standalone'>> {
  const server = await startStandalone()
  const provided: ProvidedStandalone = {
    url: server.url,
    host: server.host,
    port: server.port,
    external: false,
  }
  return { topology: 'standalone', provided, stop: () => server.stop() }
}

async function startLocalCluster(): Promise<Started<'cluster'>> {
  const cluster = await startCluster()
  const provided: ProvidedCluster = {
    startupNodes: cluster.startupNodes,
    urls: cluster.nodes.map((node) => node.url),
  }
  return { topology: 'cluster', provided, stop: () => cluster.stop() }
}

async function startLocalSentinel(): Promise<Started<'sentinel'>> {
  const sentinel = await startSentinel()
  const provided: ProvidedSentinel = {
    masterName: sentinel.masterName,
    sentinels: sentinel.sentinels,
    master: { host: sentinel.master.host, port: sentinel.master.port },
  }
  return { topology: 'sentinel', provided, stop: () => sentinel.stop() }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(not a URL)'
  }
}
