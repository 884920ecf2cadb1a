export type {
  PatternSubscribeOptions,
  PublishOptions,
  RedisBusLoss,
  RedisBusOptions,
  RedisBusStats,
  SubscribeOptions,
} from './bus_options.js'
export { MalformedMessageError } from './errors.js'
export { type RedisBus, redisBus } from './redis_bus.js'
export { type Routes, route } from './route.js'
export {
  type StreamConsumer,
  type StreamConsumerOptions,
  type StreamConsumerStats,
  type StreamEntry,
  type StreamHandler,
  streamConsumer,
} from './stream_consumer.js'
