/**
 * The vitest globalSetup of the harness: starts the topologies a project selects before its tests
 * run, provides their addresses to the tests, and stops them after.
 *
 * @example
 * // vitest.config.ts of a package
 * export default cachekitProject(import.meta.dirname, {
 *   test: {
 *     globalSetup: ['@cachekit/redis-harness/vitest-setup'],
 *     provide: { redisTopologies: ['standalone', 'cluster'] },
 *   },
 * })
 * // in a test
 * const { url } = requireTopology(inject('redis'), 'standalone')
 */
import type { TestProject } from 'vitest/node'
import { parseTopologies } from './provided_context.js'
import { startTopologies } from './topologies.js'

/**
 * Starts what `test.provide.redisTopologies` selects (default `['standalone']`; with `REDIS_URL`
 * set, standalone is that server), provides it as `inject('redis')`, and returns the teardown.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const topologies = parseTopologies(project.getProvidedContext().redisTopologies)
  const started = await startTopologies({ topologies })
  project.provide('redis', started.provided)
  return () => started.stop()
}
