/**
 * A collection's list in pages, as client-go's reflector lists (its pager): `limit=500`, then the
 * server's `continue` token until none is left. Every page comes from the snapshot of the first
 * (the API server keeps the list's resource version across pages), so the pages together are one
 * consistent list, watched from its resource version. A token the server no longer honours (`410
 * Gone`: etcd compacted past the snapshot while the pages were read) starts one whole list without
 * a limit, as client-go's pager does (followed to its end should the server still page it; a
 * second 410 is an error, as is a token repeated).
 *
 * The server holds a page's objects, not the whole list: a cluster with tens of thousands of pods
 * is listed without the API server building one answer of hundreds of megabytes.
 */
import type { ListAnswer } from './kubernetes-api.js';
import { isRecord, KubernetesApiError } from './kubernetes-error.js';

/** Objects a page asks for (client-go's reflector: 500). */
export const LIST_PAGE_SIZE = 500;

/** One GET of the collection with this query: its parsed JSON body, or a KubernetesApiError. */
export type GetPage = (query: Readonly<Record<string, string>>) => Promise<unknown>;

/**
 * Lists a collection in pages.
 *
 * @param get one request of the collection (the caller's path, credentials and abort signal)
 * @param limit the page size
 * @returns every item of the pages, and the list's resource version
 * @throws KubernetesApiError as `get` throws it, or when an answer is not a list
 */
export async function listInPages(get: GetPage, limit = LIST_PAGE_SIZE): Promise<ListAnswer> {
  const items: unknown[] = [];
  let token: string | undefined;
  let fellBack = false;
  for (;;) {
    let body: unknown;
    try {
      // After the fallback, no limit: only a server that imposes one (a proxy) sends tokens then.
      const query: Record<string, string> = fellBack ? {} : { limit: String(limit) };
      body = await get(token === undefined ? query : { ...query, continue: token });
    } catch (error) {
      if (token !== undefined && !fellBack && error instanceof KubernetesApiError && error.status === 410) {
        // The snapshot is gone: one whole list, from the start.
        items.length = 0;
        token = undefined;
        fellBack = true;
        continue;
      }
      throw error;
    }
    const page = asList(body);
    for (const item of page.items) items.push(item);
    if (page.continue !== undefined && page.continue === token)
      throw new KubernetesApiError('the list answer repeats its continue token', 200);
    token = page.continue;
    if (token === undefined) return { resourceVersion: page.resourceVersion, items };
  }
}

/** A list answer's items, resource version and continue token (absent when it is the last page). */
function asList(body: unknown): ListAnswer & { readonly continue?: string } {
  if (!isRecord(body) || !Array.isArray(body.items))
    throw new KubernetesApiError('the list answer has no items', 200);
  const metadata = isRecord(body.metadata) ? body.metadata : {};
  const token =
    typeof metadata.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined;
  return {
    resourceVersion: typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : '',
    items: body.items,
    ...(token === undefined ? {} : { continue: token }),
  };
}
