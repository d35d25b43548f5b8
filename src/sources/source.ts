// The one source abstraction: where resources come from (files today, Kubernetes informers next), as seen by
// the control plane's pipeline and the EPP's datastore alike. A source delivers every good resource plus the
// ones it rejected, each rejected alone; neither consumer knows where the resources came from.

import type { ResourceId } from '../api/load';
import type { Problem, ResourceSet } from '../api/types';

export type { ResourceId };

/** A document (or object) that failed to load or validate: left out, or served at its last good version. */
export interface Rejection {
  /** Who it says it is; absent when that cannot be read (a YAML syntax error, no kind or no name). */
  id?: ResourceId;
  /** "HTTPRoute default/r", as problems name resources. */
  resource?: string;
  file?: string;
  document?: number;
  /** Its errors, each with a field path where there is one. */
  problems: Problem[];
  /**
   * The resources served at their last good version because of this rejection: the named resource if it loaded
   * before, or (when the identity is unknown) every resource its file contributed before; empty when none.
   */
  kept: string[];
}

/** A change to the served set, keyed by kind/namespace/name (an informer's add/update/delete). */
export interface ResourceChange {
  type: 'add' | 'update' | 'delete';
  id: ResourceId;
}

export interface SourceState {
  /** Every resource served: the good ones, and the last good version of each one that broke. */
  resources: ResourceSet;
  rejected: Rejection[];
  warnings: Problem[];
  /** What changed in `resources` since the previous state this source delivered (all adds at first). */
  changes: ResourceChange[];
}

export interface ResourceSource {
  /** Delivers the current state before resolving, then again after every change, until stop(). */
  start(onChange: (state: SourceState) => void): Promise<void>;
  stop(): void;
  /** Re-reads now and delivers the result, where the source can (files are re-read; informers would re-list). */
  refresh?(): void;
}
