// Status helpers: Gateway API conditions without lastTransitionTime (stage 1 is deterministic) and the final
// ordering of ResourceStatus entries.

import type { Condition, ObjectMeta } from '../../api/types';
import type { ResourceStatus } from '../ir';
import { compareStrings } from './context';

export function condition(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  meta?: ObjectMeta,
): Condition {
  return {
    type,
    status: ok ? 'True' : 'False',
    reason,
    message,
    ...(meta?.generation !== undefined ? { observedGeneration: meta.generation } : {}),
  };
}

/** A condition that is True only when nothing went wrong; the first failure names the reason. */
export class ConditionBuilder {
  private readonly failures: { reason: string; message: string }[] = [];

  constructor(
    private readonly type: string,
    private readonly okReason: string,
    private readonly okMessage: string,
  ) {}

  fail(reason: string, message: string): void {
    this.failures.push({ reason, message });
  }

  get ok(): boolean {
    return this.failures.length === 0;
  }

  build(meta?: ObjectMeta): Condition {
    if (this.ok) return condition(this.type, true, this.okReason, this.okMessage, meta);
    const messages = [...new Set(this.failures.map((f) => f.message))];
    return condition(this.type, false, this.failures[0].reason, messages.join('; '), meta);
  }
}

/** By kind, then namespace, then name (plain string order, so every consumer can reproduce it). */
export function sortStatuses(statuses: ResourceStatus[]): ResourceStatus[] {
  return [...statuses].sort(
    (a, b) =>
      compareStrings(a.kind, b.kind) ||
      compareStrings(a.namespace, b.namespace) ||
      compareStrings(a.name, b.name),
  );
}
