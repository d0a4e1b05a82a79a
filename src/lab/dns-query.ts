/**
 * The lab's DNS client: `node dns-query.js NAME A|AAAA TIMEOUT_MS [SERVER]`.
 *
 * Asks for one record type with Node's resolver (c-ares), from the namespace it runs in: the given
 * server (`203.0.113.53`, `203.0.113.53:5353`, `[2001:db8::53]:5353`) or, without one, the
 * servers of /etc/resolv.conf as this process sees it (inside `ip netns exec NS`, the lab's
 * /etc/netns/NS/resolv.conf). Prints one line of JSON and exits 0:
 * `{"ok":true,"answers":[{"address":"203.0.113.30","ttl":30}],"servers":[...]}` or
 * `{"ok":false,"code":"ENOTFOUND","servers":[...]}` (`ENODATA`, `ETIMEOUT`, `ECONNREFUSED`, ...).
 * Exits 2 on bad arguments.
 */
import { Resolver } from 'node:dns/promises';

async function main(argv: readonly string[]): Promise<number> {
  const [name, type, timeoutText, server] = argv;
  const timeout = Number(timeoutText);
  if (name === undefined || (type !== 'A' && type !== 'AAAA') || !Number.isInteger(timeout) || timeout < 1) {
    process.stderr.write('usage: dns-query NAME A|AAAA TIMEOUT_MS [SERVER]\n');
    return 2;
  }
  const resolver = new Resolver({ timeout, tries: 1 });
  if (server !== undefined) resolver.setServers([server]);
  const servers = resolver.getServers();
  try {
    const answers =
      type === 'A'
        ? await resolver.resolve4(name, { ttl: true })
        : await resolver.resolve6(name, { ttl: true });
    process.stdout.write(`${JSON.stringify({ ok: true, answers, servers })}\n`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'ERROR';
    process.stdout.write(`${JSON.stringify({ ok: false, code, servers })}\n`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
