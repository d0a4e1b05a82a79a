import { Resolver } from 'node:dns/promises';
import type { FamilyLookup, NameLookup } from './resolution.js';

/** How long one DNS query waits for an answer before it is sent again (or the next server asked). */
export const DNS_QUERY_TIMEOUT_MS = 2_000;
/** How many times a query is sent per server before the family counts as failed. */
export const DNS_QUERY_TRIES = 2;

/** Error codes of node:dns that mean "the DNS answered: nothing there". */
const NEGATIVE_CODES = new Set(['ENOTFOUND', 'ENODATA']);

/** Resolves one name's A and AAAA records; what a resolution round calls. */
export type LookupName = (name: string) => Promise<NameLookup>;

/**
 * Looks a name's A and AAAA records up with their TTLs, from the nameservers of /etc/resolv.conf,
 * as written (no search list, as the old image's haproxy). A new resolver per round: it reads
 * /etc/resolv.conf afresh and has an empty cache, so that a record is asked for again when our
 * (clamped) TTL runs out, not when c-ares' own cache thinks it should.
 *
 * @param name a domain name
 * @returns what the DNS said for each family
 */
export const lookupName: LookupName = async (name) => {
  const resolver = new Resolver({ timeout: DNS_QUERY_TIMEOUT_MS, tries: DNS_QUERY_TRIES });
  const [v4, v6] = await Promise.all([
    family(resolver.resolve4(name, { ttl: true })),
    family(resolver.resolve6(name, { ttl: true })),
  ]);
  return { v4, v6 };
};

async function family(query: Promise<{ address: string; ttl: number }[]>): Promise<FamilyLookup> {
  try {
    const records = await query;
    return records.length > 0 ? { kind: 'records', records } : { kind: 'negative', code: 'ENODATA' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    return NEGATIVE_CODES.has(code) ? { kind: 'negative', code } : { kind: 'failed', code };
  }
}
