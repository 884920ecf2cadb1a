import type { UserWorkspaceConfig } from 'vitest/config'

/** The shared vitest project config; `dir` is the package folder (`import.meta.dirname`). */
export function cachekitProject(dir: string, overrides?: UserWorkspaceConfig): UserWorkspaceConfig
