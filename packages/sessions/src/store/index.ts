/**
 * @cachekit/sessions/store: a store for express-session and @fastify/session on ioredis, with
 * connect-redis v8's options.
 */
export { RedisStore, type RedisStoreOptions, type Serializer } from './redis_store.js'
