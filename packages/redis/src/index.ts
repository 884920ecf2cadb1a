export type {
  Cluster,
  ClusterConnectionOptions,
  CommonConnectionOptions,
  ConnectionOptions,
  Redis,
  RedisHost,
  SentinelConnectionOptions,
  StandaloneConnectionOptions,
} from './connection_options.js'
export { createRedis, parseRedisUrl, reconnectDelay } from './create_redis.js'
export { connectionFromEnv, hasRedisEnv, type RedisEnvironment } from './env.js'
export { RedisConfigError, RedisConnectionError } from './errors.js'
export { redisLock } from './redis_lock.js'
export { type RedisStore, type RedisStoreOptions, redisStore } from './redis_store.js'
export { type RedisTagIndex, type RedisTagIndexOptions, redisTagIndex } from './redis_tag_index.js'
