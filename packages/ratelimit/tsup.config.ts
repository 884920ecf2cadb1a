export { default } from '@cachekit/tsup-config'
