import { register } from 'node:module'

register('./ts_loader.mjs', import.meta.url)
