export { type StoreContractOptions, storeContractSuite } from './store_contract_suite.js'
