// The built-in plugins, registered under the reference EPP's type names.

import { PluginRegistry } from '../scheduling/registry';
import { approxPrefixCacheProducer } from './approx-prefix-cache-producer';
import { alwaysDisaggPdDecider } from './always-disagg-pd-decider';
import { coreMetricsExtractor } from './core-metrics-extractor';
import { decodeFilter } from './decode-filter';
import { headerBasedTestingFilter } from './header-based-testing-filter';
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
import { runningRequestsSizeScorer } from './running-requests-size-scorer';
import { singleProfileHandler } from './single-profile-handler';
import { utilizationDetector } from './utilization-detector';
import { weightedRandomPicker } from './weighted-random-picker';

export const BUILTIN_PLUGINS = [
  queueScorer,
  kvCacheUtilizationScorer,
  prefixCacheScorer,
  approxPrefixCacheProducer,
  loraAffinityScorer,
  runningRequestsSizeScorer,
  maxScorePicker,
  randomPicker,
  weightedRandomPicker,
  singleProfileHandler,
  headerBasedTestingFilter,
  utilizationDetector,
  metricsDataSource,
  coreMetricsExtractor,
  openaiParser,
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
