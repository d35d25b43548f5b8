// Which resources of one type a stream asked for, following the xDS spec's rules: an empty first request is
// a legacy wildcard (until a name is sent), "*" is an explicit wildcard, and delta adds/removes names.

export class Subscription {
  wildcard = false;
  readonly names = new Set<string>();
  private started = false;
  private legacyWildcard = false;

  /** SotW: every request carries the full list of names. */
  setSotw(resourceNames: readonly string[]): void {
    const first = !this.started;
    this.started = true;
    this.names.clear();
    let explicit = false;
    for (const n of resourceNames) {
      if (n === '*') explicit = true;
      else this.names.add(n);
    }
    if (first && resourceNames.length === 0) this.legacyWildcard = true;
    else if (resourceNames.length > 0) this.legacyWildcard = false;
    this.wildcard = explicit || this.legacyWildcard;
  }

  /** Delta: names are added and removed; returns the names newly subscribed (without "*"). */
  applyDelta(subscribe: readonly string[], unsubscribe: readonly string[]): string[] {
    const first = !this.started;
    this.started = true;
    if (first && subscribe.length === 0) {
      this.legacyWildcard = true;
      this.wildcard = true;
    }
    const added: string[] = [];
    for (const n of subscribe) {
      if (n === '*') {
        this.wildcard = true;
        continue;
      }
      if (this.legacyWildcard) {
        // Naming resources ends a legacy wildcard unless "*" is named too.
        this.legacyWildcard = false;
        this.wildcard = subscribe.includes('*');
      }
      if (!this.names.has(n)) added.push(n);
      this.names.add(n);
    }
    for (const n of unsubscribe) {
      if (n === '*') {
        this.wildcard = false;
        this.legacyWildcard = false;
      } else this.names.delete(n);
    }
    return added;
  }

  /** Whether a resource of this name is in scope for this stream. */
  covers(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }
}
