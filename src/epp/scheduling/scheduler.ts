// The scheduling cycle: the profile handler picks profiles until it has none left, each runs over the candidates,
// and the handler turns the results into the primary target list (reference EPP scheduler.Schedule).

import { performance } from 'node:perf_hooks';
import type { EndpointState } from '../types';
import type { SchedulerProfile } from './profile';
import type {
  PluginTimerFactory,
  ProfileHandler,
  ProfileResult,
  SchedulingRequest,
  SchedulingResult,
} from './types';

export class SchedulingError extends Error {}

export class Scheduler {
  private readonly pickTimer: (s: number) => void;
  private readonly processTimer: (s: number) => void;

  constructor(
    readonly handler: ProfileHandler,
    readonly profiles: readonly SchedulerProfile[],
    timers?: PluginTimerFactory,
  ) {
    this.pickTimer = timers?.('ProfilePicker', handler) ?? (() => {});
    this.processTimer = timers?.('ProcessProfilesResults', handler) ?? (() => {});
  }

  /** Throws SchedulingError when no profile produced a usable result. */
  schedule(req: SchedulingRequest, candidates: readonly EndpointState[]): SchedulingResult {
    const results = new Map<string, ProfileResult | undefined>();
    for (let rounds = 0; rounds < 16; rounds++) {
      const t = performance.now();
      const next = this.handler.pickProfiles(req, this.profiles, results);
      this.pickTimer((performance.now() - t) / 1000);
      if (next.length === 0) break;
      for (const p of next) results.set(p.name, p.run(req, candidates));
    }
    const t = performance.now();
    try {
      return this.handler.processResults(req, results);
    } catch (e) {
      throw e instanceof SchedulingError ? e : new SchedulingError((e as Error).message);
    } finally {
      this.processTimer((performance.now() - t) / 1000);
    }
  }

  /** The primary profile's targets in order. */
  static primaryTargets(result: SchedulingResult): EndpointState[] {
    return result.profileResults.get(result.primaryProfileName)?.targets ?? [];
  }
}
