// The GitHub API client's public surface, in one import:
//   HttpClient              bounded, kept-alive, rate-limit aware transport (http.ts)
//   TokenAuth, AppAuth      credentials; AppAuth signs the app JWT (auth.ts)
//   ActionsServiceClient    runner scale sets over the Actions service (actions-service.ts)
//   batchGenerateJitConfigs many JIT configs, per-item results (jit-batch.ts)
//   withCache               LRU/TTL cache of service promises (cache.ts)
//   GitHubRestClient        webhook delivery log: list, get, getDeliveries (rest.ts)
//   pollScaleSetStatistics  the seven statistics per scale set (scale-set-stats.ts)

// A token given as a Secret stays one: it prints as [redacted] (platform/secret.ts).
export { Secret } from '../platform/secret.js';
export * from './actions-service.js';
export * from './auth.js';
export * from './cache.js';
export * from './config.js';
export * from './errors.js';
export * from './http.js';
export * from './jit-batch.js';
export * from './policy.js';
export * from './rest.js';
export * from './scale-set-stats.js';
