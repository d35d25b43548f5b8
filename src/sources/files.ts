// Watches resource files and directories (and their subdirectories) and calls back once per burst of changes.
// Every directory gets its own non-recursive watch (inotify on a directory sees creates, writes and renames
// of its entries; Node 20's recursive mode on Linux watches file inodes, which an editor's rename-save
// orphans). New subdirectories are picked up on the next event.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { logger } from '../util/log';

const log = logger('sources.files');
const EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface FileWatcher {
  close(): void;
}

export function watchFiles(paths: string[], onChange: () => void, debounceMs = 100): FileWatcher {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const watchers = new Map<string, fs.FSWatcher>();
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (closed) return;
      rescan();
      onChange();
    }, debounceMs);
  };

  const watchDir = (dir: string, only?: string) => {
    if (watchers.has(dir)) return;
    try {
      const w = fs.watch(dir, { persistent: true }, (_event, name) => {
        const changed = name ? name.toString() : '';
        if (only !== undefined && changed && changed !== only) return;
        // Hidden entries (editor swap files, ConfigMap "..data" links) are skipped, as the loader skips them.
        if (changed.startsWith('.')) return;
        const ext = path.extname(changed).toLowerCase();
        if (only === undefined && ext && !EXTENSIONS.includes(ext)) return;
        fire();
      });
      w.on('error', (err) => {
        log.warn('watch failed', { path: dir, err });
        watchers.delete(dir);
      });
      watchers.set(dir, w);
    } catch (err) {
      log.warn('cannot watch', { path: dir, err });
    }
  };

  const walk = (dir: string) => {
    watchDir(dir);
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.name.startsWith('.') && e.isDirectory()) walk(path.join(dir, e.name));
    }
  };

  const rescan = () => {
    for (const p of paths) {
      const abs = path.resolve(p);
      const stat = fs.statSync(abs, { throwIfNoEntry: false });
      if (stat?.isDirectory()) walk(abs);
      else watchDir(path.dirname(abs), path.basename(abs));
    }
  };

  rescan();
  log.info('watching', { paths, directories: watchers.size });
  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
    },
  };
}
