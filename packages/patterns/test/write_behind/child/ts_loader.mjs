// Lets a plain `node` child process run write-behind from its TypeScript source (Node 20 cannot),
// with `@cachekit/*` mapped to each package's src, as the vitest config does. Transpile only, no type
// check: `tsc --noEmit` does that.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const packages = new URL('../../../../', import.meta.url)

export async function resolve(specifier, context, next) {
  const workspace = /^@cachekit\/([a-z-]+)$/.exec(specifier)
  if (workspace) {
    const source = new URL(`${workspace[1]}/src/index.ts`, packages)
    if (existsSync(fileURLToPath(source))) return { url: source.href, shortCircuit: true }
  }
  // Our sources import './x.js' and mean './x.ts'.
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL)
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true }
  }
  return next(specifier, context)
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context)
  const fileName = fileURLToPath(url)
  const { outputText } = ts.transpileModule(await readFile(fileName, 'utf8'), {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
    },
  })
  return { format: 'module', source: outputText, shortCircuit: true }
}
