// core-metrics-extractor: maps engine metric names to queue, running, KV, LoRA and cache info per engine label.

import { DEFAULT_ENGINE, ENGINE_LABEL } from '../../scrape/engines';
import type { PluginRegistration } from '../../scheduling/registry';
import { PluginKind, type Plugin } from '../../scheduling/types';

export interface CoreMetricsExtractor extends Plugin {
  readonly engineLabelKey: string;
  readonly defaultEngine: string;
}

export const CORE_METRICS_EXTRACTOR = new PluginKind<CoreMetricsExtractor>('core-metrics-extractor');

export const coreMetricsExtractor: PluginRegistration = {
  type: 'core-metrics-extractor',
  description:
    'Reads vLLM, SGLang, trtllm-serve and Triton TensorRT-LLM metrics, chosen by the engine-type label.',
  factory: (name, p): CoreMetricsExtractor => {
    const engineLabelKey = p.string('engineLabelKey', ENGINE_LABEL);
    const defaultEngine = p.string('defaultEngine', DEFAULT_ENGINE, [
      'vllm',
      'sglang',
      'trtllm-serve',
      'triton-tensorrt-llm',
    ]);
    if (p.value('engineConfigs') !== undefined)
      p.error('engineConfigs', 'custom engine configs are not supported yet');
    p.finish();
    return {
      type: 'core-metrics-extractor',
      name,
      kinds: [CORE_METRICS_EXTRACTOR],
      engineLabelKey,
      defaultEngine,
    };
  },
};
