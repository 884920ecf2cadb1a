/** The libraries of the stampede workloads, by the names the tables show, behind one `getOrSet`. */
import { bentocache, cachekit, cacheManager } from './libraries.js'

export const STAMPEDE_LIBRARIES = [
  'cachekit',
  'cachekit (lock: distributed)',
  'bentocache',
  'cache-manager',
] as const

export type StampedeLibrary = (typeof STAMPEDE_LIBRARIES)[number]

export interface StampedeCache {
  getOrSet(key: string, factory: () => Promise<unknown>): Promise<unknown>
  close(): Promise<void>
}

/** A tiered cache (L1 + Redis) of `library`; cache-manager's getOrSet is `wrap`. */
export function stampedeCache(library: StampedeLibrary, url: string, prefix: string): StampedeCache {
  switch (library) {
    case 'cachekit':
    case 'cachekit (lock: distributed)': {
      const lock = library === 'cachekit' ? 'local' : 'distributed'
      const cache = cachekit(url, { prefix, lock })
      return { getOrSet: (key, factory) => cache.getOrSet(key, factory), close: () => cache.close() }
    }
    case 'bentocache': {
      const cache = bentocache(url, { prefix })
      return { getOrSet: (key, factory) => cache.getOrSet({ key, factory }), close: () => cache.disconnect() }
    }
    case 'cache-manager': {
      const cache = cacheManager(url, { namespace: prefix })
      return { getOrSet: (key, factory) => cache.wrap(key, factory), close: () => cache.close() }
    }
  }
}
