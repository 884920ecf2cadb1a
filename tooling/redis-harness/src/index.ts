/**
 * @cachekit/redis-harness: real redis-server processes for tests (standalone, cluster, sentinel),
 * on free 127.0.0.1 ports, with kill and restart for fault tests.
 */
export { type ReapReport, reapLeftovers } from './cleanup.js'
export {
  type ClusterOptions,
  type RedisClusterHandle,
  type RedisClusterNode,
  startCluster,
} from './cluster.js'
export type { SlotRange } from './cluster_view.js'
export {
  RedisHarnessError,
  type RedisHarnessErrorCode,
  type RedisHarnessErrorOptions,
  RedisServerMissingError,
} from './errors.js'
export { isPortFree, type PortReservation, type ReservePortOptions, reservePort } from './free_port.js'
export {
  type ProvidedCluster,
  type ProvidedRedis,
  type ProvidedSentinel,
  type ProvidedStandalone,
  type RedisTopology,
  requireTopology,
} from './provided_context.js'
export { findRedisCli, findRedisServer } from './redis_binary.js'
export type { HostAndPort, RedisNode, RedisNodeRole } from './redis_node.js'
export type { RedisSentinelHandle, RedisSentinelNode, SentinelOptions } from './sentinel.js'
export { startSentinel } from './sentinel.js'
export type { RedisServerHandle, StandaloneOptions } from './standalone.js'
export { startStandalone } from './standalone.js'
export { type StartedTopologies, type StartTopologiesOptions, startTopologies } from './topologies.js'
