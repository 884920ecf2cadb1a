import type { Options } from 'tsup'

export declare const libraryOptions: Options
declare const config: Options
export default config
