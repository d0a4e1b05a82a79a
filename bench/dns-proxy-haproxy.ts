/**
 * The haproxy configuration the old ose-egress-dns-proxy image generated (its egress-dns-proxy.sh:
 * global/defaults, a `resolvers dns-resolver` section with the nameservers of /etc/resolv.conf, one
 * frontend/backend pair per entry, `server ... check resolvers dns-resolver resolve-prefer ipv4`),
 * for the side-by-side benchmark. Left out, as they do not touch the data path: `chroot`,
 * `pidfile`, `user`/`group` (the lab runs as root).
 */

/** One entry of EGRESS_DNS_PROXY_DESTINATION, as the old script read it. */
export interface OldImageEntry {
  readonly port: number;
  readonly target: string;
  readonly targetPort: number;
  readonly isName: boolean;
}

/**
 * Renders the old image's haproxy.cfg.
 *
 * @param entries the list
 * @param nameservers the nameservers of /etc/resolv.conf
 * @returns the configuration text
 */
export function oldImageHaproxyConfig(
  entries: readonly OldImageEntry[],
  nameservers: readonly string[],
): string {
  const defaults = `
global
    log         127.0.0.1 local2
    maxconn     4000

defaults
    log                     global
    mode                    tcp
    option                  dontlognull
    option                  tcplog
    option                  redispatch
    retries                 3
    timeout http-request    100s
    timeout queue           1m
    timeout connect         10s
    timeout client          1m
    timeout server          1m
    timeout http-keep-alive 100s
    timeout check           10s
`;
  const resolvers = [
    'resolvers dns-resolver',
    ...nameservers.map((ns, i) => `    nameserver ns${i + 1} ${ns}:53`),
    '    resolve_retries      3',
    '    timeout retry        1s',
    '    hold valid           10s',
    '',
  ].join('\n');
  const pairs = entries.map((entry, i) => {
    const n = i + 1;
    const resolver = entry.isName ? 'resolvers dns-resolver resolve-prefer ipv4' : '';
    return `
frontend fe${n}
    bind :${entry.port}
    default_backend be${n}

backend be${n}
    server dest${n} ${entry.target}:${entry.targetPort} check ${resolver}
`;
  });
  return `${defaults}\n${resolvers}\n${pairs.join('')}`;
}

/**
 * A small HTTP server for the destination side of the connection-rate benchmark: haproxy in HTTP
 * mode answering every request itself (`http-request return`), so the destination is a C server
 * that closes after each answer (the client sends `Connection: close`).
 *
 * @param address where to listen
 * @param port the port
 */
export function destinationHaproxyConfig(address: string, port: number): string {
  return `
global
    maxconn 8000
    nbthread 1

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend destination
    bind ${address}:${port}
    http-request return status 200 content-type text/plain string "ok"
`;
}
