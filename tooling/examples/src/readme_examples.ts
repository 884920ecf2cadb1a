/**
 * Finds the TypeScript examples of the READMEs a user reads (the root one and every package's), and
 * what each one imports, so each can be installed, compiled and run by itself.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'

/** One ```ts block of a README. */
export interface ReadmeExample {
  /** The README, relative to the repo root (`packages/core/README.md`). */
  readonly readme: string
  /** 1-based line of the opening fence. */
  readonly line: number
  /** The code between the fences. */
  readonly code: string
  /** Packages it imports (`@cachekit/core`, `ioredis`), without Node's built-in modules. */
  readonly packages: readonly string[]
  /**
   * Why it is not a program, when the README marks it with `<!-- fragment: why -->` on the line
   * before the fence (a vitest file, a config file, a type listing); such blocks are not run.
   */
  readonly fragment: string | undefined
  /** A file-name-safe id: `core-15`, `root-10`. */
  readonly id: string
}

/** The root README and the README of every package under `packages/`, as repo-relative paths. */
export function readmeFiles(root: string): string[] {
  const packages = readdirSync(join(root, 'packages'))
    .sort()
    .map((folder) => `packages/${folder}/README.md`)
    .filter((path) => existsSync(join(root, path)))
  return ['README.md', ...packages]
}

const fragmentMarker = /^<!--\s*fragment:\s*(.+?)\s*-->$/

/** Every ```ts block of `readme` (relative to `root`), in order. */
export function readmeExamples(root: string, readme: string): ReadmeExample[] {
  const lines = readFileSync(join(root, readme), 'utf8').split('\n')
  const folder = readme === 'README.md' ? 'root' : readme.split('/')[1]
  const examples: ReadmeExample[] = []
  for (let index = 0; index < lines.length; index++) {
    const fence = /^(\s*)```(\w*)\s*$/.exec(lines[index] ?? '')
    if (!fence) continue
    const end = lines.findIndex((line, at) => at > index && line.trim() === '```')
    if (end === -1) throw new Error(`${readme}:${index + 1}: a code block is never closed`)
    if (fence[2] === 'ts') {
      const code = lines.slice(index + 1, end).join('\n')
      const previous = lines
        .slice(0, index)
        .reverse()
        .find((line) => line.trim() !== '')
      examples.push({
        readme,
        line: index + 1,
        code,
        packages: importedPackages(code),
        fragment: fragmentMarker.exec(previous?.trim() ?? '')?.[1],
        id: `${folder}-${index + 1}`,
      })
    }
    index = end
  }
  return examples
}

const builtins = new Set(builtinModules)

/** Package names a module imports (`import ... from 'x'`, `import 'x'`), deduplicated, sorted. */
export function importedPackages(code: string): string[] {
  const names = new Set<string>()
  for (const match of code.matchAll(
    /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm,
  )) {
    const specifier = match[1] ?? match[2]
    if (!specifier || specifier.startsWith('.') || specifier.startsWith('node:')) continue
    const parts = specifier.split('/')
    const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier)
    if (!builtins.has(name)) names.add(name)
  }
  return [...names].sort()
}

/** The packages named by each `pnpm add` line in the ```sh blocks of `readme`. */
export function installLines(root: string, readme: string): string[][] {
  const text = readFileSync(join(root, readme), 'utf8')
  const lines: string[][] = []
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      const install = /^\s*pnpm add\s+(.+)$/.exec(line.replace(/#.*$/, ''))
      if (install) lines.push((install[1] ?? '').split(/\s+/).filter((word) => word && !word.startsWith('-')))
    }
  }
  return lines
}
