import { cachekitProject } from '@cachekit/vitest-config'
import ts from 'typescript'

const testDir = `${import.meta.dirname}/test/`

export default cachekitProject(import.meta.dirname, {
  plugins: [
    {
      // Oxc, which Vite 8 uses to strip TypeScript, transforms legacy decorators only: it leaves
      // standard (TC39) `@decorator` syntax in place, which Node cannot run. Test files that use
      // `@Cached` or `@CacheInvalidate` are lowered by TypeScript itself first, as `tsc` would.
      name: 'cachekit:standard-decorators',
      enforce: 'pre',
      transform(code: string, id: string) {
        if (!id.startsWith(testDir) || !id.endsWith('.ts') || !/^\s*@[\w$]/m.test(code)) return null
        const output = ts.transpileModule(code, {
          fileName: id,
          compilerOptions: {
            target: ts.ScriptTarget.ES2022,
            module: ts.ModuleKind.ESNext,
            verbatimModuleSyntax: true,
            sourceMap: true,
          },
        })
        return {
          code: output.outputText.replace(/\n\/\/# sourceMappingURL=.*$/, ''),
          map: output.sourceMapText,
        }
      },
    },
  ],
  test: {
    globalSetup: ['@cachekit/redis-harness/vitest-setup'],
    provide: { redisTopologies: ['standalone', 'cluster'] },
    fileParallelism: false,
  },
})
