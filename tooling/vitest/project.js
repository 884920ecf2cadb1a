// The one vitest project config every package reuses: tests import `@cachekit/*` straight from
// `src`, so the suite runs without a build and a stale `dist` can never hide a bug.
import { existsSync, readdirSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineProject, mergeConfig } from 'vitest/config'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** Maps every workspace package name (and its `testing` subpath) to its TypeScript source. */
function workspaceAliases() {
  const aliases = []
  for (const group of ['packages', 'tooling']) {
    const groupDir = join(repoRoot, group)
    for (const folder of readdirSync(groupDir)) {
      const src = join(groupDir, folder, 'src')
      if (!existsSync(join(src, 'index.ts'))) continue
      const name = `@cachekit/${basename(folder)}`
      if (existsSync(join(src, 'testing', 'index.ts'))) {
        aliases.push({ find: `${name}/testing`, replacement: join(src, 'testing', 'index.ts') })
      }
      aliases.push({ find: new RegExp(`^${name}$`), replacement: join(src, 'index.ts') })
    }
  }
  return aliases
}

/**
 * @param {string} dir the package folder (pass `import.meta.dirname`)
 * @param {import('vitest/config').UserWorkspaceConfig} [overrides]
 */
export function cachekitProject(dir, overrides = {}) {
  const base = defineProject({
    resolve: { alias: workspaceAliases() },
    test: {
      name: basename(dir),
      root: dir,
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      testTimeout: 20_000,
      hookTimeout: 60_000,
    },
  })
  return mergeConfig(base, overrides)
}
