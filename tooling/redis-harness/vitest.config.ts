import { cachekitProject } from '@cachekit/vitest-config'

// Dogfood: the harness' own tests get a standalone server from its globalSetup, the way every
// package's tests do (packages write '@cachekit/redis-harness/vitest-setup' instead of the path).
export default cachekitProject(import.meta.dirname, {
  test: {
    globalSetup: ['./src/vitest_global_setup.ts'],
    provide: { redisTopologies: ['standalone'] },
  },
})
