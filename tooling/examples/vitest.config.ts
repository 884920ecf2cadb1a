import { cachekitProject } from '@cachekit/vitest-config'

export default cachekitProject(import.meta.dirname, {
  test: {
    globalSetup: ['@cachekit/redis-harness/vitest-setup'],
    provide: { redisTopologies: ['standalone'] },
    // The suite builds, packs and npm-installs consumer projects once, before its tests.
    hookTimeout: 600_000,
    testTimeout: 60_000,
  },
})
