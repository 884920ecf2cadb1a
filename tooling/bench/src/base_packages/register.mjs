/**
 * `--import` this file (src/ab.ts puts it in NODE_OPTIONS, so the bench's child processes get it
 * too) to run the bench against another tree's cachekit packages: every `@cachekit/*` import except
 * the Redis harness resolves from `CACHEKIT_BENCH_PACKAGES_FROM` (a package.json of that tree, e.g.
 * its tooling/bench/package.json), everything else (the bench code, the peers, ioredis) from here.
 * Plain JavaScript: it is loaded before tsx.
 */
import { register } from 'node:module'

const from = process.env.CACHEKIT_BENCH_PACKAGES_FROM
if (!from) throw new Error('[bench] base_packages/register.mjs needs CACHEKIT_BENCH_PACKAGES_FROM')
register('./resolve.mjs', import.meta.url, { data: { parentURL: new URL(`file://${from}`).href } })
