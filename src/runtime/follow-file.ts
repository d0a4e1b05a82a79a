import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';

/** How often a followed file is polled as well (fs.watch misses some kubelet symlink swaps). */
export const WATCH_POLL_MS = 500;

/** A followed file: call close() to stop. */
export interface FileFollower {
  close(): void;
}

/**
 * Follows a file the way a mounted ConfigMap changes: the kubelet writes a new timestamped
 * directory and atomically swaps the `..data` symlink, so the watched path's content changes
 * without any write to the path itself. Watches the directory and also polls; calls `onChange`
 * with the new content (or the read error) whenever the content differs from the last seen.
 *
 * @param path the file to follow
 * @param initial the content already applied
 * @param onChange called with the new text, or with an Error when the file cannot be read
 * @returns a handle to stop following
 */
export function followFile(
  path: string,
  initial: string,
  onChange: (change: { text: string } | { error: Error }) => void,
): FileFollower {
  // The last text seen, compared as it is: no hash (loading node:crypto costs the router's start-up).
  let last = initial;
  let lastError: string | undefined;
  const check = () => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const message = (error as Error).message;
      if (message !== lastError) {
        lastError = message;
        onChange({ error: error as Error });
      }
      return;
    }
    lastError = undefined;
    if (text === last) return;
    last = text;
    onChange({ text });
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, check);
    watcher.on('error', () => {});
  } catch {
    watcher = undefined;
  }
  const timer = setInterval(check, WATCH_POLL_MS);
  return {
    close() {
      clearInterval(timer);
      watcher?.close();
    },
  };
}
