// The file implementation of ResourceSource: each file is an origin of the shared store, re-parsed only when
// its text changed, watched by the one file watcher (files.ts). A path that cannot be read keeps what it
// contributed before; a file that is deleted from a watched directory takes its resources with it.

import { readFileSync } from 'node:fs';
import { sep } from 'node:path';
import { listFiles, parseFile, unreadable, type DocumentResult } from '../api/load';
import type { Problem } from '../api/types';
import { resourceName } from '../api/validate';
import { watchFiles, type FileWatcher } from './files';
import type { ResourceSource, SourceState } from './source';
import { ResourceStore, type OriginContents } from './store';

export interface FileSourceOptions {
  /** Quiet period after the last file event before re-reading (default 100 ms). */
  debounceMs?: number;
  /** Watch the paths (default true); without it, only start() and refresh() read them. */
  watch?: boolean;
}

export class FileSource implements ResourceSource {
  private readonly store = new ResourceStore();
  /** The text each origin was last parsed from: unchanged files are not parsed again. */
  private readonly texts = new Map<string, string>();
  private watcher?: FileWatcher;
  private onChange?: (state: SourceState) => void;

  constructor(
    readonly paths: string[],
    private readonly opts: FileSourceOptions = {},
  ) {}

  async start(onChange: (state: SourceState) => void): Promise<void> {
    this.onChange = onChange;
    this.refresh();
    if (this.opts.watch !== false)
      this.watcher = watchFiles(this.paths, () => this.refresh(), this.opts.debounceMs);
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.onChange = undefined;
  }

  /** Re-reads the paths now and delivers the new state (what the watcher does after a change). */
  refresh(): SourceState {
    const state = this.read();
    this.onChange?.(state);
    return state;
  }

  private read(): SourceState {
    const { files, problems } = listFiles(this.paths);
    const missing = problems.map((p) => p.file!);
    for (const p of problems) this.reject(p.file!, p);
    const listed = new Set([...files, ...missing]);
    for (const origin of this.store.originNames()) {
      if (listed.has(origin) || missing.some((m) => origin.startsWith(m + sep))) continue;
      this.store.remove(origin);
      this.texts.delete(origin);
    }
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        this.reject(file, unreadable(file, e));
        continue;
      }
      if (this.texts.get(file) === text) continue;
      this.texts.set(file, text);
      this.store.set(file, contentsOf(file, parseFile(text, file)));
    }
    return this.store.state();
  }

  private reject(origin: string, problem: Problem): void {
    this.texts.delete(origin);
    this.store.set(origin, { resources: [], rejected: [{ file: origin, problems: [problem] }] });
  }
}

/** A file's documents as store contents: each document with an error is one rejection. */
export function contentsOf(file: string, docs: DocumentResult[]): OriginContents {
  const out: OriginContents = { resources: [], rejected: [], warnings: [] };
  for (const d of docs) {
    const errors = d.problems.filter((p) => p.severity === 'error');
    out.warnings!.push(...d.problems.filter((p) => p.severity === 'warning'));
    if (d.resource) out.resources.push(d.resource);
    else if (errors.length) {
      const resource = d.id && resourceName(d.id.kind, d.id.namespace, d.id.name);
      out.rejected.push({ id: d.id, resource, file, document: d.document, problems: errors });
    }
  }
  return out;
}
