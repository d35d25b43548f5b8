// Where pool resources come from. The file source re-reads its paths (via the api loader) whenever they change,
// debounced, so updates apply without a restart; a Kubernetes source would implement the same interface.

import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadPaths } from '../../api/load';
import { formatProblem, type Problem, type ResourceSet } from '../../api/types';
import { logger } from '../../util/log';

const log = logger('epp.datastore');

export interface PoolSource {
  /** Delivers the current resources before resolving, then again on every change until stop(). */
  start(onResources: (resources: ResourceSet) => void): Promise<void>;
  stop(): void;
}

export interface FileSourceOptions {
  /** Quiet period after the last file event before re-reading (default 100 ms). */
  debounceMs?: number;
  onProblems?: (problems: Problem[]) => void;
}

export class FilePoolSource implements PoolSource {
  private watchers: FSWatcher[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    readonly paths: string[],
    private readonly opts: FileSourceOptions = {},
  ) {}

  async start(onResources: (resources: ResourceSet) => void): Promise<void> {
    const reload = () => {
      const { resources, problems } = loadPaths(this.paths);
      if (problems.length > 0) {
        this.opts.onProblems?.(problems);
        for (const p of problems) log.warn('resource problem', { problem: formatProblem(p) });
      }
      onResources(resources);
    };
    reload();
    const schedule = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(reload, this.opts.debounceMs ?? 100);
    };
    for (const p of this.paths) {
      // Watch a file's directory: editors and ConfigMap updates replace files, which ends a watch on the file.
      const isDir = statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
      const dir = isDir ? p : dirname(p);
      const name = basename(p);
      try {
        const w = watch(dir, { recursive: isDir }, (_event, file) => {
          if (isDir || !file || file === name) schedule();
        });
        w.on('error', (err) => log.warn('watch failed', { path: p, err }));
        this.watchers.push(w);
      } catch (err) {
        log.warn('cannot watch', { path: p, err });
      }
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}
