// The built-in plugins, registered under the reference EPP's type names.

import { PluginRegistry } from '../scheduling/registry';
import { activeRequestScorer } from './active-request-scorer';
import { approxPrefixCacheProducer } from './approx-prefix-cache-producer';
import { alwaysDisaggPdDecider } from './always-disagg-pd-decider';
import { concurrencyDetector } from './concurrency-detector';
import { coreMetricsExtractor } from './core-metrics-extractor';
import { decodeFilter } from './decode-filter';
import { edfOrderingPolicy } from './edf-ordering-policy';
import { fcfsOrderingPolicy } from './fcfs-ordering-policy';
import { globalStrictFairnessPolicy } from './global-strict-fairness-policy';
import { headerBasedTestingFilter } from './header-based-testing-filter';
import { inflightLoadProducer } from './inflight-load-producer';
import { kvCacheUtilizationScorer } from './kv-cache-utilization-scorer';
import { loraAffinityScorer } from './lora-affinity-scorer';
import { maxScorePicker } from './max-score-picker';
import { metricsDataSource } from './metrics-data-source';
import { openaiParser } from './openai-parser';
import { disaggProfileHandler, pdProfileHandler } from './pd-profile-handler';
import { prefillFilter } from './prefill-filter';
import { prefixBasedPdDecider } from './prefix-based-pd-decider';
import { prefixCacheScorer } from './prefix-cache-scorer';
import { queueScorer } from './queue-scorer';
import { randomPicker } from './random-picker';
import { roundRobinFairnessPolicy } from './round-robin-fairness-policy';
import { runningRequestsSizeScorer } from './running-requests-size-scorer';
import { singleProfileHandler } from './single-profile-handler';
import { staticUsageLimitPolicy } from './static-usage-limit-policy';
import { tokenLoadScorer } from './token-load-scorer';
import { utilizationDetector } from './utilization-detector';
import { weightedRandomPicker } from './weighted-random-picker';

export const BUILTIN_PLUGINS = [
  queueScorer,
  kvCacheUtilizationScorer,
  prefixCacheScorer,
  approxPrefixCacheProducer,
  loraAffinityScorer,
  runningRequestsSizeScorer,
  inflightLoadProducer,
  tokenLoadScorer,
  activeRequestScorer,
  maxScorePicker,
  randomPicker,
  weightedRandomPicker,
  singleProfileHandler,
  headerBasedTestingFilter,
  utilizationDetector,
  metricsDataSource,
  coreMetricsExtractor,
  openaiParser,
  concurrencyDetector,
  globalStrictFairnessPolicy,
  roundRobinFairnessPolicy,
  fcfsOrderingPolicy,
  edfOrderingPolicy,
  staticUsageLimitPolicy,
  prefillFilter,
  decodeFilter,
  alwaysDisaggPdDecider,
  prefixBasedPdDecider,
  pdProfileHandler,
  disaggProfileHandler,
];

export function builtinRegistry(): PluginRegistry {
  const r = new PluginRegistry();
  for (const p of BUILTIN_PLUGINS) r.register(p);
  return r;
}
