// Watches resource files and directories (recursively) and calls back once per burst of changes.
// Directories are watched rather than files: editors save by rename, which would orphan a watch on a file.

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
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const watchers: fs.FSWatcher[] = [];
  for (const p of paths) {
    const abs = path.resolve(p);
    const isDir = fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory() ?? false;
    const dir = isDir ? abs : path.dirname(abs);
    const file = isDir ? undefined : path.basename(abs);
    const w = fs.watch(dir, { recursive: isDir, persistent: true }, (_event, name) => {
      const changed = name ? name.toString() : '';
      if (file !== undefined && changed !== file) return;
      // Hidden entries (editor swap files, ConfigMap "..data" links) are skipped, as the loader skips them;
      // a "..data" swap still changes the visible symlinked files, which fire on their own.
      if (changed && path.basename(changed).startsWith('.')) return;
      if (
        changed &&
        isDir &&
        path.extname(changed) &&
        !EXTENSIONS.includes(path.extname(changed).toLowerCase())
      ) {
        return;
      }
      fire();
    });
    w.on('error', (err) => log.warn('watch failed', { path: dir, err }));
    watchers.push(w);
  }
  log.info('watching', { paths });
  return {
    close: () => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
