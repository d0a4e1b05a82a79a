/**
 * `npm run demo`: builds a lab in network namespaces (a client pod, the egress router pod with eth0
 * and macvlan0, the node network, its gateway, outside servers), runs the egress router in init
 * mode, shows the client's requests reaching the outside and the source address the outside saw,
 * then removes the lab. Needs root.
 */
import { fileURLToPath } from 'node:url';
import { createLab, type Lab, type RequestResult } from '../src/lab/index.js';

const BIN = fileURLToPath(new URL('../../bin/egress-router', import.meta.url));

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('npm run demo: needs root (it builds network namespaces); run it as root\n');
    return 1;
  }
  say('Building the lab: client pod, egress router pod (eth0 + macvlan0), node network, gateway, outside');
  const lab = await createLab({ prefix: `demo${process.pid % 100000}` });
  try {
    return await demo(lab);
  } finally {
    await lab.destroy();
    say('Lab removed.');
  }
}

async function demo(lab: Lab): Promise<number> {
  const a = lab.addresses;
  const [o25, o26, o27] = a.outside4;
  const [v6a] = a.outside6;
  await lab.startEcho({ tcp: [80, 443, 5432], udp: [53] });
  say(
    `Outside servers on ${a.outside4.join(', ')} and ${a.outside6.join(', ')} answer with the source address they see.`,
  );

  const destination = [
    '# what the cluster admin puts in the ConfigMap',
    `80   tcp ${o25}`,
    `8080 tcp ${o26} 80`,
    `53   udp ${o25}`,
    `80   tcp ${v6a}`,
    `${o27}`,
  ].join('\n');
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    EGRESS_SOURCE: `${a.egressSource4}/24,${a.egressSource6}/64`,
    EGRESS_GATEWAY: `${a.gateway4},${a.gateway6}`,
    EGRESS_ROUTER_MODE: 'init',
    EGRESS_DESTINATION: destination,
  };
  say('');
  say('The egress router pod (init container), with:');
  for (const [key, value] of Object.entries(env)) {
    if (key !== 'PATH')
      say(`  ${key}=${value.includes('\n') ? `\n    ${value.split('\n').join('\n    ')}` : value}`);
  }
  const run = await lab.exec('pod', process.execPath, [BIN], { env, check: false, timeoutMs: 15_000 });
  if (run.code !== 0) {
    process.stderr.write(run.stderr);
    return 1;
  }
  say('  -> set up and exited 0');
  say('');
  say(`From the client pod (${a.client4}, ${a.client6}) to the egress router pod (${a.pod4}, ${a.pod6}):`);
  const requests: [string, Promise<RequestResult>][] = [
    [`tcp ${a.pod4}:80`, lab.tcpRequest('client', a.pod4, 80)],
    [`tcp ${a.pod4}:8080`, lab.tcpRequest('client', a.pod4, 8080)],
    [`udp ${a.pod4}:53`, lab.udpRequest('client', a.pod4, 53)],
    [`tcp ${a.pod4}:5432 (fallback)`, lab.tcpRequest('client', a.pod4, 5432)],
    [`tcp [${a.pod6}]:80`, lab.tcpRequest('client', a.pod6, 80)],
    [`tcp [${a.pod6}]:443 (no mapping)`, lab.tcpRequest('client', a.pod6, 443)],
  ];
  let ok = true;
  for (const [label, pending] of requests) {
    const result = await pending;
    if (result.ok) {
      say(
        `  ${label.padEnd(34)} reached ${result.reply.local.padEnd(24)} which saw source ${result.reply.peer}`,
      );
      ok &&= result.reply.peer === a.egressSource4 || result.reply.peer === a.egressSource6;
    } else {
      say(`  ${label.padEnd(34)} ${result.failure}`);
      ok &&= label.includes('no mapping') && result.failure === 'refused';
    }
  }
  say('');
  say('The ruleset in the pod (nft list table inet egress_router):');
  const table = await lab.exec('pod', 'nft', ['list', 'table', 'inet', 'egress_router']);
  say(table.stdout.replace(/^/gm, '  ').trimEnd());
  say('');
  say(ok ? 'Every request left from the egress source address.' : 'Something did not work as expected.');
  return ok ? 0 : 1;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

process.exitCode = await main().catch((error: Error) => {
  process.stderr.write(`npm run demo: ${error.message}\n`);
  return 1;
});
