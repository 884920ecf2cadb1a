#!/usr/bin/env node
// Checks that every published package is fit to publish, from its built `dist`:
//  1. `publint --strict` and `attw --pack` are clean (the package's own `publint` script);
//  2. `import` and `require` of every entry point expose the same names, so ESM and CJS users get
//     one API (a tsup or exports mistake shows up here before a user finds it);
//  3. the tarball `pnpm pack` would publish holds the LICENSE (a copy of the root one, kept identical
//     here: npm takes a package's LICENSE from its own folder only), the README and the build.
// Run `pnpm build` first; `pnpm check:packages` does both.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const root = resolve(import.meta.dirname, '../..')
const packagesDir = join(root, 'packages')
const license = readFileSync(join(root, 'LICENSE'), 'utf8')
const failures = []

for (const folder of readdirSync(packagesDir).sort()) {
  const dir = join(packagesDir, folder)
  const manifestPath = join(dir, 'package.json')
  if (!existsSync(manifestPath)) continue
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
  if (manifest.private) continue
  console.log(`\n== ${manifest.name}`)
  const licensePath = join(dir, 'LICENSE')
  if (!existsSync(licensePath) || readFileSync(licensePath, 'utf8') !== license) {
    failures.push(`${manifest.name}: LICENSE differs from the root one (cp LICENSE packages/${folder}/)`)
  }
  const packed = JSON.parse(
    execFileSync('pnpm', ['pack', '--dry-run', '--json'], { cwd: dir, encoding: 'utf8' }),
  ).files.map((file) => file.path)
  const missing = ['LICENSE', 'README.md', 'package.json', manifest.main.replace(/^\.\//, '')].filter(
    (path) => !packed.includes(path),
  )
  if (missing.length > 0) failures.push(`${manifest.name}: the tarball lacks ${missing.join(', ')}`)
  else console.log(`tarball: ${packed.length} files, LICENSE and README included`)
  try {
    execFileSync('pnpm', ['run', '--silent', 'publint'], { cwd: dir, stdio: 'inherit' })
  } catch {
    failures.push(`${manifest.name}: publint/attw failed`)
  }
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (subpath === './package.json' || typeof target !== 'object') continue
    if (!target.require) {
      console.log(`${subpath}: ESM-only entry, no parity to check`)
      continue
    }
    const esmFile = join(dir, target.import.default)
    const cjsFile = join(dir, target.require.default)
    let esmNames
    let cjsNames
    try {
      esmNames = Object.keys(await import(pathToFileURL(esmFile).href)).sort()
      cjsNames = Object.keys(createRequire(cjsFile)(cjsFile))
        .filter((name) => name !== '__esModule' && name !== 'default')
        .sort()
    } catch (error) {
      failures.push(`${manifest.name} ${subpath}: could not load the build (${error.message})`)
      continue
    }
    const onlyEsm = esmNames.filter((name) => !cjsNames.includes(name))
    const onlyCjs = cjsNames.filter((name) => !esmNames.includes(name))
    if (onlyEsm.length + onlyCjs.length > 0) {
      failures.push(`${manifest.name} ${subpath}: only in ESM [${onlyEsm}], only in CJS [${onlyCjs}]`)
    } else {
      console.log(`import/require parity ${subpath}: ${esmNames.length} names`)
    }
  }
}

if (failures.length > 0) {
  console.error(`\n${failures.length} package check(s) failed:\n${failures.join('\n')}`)
  process.exit(1)
}
console.log('\nall packages publish cleanly')
