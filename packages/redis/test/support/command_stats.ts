import type { Redis } from 'ioredis'

/**
 * Calls of one command since the server started, from INFO commandstats: how the tests count round
 * trips. Use a private server (`startStandalone()`), so the counts are the test's alone.
 */
export async function commandCalls(redis: Redis, command: string): Promise<number> {
  const info = await redis.info('commandstats')
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
}
