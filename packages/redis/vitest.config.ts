import { cachekitProject } from '@cachekit/vitest-config'

export default cachekitProject(import.meta.dirname, {
  test: {
    globalSetup: ['@cachekit/redis-harness/vitest-setup'],
    provide: { redisTopologies: ['standalone', 'cluster', 'sentinel'] },
    // Fault tests kill servers and time recoveries; running them beside the rest on 2 cores makes
    // their timing noisy, so files run one after another.
    fileParallelism: false,
  },
})
