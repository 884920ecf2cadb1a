export type { BusStatsSource, L1StatsSource } from './cache_source.js'
export {
  type DashboardOptions,
  dashboardEndpoints,
  expressDashboard,
  fastifyDashboard,
} from './dashboard_handlers.js'
export type {
  DashboardCache,
  DashboardLatency,
  DashboardRedisNode,
  DashboardSnapshot,
} from './dashboard_snapshot.js'
export {
  type EndpointResponse,
  expressMonitoring,
  type FastifyLike,
  type FastifyReplyLike,
  fastifyMonitoring,
  MONITORING_ROUTES,
  type MonitoringEndpointsOptions,
  monitoringEndpoints,
  toOpenMetrics,
  wantsOpenMetrics,
} from './endpoints.js'
export { MetricsRegistrationError, MonitoringOptionError } from './errors.js'
export {
  type CheckHealthOptions,
  checkHealth,
  checkLiveness,
  checkReadiness,
  HEALTH_CONTENT_TYPE,
  type HealthCheckResult,
  type HealthReport,
  type HealthStatus,
  type HealthThresholds,
  healthStatusCode,
} from './health.js'
export { type KeyGroups, MAX_GROUPS, OTHER_GROUP } from './key_groups.js'
export { DEFAULT_BUCKETS, METRICS, type MetricName, metricNames } from './metric_names.js'
export { type CacheMetrics, type CacheMetricsOptions, cacheMetrics } from './metrics.js'
export {
  type OpenTelemetryBridge,
  type OpenTelemetryBridgeOptions,
  openTelemetryBridge,
  type SpanLike,
  type TracerLike,
} from './opentelemetry.js'
export {
  type OperationLog,
  type OperationLogOptions,
  operationLog,
  type SlowOperation,
} from './operation_log.js'
export {
  RATE_LIMIT_METRICS,
  type RateLimiterSource,
  type RateLimitMetrics,
  type RateLimitMetricsOptions,
  rateLimitMetrics,
} from './rate_limit_metrics.js'
export type { RedisClusterInfoClient, RedisInfoClient, RedisMonitoredClient } from './redis_info.js'
export type { WindowSummary } from './rolling_window.js'
export {
  SESSION_METRICS,
  type SessionMetrics,
  type SessionMetricsOptions,
  type SessionsSource,
  sessionMetrics,
} from './session_metrics.js'
