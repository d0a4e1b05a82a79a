import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/index.js';

/** The CLI as the images run it. */
export const BIN = fileURLToPath(new URL('../../../bin/egress-router', import.meta.url));

/** Whether the namespace tests can run here, or why not. */
export function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  return false;
}

/** The environment a lab router runs with: the lab's addresses, plus what the test sets. */
export function routerEnv(lab: Lab, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    EGRESS_SOURCE: `${lab.addresses.egressSource4}/24`,
    EGRESS_GATEWAY: lab.addresses.gateway4,
    ...extra,
  };
}

/** Runs the router once in the lab's pod namespace and returns what it did. */
export function runRouter(lab: Lab, env: NodeJS.ProcessEnv) {
  return lab.exec('pod', process.execPath, [BIN], { env, check: false, timeoutMs: 15_000 });
}

/**
 * Everything set-up changes in the pod, as comparable text: addresses and state of the egress
 * interface, routes of both families, forwarding, and our nft table without handles.
 */
export async function podState(lab: Lab): Promise<string> {
  const run = async (cmd: string, args: string[]) =>
    (await lab.exec('pod', cmd, args, { check: false })).stdout.trim();
  const table = await run('nft', ['-j', 'list', 'table', 'inet', 'egress_router']);
  const withoutHandles = table === '' ? '' : JSON.stringify(JSON.parse(table).nftables.slice(1), dropHandles);
  return [
    await run('ip', ['-o', 'addr', 'show', 'dev', 'macvlan0']),
    await run('ip', ['-o', 'link', 'show', 'dev', 'macvlan0']),
    await run('ip', ['-4', 'route', 'show']),
    await run('ip', ['-6', 'route', 'show']),
    await run('sysctl', ['-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']),
    withoutHandles,
  ].join('\n---\n');
}

function dropHandles(key: string, value: unknown): unknown {
  return key === 'handle' ? undefined : value;
}

/** The MAC address of an interface in a namespace. */
export async function macOf(lab: Lab, ns: 'pod' | 'node', ifname: string): Promise<string> {
  const out = (await lab.ip(ns, ['-j', 'link', 'show', 'dev', ifname])).stdout;
  return (JSON.parse(out) as { address: string }[])[0]!.address;
}

/** The gateway's neighbour entry for an address: its MAC, or undefined. */
export async function gatewayNeighbour(lab: Lab, address: string): Promise<string | undefined> {
  const out = (await lab.ip('gw', ['-j', 'neigh', 'show', 'to', address])).stdout;
  const entries = JSON.parse(out || '[]') as { lladdr?: string }[];
  return entries[0]?.lladdr;
}

/** Makes the gateway believe a previous owner (another MAC) still has the address. */
export async function poisonGatewayNeighbour(lab: Lab, address: string, dev = 'nodenet0'): Promise<void> {
  await lab.ip('gw', [
    'neigh',
    'replace',
    address,
    'lladdr',
    '02:00:5e:00:53:01',
    'dev',
    dev,
    'nud',
    'stale',
  ]);
}

/**
 * A directory laid out as the kubelet lays out a mounted ConfigMap: `..<timestamp>/destination`,
 * `..data` -> `..<timestamp>`, `destination` -> `..data/destination`. `update` swaps `..data`
 * atomically, as the kubelet does.
 */
export function configMapDir(initial: string) {
  const dir = mkdtempSync(join(tmpdir(), 'egress-cm-'));
  let generation = 0;
  const write = (text: string) => {
    const version = `..2026_11_26_00_00_0${generation++}`;
    mkdirSync(join(dir, version));
    writeFileSync(join(dir, version, 'destination'), text);
    symlinkSync(version, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  write(initial);
  symlinkSync('..data/destination', join(dir, 'destination'));
  return {
    path: join(dir, 'destination'),
    update: write,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export { eventually } from '../../src/lab/process.js';
