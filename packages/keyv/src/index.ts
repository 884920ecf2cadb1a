/**
 * @cachekit/keyv: cachekit under Keyv and cache-manager.
 */
export { CachekitKeyvStore, type KeyvStoreOptions, type KeyvStoreOpts, keyvStore } from './keyv_store.js'
