import { cachekitProject } from '@cachekit/vitest-config'

export default cachekitProject(import.meta.dirname, {
  test: {
    globalSetup: ['@cachekit/redis-harness/vitest-setup'],
    provide: { redisTopologies: ['standalone', 'cluster'] },
    // The reconnect tests kill pub/sub connections on the shared servers; files run one after another
    // so another file's subscriptions are never caught by those kills.
    fileParallelism: false,
  },
})
