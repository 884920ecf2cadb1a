import { libraryOptions } from '@cachekit/tsup-config'
import { defineConfig } from 'tsup'

// Two entries: the session manager, and the express-session / @fastify/session store, which alone
// imports express-session (an optional peer), so the manager never needs it installed.
export default defineConfig({
  ...libraryOptions,
  entry: { index: 'src/index.ts', store: 'src/store/index.ts' },
})
