import { readFileSync, statSync } from 'node:fs';
import { type NumericIp, toNumericIp } from './policy/ip.js';
import { normalizeName } from './policy/parse-policy.js';

/** The hosts file the system resolver reads first (Kubernetes writes hostAliases there). */
export const HOSTS_FILE = '/etc/hosts';
/** How often the hosts file's modification time is checked. */
export const HOSTS_CHECK_MS = 1000;

/**
 * Looks names up in the hosts file, exactly (no search domains), re-reading the file when it
 * changes. The proxy resolves names itself as fully qualified (`name.`), which glibc does not match
 * against the hosts file, so hosts entries are looked up here first.
 *
 * @param path the hosts file
 * @param now the clock (for tests)
 * @returns a lookup: the addresses of a canonical name, or undefined when the file has none
 */
export function createHostsLookup(
  path = HOSTS_FILE,
  now: () => number = Date.now,
): (name: string) => NumericIp[] | undefined {
  let checkedAt = Number.NEGATIVE_INFINITY;
  let mtime = -1;
  let table = new Map<string, NumericIp[]>();
  return (name) => {
    if (now() - checkedAt >= HOSTS_CHECK_MS) {
      checkedAt = now();
      let current = -2;
      try {
        current = statSync(path).mtimeMs;
      } catch {
        current = -2;
      }
      if (current !== mtime) {
        mtime = current;
        table = current === -2 ? new Map() : parseHosts(readFileSync(path, 'utf8'));
      }
    }
    return table.get(name);
  };
}

/**
 * Parses hosts-file text: `address name [aliases...]`, `#` comments.
 *
 * @param text the file
 * @returns canonical name to its addresses, in file order
 */
export function parseHosts(text: string): Map<string, NumericIp[]> {
  const table = new Map<string, NumericIp[]>();
  for (const raw of text.split('\n')) {
    const [addressText, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    const ip = addressText ? toNumericIp(addressText.split('%')[0]!) : undefined;
    if (!ip) continue;
    for (const written of names) {
      const name = normalizeName(written);
      if (!name) continue;
      const list = table.get(name) ?? [];
      if (!list.some((known) => known.family === ip.family && known.value === ip.value)) list.push(ip);
      table.set(name, list);
    }
  }
  return table;
}
