import { cachekitProject } from '@cachekit/vitest-config'

export default cachekitProject(import.meta.dirname, {
  test: {
    globalSetup: ['@cachekit/redis-harness/vitest-setup'],
    provide: { redisTopologies: ['standalone', 'cluster'] },
  },
})
