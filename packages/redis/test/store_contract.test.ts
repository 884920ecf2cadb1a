import { randomUUID } from 'node:crypto'
import { storeContractSuite } from '@cachekit/core/testing'
import { requireTopology } from '@cachekit/redis-harness'
import { inject } from 'vitest'
import { createRedis, redisStore } from '../src/index.js'

const redis = inject('redis')
const standalone = requireTopology(redis, 'standalone')
const cluster = requireTopology(redis, 'cluster')

// Every test gets its own key prefix, so tests never see each other's keys on the shared servers.
storeContractSuite('redis standalone', {
  createStore: () => redisStore({ client: createRedis(standalone.url), prefix: `contract:${randomUUID()}:` }),
})

storeContractSuite('redis cluster (3 masters)', {
  createStore: () =>
    redisStore({
      client: createRedis({ cluster: cluster.startupNodes }),
      prefix: `contract:${randomUUID()}:`,
    }),
})
