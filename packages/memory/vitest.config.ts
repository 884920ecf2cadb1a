import { cachekitProject } from '@cachekit/vitest-config'

export default cachekitProject(import.meta.dirname)
