import { lookup } from 'node:dns/promises';
import { connect, type Socket } from 'node:net';
import { connectErrorCode, ProxyError } from './errors.js';
import { createHostsLookup } from './hosts-file.js';
import { type NumericIp, numericIpToString, toNumericIp } from './policy/ip.js';

/**
 * Makes the proxy's resolver: a name is resolved once, as the exact name asked for. First the hosts
 * file (exact names; Kubernetes hostAliases), then the system resolver with the name made fully
 * qualified (`name.`), so resolv.conf search domains never expand it: otherwise `http://deep/` with
 * `search example.test` would reach `deep.example.test` past a `!*.example.test` rule (squid did not
 * use search domains either). Every address of both families, in the resolver's order, once each.
 *
 * @param hosts the hosts-file lookup
 * @returns the resolver
 */
export function createResolver(hosts: (name: string) => NumericIp[] | undefined = createHostsLookup()) {
  return async (name: string): Promise<NumericIp[]> => {
    const fromHosts = hosts(name);
    if (fromHosts && fromHosts.length > 0) return fromHosts;
    let answers: { address: string }[];
    try {
      answers = await lookup(`${name}.`, { all: true, verbatim: true });
    } catch (error) {
      throw new ProxyError(
        'NAME_NOT_RESOLVED',
        `cannot resolve '${name}': ${(error as NodeJS.ErrnoException).code ?? error}`,
        {
          cause: error,
        },
      );
    }
    const seen = new Set<string>();
    const addresses: NumericIp[] = [];
    for (const answer of answers) {
      const ip = toNumericIp(answer.address);
      if (!ip) continue;
      const key = `${ip.family}:${ip.value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      addresses.push(ip);
    }
    if (addresses.length === 0)
      throw new ProxyError('NAME_NOT_RESOLVED', `cannot resolve '${name}': no address`);
    return addresses;
  };
}

/**
 * Tries the addresses in order until one attempt succeeds.
 *
 * @param addresses the allowed addresses
 * @param attempt connects to one address
 * @returns the first success
 * @throws ProxyError of the last attempt (UNREACHABLE when there is no address)
 */
export async function firstThatConnects<T>(
  addresses: readonly NumericIp[],
  attempt: (address: NumericIp) => Promise<T>,
): Promise<T> {
  let last: ProxyError | undefined;
  for (const address of addresses) {
    try {
      return await attempt(address);
    } catch (error) {
      last = error as ProxyError;
    }
  }
  throw last ?? new ProxyError('UNREACHABLE', 'no address to connect to');
}

/**
 * Connects to one address, bounded by `timeoutMs`; the socket has Nagle off (heads and bodies go
 * out as separate writes: with Nagle, the second would wait for the destination's delayed ACK).
 *
 * @param address the address
 * @param port the port
 * @param timeoutMs the connect timeout
 * @param options half-open sockets
 * @returns the connected socket
 * @throws ProxyError (CONNECT_REFUSED, UNREACHABLE, CONNECT_TIMEOUT...) with the socket error as cause
 */
export function connectSocket(
  address: NumericIp,
  port: number,
  timeoutMs: number,
  options: { allowHalfOpen?: boolean } = {},
): Promise<Socket> {
  const host = numericIpToString(address);
  const where = address.family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true, ...options });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProxyError('CONNECT_TIMEOUT', `connecting to ${where} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new ProxyError(
          connectErrorCode(error),
          `connecting to ${where} failed: ${error.code ?? error.message}`,
          { cause: error },
        ),
      );
    });
  });
}
