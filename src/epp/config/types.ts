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
}

export class EppConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid EndpointPickerConfig:\n  ${problems.join('\n  ')}`);
  }
}
