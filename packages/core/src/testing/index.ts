export { type StoreContractOptions, storeContractSuite } from './store_contract_suite.js'
export { type TagIndexContractOptions, tagIndexContractSuite } from './tag_index_contract_suite.js'
