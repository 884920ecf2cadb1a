import { storeContractSuite } from '../src/testing/index.js'
import { MapStore } from './support/map_store.js'

// The suite is checked against a second, trivially correct store, so a bug in the suite itself
// shows up here and not only as a mysterious failure of memory or Redis.
storeContractSuite('map (test support)', { createStore: () => new MapStore<Uint8Array>() })
