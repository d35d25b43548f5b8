// EndpointPickerConfig (inference.networking.x-k8s.io/v1alpha1), as read from --config-file.

export const CONFIG_API_VERSION = 'inference.networking.x-k8s.io/v1alpha1';
export const CONFIG_KIND = 'EndpointPickerConfig';

export interface PluginSpec {
  /** Defaults to the type. */
  name: string;
  type: string;
  parameters?: unknown;
  /** Where it was declared (plugins[i]), for error messages. */
  path: string;
}

export interface ProfilePluginRef {
  pluginRef: string;
  weight?: number;
}

export interface ProfileSpec {
  name: string;
  plugins: ProfilePluginRef[];
}

export interface EndpointPickerConfig {
  apiVersion: string;
  kind: string;
  featureGates: string[];
  plugins: PluginSpec[];
  schedulingProfiles: ProfileSpec[];
  saturationDetector?: { pluginRef: string };
  dataLayer?: { sources: { pluginRef: string; extractors: { pluginRef: string }[] }[] };
  parser?: { pluginRef: string };
  /** Present only with `featureGates: [flowControl]` (the loader refuses it otherwise). */
  flowControl?: FlowControlSpec;
}

export const FLOW_CONTROL_GATE = 'flowControl';
export const DEFAULT_BAND_MAX_BYTES = 1_000_000_000;
export const DEFAULT_FAIRNESS_POLICY = 'global-strict-fairness-policy';
export const DEFAULT_ORDERING_POLICY = 'fcfs-ordering-policy';
export const DEFAULT_USAGE_LIMIT_POLICY = 'static-usage-limit-policy';

/** One priority band (or the template for priorities no band names), defaults applied. */
export interface PriorityBandSpec {
  priority: number;
  maxBytes: number;
  /** Undefined = unlimited. */
  maxRequests?: number;
  fairnessPolicyRef: string;
  orderingPolicyRef: string;
  /** Where it was declared, for error messages (flowControl.priorityBands[i]). */
  path: string;
}

/** The upstream `flowControl` block, defaults applied (FlowControlConfig in endpointpickerconfig_types.go). */
export interface FlowControlSpec {
  /** Global limits; undefined = none. */
  maxBytes?: number;
  maxRequests?: number;
  /** 0 = no TTL beyond the client's own deadline. */
  defaultRequestTTLMs: number;
  defaultPriorityBand: Omit<PriorityBandSpec, 'priority'>;
  priorityBands: PriorityBandSpec[];
  usageLimitPolicyPluginRef: string;
}

export class EppConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid EndpointPickerConfig:\n  ${problems.join('\n  ')}`);
  }
}
