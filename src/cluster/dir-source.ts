import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isManifestName, type ManifestFile, readManifestTexts, sameManifestFiles } from './read-manifests.js';
import type { ClusterState, ObjectSource } from './types.js';

/** How often a directory source reads its directory again even when no watcher said anything. */
export const DIR_POLL_MS = 1000;
/** How long a directory source waits after a watcher's event before reading, to take a burst as one. */
export const DIR_DEBOUNCE_MS = 100;

/** Options of a directory source. */
export interface DirSourceOptions {
  /** Milliseconds between reads when nothing was seen (default DIR_POLL_MS). */
  readonly pollMs?: number;
  /** Milliseconds from a watcher's event to the read (default DIR_DEBOUNCE_MS). */
  readonly debounceMs?: number;
}

/**
 * An object source over a directory of manifests (`--source dir:PATH`): every `*.yaml`, `*.yml` and
 * `*.json` file in it and in its subdirectories, read with readManifestTexts. Names starting with
 * `.` are skipped; symbolic links are followed, so a mounted ConfigMap (visible names linked into
 * `..data`) is read as its visible files.
 *
 * Following: each directory read is watched (fs.watch) and the whole directory is also read again
 * every `pollMs`, as a watcher misses some changes (a file linked from elsewhere, a kubelet
 * `..data` swap in a directory it does not watch, a watch the kernel refused). After a watcher's
 * event the source waits `debounceMs` and reads everything again; when the files' names and texts
 * differ from the last read, `onState` gets the new whole state. A file read while it is being
 * written may not parse: that state carries a problem for the file, and the read after the writer's
 * last event delivers the whole file.
 *
 * Errors: `start()` rejects when the directory cannot be read (`dir source: cannot read '<path>':
 * <reason>`). Later, an unreadable directory (removed, replaced by a file) is told to `onError`
 * once per distinct message and the last state stays; when the directory is back, reading goes on.
 * Timers and watchers never keep the process alive.
 *
 * @param path the directory (relative to the working directory, or absolute)
 * @param options how often to poll and how long to debounce
 * @returns the source (`description` is `dir:<absolute path>`)
 * @throws RangeError when an option is not a positive number
 */
export function createDirSource(path: string, options: DirSourceOptions = {}): ObjectSource {
  return new DirSource(
    resolve(path),
    positive('pollMs', options.pollMs ?? DIR_POLL_MS),
    positive('debounceMs', options.debounceMs ?? DIR_DEBOUNCE_MS),
  );
}

class DirSource implements ObjectSource {
  readonly description: string;
  readonly #root: string;
  readonly #pollMs: number;
  readonly #debounceMs: number;
  /** Watchers by directory identity (`dev:ino`), so a directory made again gets a new watcher. */
  readonly #watchers = new Map<string, FSWatcher>();
  #onState: (state: ClusterState) => void = () => {};
  #onError: (error: Error) => void = () => {};
  #started = false;
  #closed = false;
  #last: readonly ManifestFile[] = [];
  #lastError: string | undefined;
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #reading = false;
  #again = false;

  constructor(root: string, pollMs: number, debounceMs: number) {
    this.description = `dir:${root}`;
    this.#root = root;
    this.#pollMs = pollMs;
    this.#debounceMs = debounceMs;
  }

  async start(onState: (state: ClusterState) => void, onError?: (error: Error) => void): Promise<void> {
    if (this.#started) throw new Error(`dir source: '${this.#root}' already started`);
    this.#started = true;
    this.#onState = onState;
    if (onError !== undefined) this.#onError = onError;
    this.#reading = true;
    let scan: Scan;
    try {
      scan = await scanDirectory(this.#root);
    } catch (error) {
      this.#started = false;
      throw error;
    } finally {
      this.#reading = false;
    }
    if (this.#closed) return;
    this.#last = scan.files;
    this.#watch(scan.directories);
    this.#poll = setInterval(() => void this.#refresh(), this.#pollMs).unref();
    onState(readManifestTexts(scan.files));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#debounce);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  /** A watcher's event: read after the debounce (events meanwhile are part of the same burst). */
  #changed(): void {
    if (this.#closed || this.#debounce !== undefined) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.#refresh();
    }, this.#debounceMs).unref();
  }

  /** Reads the directory again (once more after this read when asked to meanwhile). */
  async #refresh(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    try {
      do {
        this.#again = false;
        await this.#readOnce();
      } while (this.#again && !this.#closed);
    } finally {
      this.#reading = false;
    }
  }

  async #readOnce(): Promise<void> {
    let scan: Scan;
    try {
      scan = await scanDirectory(this.#root);
    } catch (error) {
      if (this.#closed) return;
      const message = (error as Error).message;
      if (message !== this.#lastError) {
        this.#lastError = message;
        this.#onError(error as Error);
      }
      return;
    }
    if (this.#closed) return;
    this.#lastError = undefined;
    this.#watch(scan.directories);
    if (sameManifestFiles(scan.files, this.#last)) return;
    this.#last = scan.files;
    this.#onState(readManifestTexts(scan.files));
  }

  /** Watches the directories of the last read, and only those. */
  #watch(directories: ReadonlyMap<string, string>): void {
    for (const [id, watcher] of this.#watchers) {
      if (!directories.has(id)) {
        watcher.close();
        this.#watchers.delete(id);
      }
    }
    for (const [id, directory] of directories) {
      if (this.#watchers.has(id)) continue;
      try {
        const watcher = watch(directory, { persistent: false }, () => this.#changed());
        watcher.on('error', () => {
          // Gone or refused: polling goes on, and the next read that finds the directory watches it again.
          watcher.close();
          if (this.#watchers.get(id) === watcher) this.#watchers.delete(id);
        });
        this.#watchers.set(id, watcher);
      } catch {
        // No watch (the kernel's limit on watches, a directory gone since): polling still sees changes.
      }
    }
  }
}

/** What one read of the directory found. */
interface Scan {
  /** The manifest files, in the order they were read. */
  readonly files: ManifestFile[];
  /** Every directory read, by identity (`dev:ino`, which also stops symbolic link loops): its path. */
  readonly directories: Map<string, string>;
}

/** Reads of a directory made again while it is read, before its contents are taken. */
const SCAN_ATTEMPTS = 3;

/**
 * Reads every manifest file under a directory.
 *
 * @throws Error `dir source: cannot read '<root>': <reason>` when the directory itself cannot be read
 */
async function scanDirectory(root: string): Promise<Scan> {
  for (let attempt = 1; ; attempt++) {
    const before = await rootIdentity(root);
    const scan: Scan = { files: [], directories: new Map() };
    let entries: string[];
    try {
      entries = await readdir(root);
    } catch (error) {
      throw unreadable(root, error);
    }
    scan.directories.set(before, root);
    await readEntries(root, '', entries, scan);
    // Files vanish from a directory that is removed while it is read: that is not an empty directory.
    const after = await rootIdentity(root);
    if (after === before || attempt === SCAN_ATTEMPTS) return scan;
  }
}

async function rootIdentity(root: string): Promise<string> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(root);
  } catch (error) {
    throw unreadable(root, error);
  }
  if (!info.isDirectory()) throw new Error(`dir source: cannot read '${root}': not a directory`);
  return `${info.dev}:${info.ino}`;
}

async function readEntries(
  directory: string,
  relative: string,
  entries: string[],
  scan: Scan,
): Promise<void> {
  for (const entry of entries.sort()) {
    if (entry.startsWith('.')) continue;
    const path = join(directory, entry);
    const name = relative === '' ? entry : `${relative}/${entry}`;
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      // stat, not lstat: symbolic links are followed (a mounted ConfigMap's names point into `..data`).
      info = await stat(path);
    } catch (error) {
      // Gone since it was listed, or a link to nothing (the kubelet removes a key's link after a swap).
      if (isNotFound(error)) continue;
      if (isManifestName(entry)) scan.files.push({ name, error: `cannot read: ${reason(error)}` });
      continue;
    }
    if (info.isDirectory()) {
      const id = `${info.dev}:${info.ino}`;
      if (scan.directories.has(id)) continue;
      let children: string[];
      try {
        children = await readdir(path);
      } catch (error) {
        if (!isNotFound(error)) scan.files.push({ name: `${name}/`, error: `cannot read: ${reason(error)}` });
        continue;
      }
      scan.directories.set(id, path);
      await readEntries(path, name, children, scan);
    } else if (info.isFile() && isManifestName(entry)) {
      try {
        scan.files.push({ name, text: await readFile(path, 'utf8') });
      } catch (error) {
        if (!isNotFound(error)) scan.files.push({ name, error: `cannot read: ${reason(error)}` });
      }
    }
  }
}

function unreadable(root: string, error: unknown): Error {
  return new Error(`dir source: cannot read '${root}': ${reason(error)}`, { cause: error });
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** A system error's description without its code and path (`no such file or directory`). */
function reason(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  const system = /^[A-Z][A-Z0-9_]*: (.+?), [a-z_]+ '/.exec(message);
  return system?.[1] ?? message.split('\n', 1)[0]!;
}

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`dir source: ${option} must be a positive number of milliseconds: '${value}'`);
  }
  return value;
}
