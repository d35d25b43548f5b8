// Plugins by type name (reference EPP fwkplugin.Register): each built-in registers a factory and a one-line
// description; the config loader instantiates them by `type`.

import type { Params } from '../config/params';
import type { PrefixIndexer } from '../prefix/indexer';
import type { RandomSource } from './random';
import type { Plugin } from './types';

/** What factories may use besides their parameters. */
export interface PluginDeps {
  random: RandomSource;
  /** ms since epoch */
  now: () => number;
  /** Reports the prefix indexer size after updates (inference_extension_prefix_indexer_size). */
  onPrefixIndexSize?: (size: number) => void;
  /** Shared by the prefix producer and scorer when both are configured. */
  prefixIndexer?: PrefixIndexer;
}

export type PluginFactory = (name: string, params: Params, deps: PluginDeps) => Plugin;

export interface PluginRegistration {
  type: string;
  /** One line: what the plugin does. */
  description: string;
  factory: PluginFactory;
  /** Data producers are instantiated before every other plugin, so consumers built after them can bind to them. */
  producer?: boolean;
}

export class PluginRegistry {
  private readonly byType = new Map<string, PluginRegistration>();

  register(reg: PluginRegistration): this {
    if (this.byType.has(reg.type)) throw new Error(`plugin type ${reg.type} registered twice`);
    this.byType.set(reg.type, reg);
    return this;
  }

  get(type: string): PluginRegistration | undefined {
    return this.byType.get(type);
  }

  types(): string[] {
    return [...this.byType.keys()].sort();
  }
}
