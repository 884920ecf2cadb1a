#!/usr/bin/env node
// Checks the release plan that `pnpm changeset version` would apply, from every changeset in
// .changeset/ (no git needed, unlike `changeset status`, which compares with `main`):
//  - no package leaves 0.x unless a changeset asks for its major. A peer range left behind by a
//    0.x minor used to turn every dependent into 1.0.0 (see CONTRIBUTING.md, "Releasing");
//  - the plan it prints is what the next release publishes.
import getReleasePlanModule from '@changesets/get-release-plan'

const getReleasePlan = getReleasePlanModule.default ?? getReleasePlanModule
const root = new URL('../..', import.meta.url).pathname
const plan = await getReleasePlan(root)

const askedMajor = new Set(
  plan.changesets.flatMap((changeset) =>
    changeset.releases.filter((release) => release.type === 'major').map((release) => release.name),
  ),
)
const failures = []
for (const release of plan.releases) {
  if (release.type === 'none') continue
  console.log(`${release.name} ${release.oldVersion} -> ${release.newVersion} (${release.type})`)
  const leavesZero = release.oldVersion.startsWith('0.') && !release.newVersion.startsWith('0.')
  if (leavesZero && !askedMajor.has(release.name)) {
    failures.push(`${release.name} would go to ${release.newVersion}, but no changeset asks for its major`)
  }
}
if (plan.releases.length === 0) console.log('no changesets: the next release publishes nothing')

if (failures.length > 0) {
  console.error(`\n${failures.join('\n')}`)
  process.exit(1)
}
