import type { Family } from '../destination-parser/address.js';
import type { NatPlan } from '../destination-parser/plan.js';
import { NAME_SLOTS, slotAddresses } from './name-slots.js';
import {
  hasFallback,
  mapGroups,
  mapNames,
  type NameAddresses,
  namePortGroups,
  TABLE_FAMILY,
  TABLE_NAME,
} from './ruleset.js';

/**
 * Renders the ruleset of buildRuleset as nft text, for review (`plan`). Applying this text gives
 * the same table as applying the JSON; a test holds the two together.
 *
 * @param plan the NAT plan from planRouter
 * @param names the addresses of each name map (as buildRuleset); default none
 * @returns the table in `nft -f` syntax
 */
export function renderRuleset(plan: NatPlan, names: NameAddresses = new Map()): string {
  const out: string[] = [`table ${TABLE_FAMILY} ${TABLE_NAME} {`];
  const ip = (family: Family) => (family === 4 ? 'ip' : 'ip6');
  const nfproto = (family: Family) => (family === 4 ? 'ipv4' : 'ipv6');
  const pod = `iifname ${quote(plan.podInterface)}`;
  const groups = mapGroups(plan);
  for (const { family, protocol, mappings } of groups) {
    const names = mapNames(family, protocol);
    out.push(
      `\tmap ${names.addr} {`,
      `\t\ttype inet_service : ${family === 4 ? 'ipv4_addr' : 'ipv6_addr'}`,
      `\t\telements = { ${mappings.map((m) => `${m.localPort} : ${m.destination.address}`).join(', ')} }`,
      '\t}',
      '',
      `\tmap ${names.port} {`,
      '\t\ttype inet_service : inet_service',
      `\t\telements = { ${mappings.map((m) => `${m.localPort} : ${m.remotePort}`).join(', ')} }`,
      '\t}',
      '',
    );
  }
  for (const target of plan.names) {
    const elements = slotAddresses(names.get(target.map) ?? []).map(
      (address, slot) => `${slot} : ${address}`,
    );
    out.push(
      `\tmap ${target.map} {`,
      `\t\ttype mark : ${target.family === 4 ? 'ipv4_addr' : 'ipv6_addr'}`,
      ...(elements.length > 0 ? [`\t\telements = { ${elements.join(', ')} }`] : []),
      '\t}',
      '',
    );
  }
  out.push('\tchain prerouting {', '\t\ttype nat hook prerouting priority dstnat; policy accept;');
  for (const { family, protocol } of groups) {
    const names = mapNames(family, protocol);
    out.push(
      `\t\t${pod} meta nfproto ${nfproto(family)} meta l4proto ${protocol} dnat ${ip(family)} to ${protocol} dport map @${names.addr} : ${protocol} dport map @${names.port}`,
    );
  }
  const spread = `ct mark set numgen inc mod ${NAME_SLOTS}`;
  for (const target of plan.names) {
    if (target.kind !== 'mapping') continue;
    out.push(
      `\t\t${pod} meta nfproto ${nfproto(target.family)} meta l4proto ${target.protocol} ${target.protocol} dport ${target.localPort} ${spread} dnat ${ip(target.family)} to ct mark map @${target.map} : ${target.remotePort}`,
    );
  }
  for (const { family, protocol, ports } of namePortGroups(plan)) {
    if (!hasFallback(plan, family)) continue;
    const set = ports.length === 1 ? String(ports[0]) : `{ ${ports.join(', ')} }`;
    out.push(
      `\t\t${pod} meta nfproto ${nfproto(family)} meta l4proto ${protocol} ${protocol} dport ${set} accept`,
    );
  }
  for (const fallback of plan.fallbacks) {
    const family = fallback.destination.family;
    out.push(
      `\t\t${pod} meta nfproto ${nfproto(family)} dnat ${ip(family)} to ${fallback.destination.address}`,
    );
  }
  for (const target of plan.names) {
    if (target.kind !== 'fallback') continue;
    out.push(
      `\t\t${pod} meta nfproto ${nfproto(target.family)} ${spread} dnat ${ip(target.family)} to ct mark map @${target.map}`,
    );
  }
  out.push(
    '\t}',
    '',
    '\tchain postrouting {',
    '\t\ttype nat hook postrouting priority srcnat; policy accept;',
  );
  for (const source of plan.snat) {
    out.push(
      `\t\toifname ${quote(plan.egressInterface)} meta nfproto ${nfproto(source.family)} snat ${ip(source.family)} to ${source.address}`,
    );
  }
  out.push('\t}');
  if (plan.refuse.length > 0) {
    out.push('', '\tchain input {', '\t\ttype filter hook input priority filter; policy accept;');
    out.push('\t\tct state established,related accept');
    for (const family of plan.refuse) {
      out.push(`\t\t${pod} meta nfproto ${nfproto(family)} meta l4proto tcp reject with tcp reset`);
      out.push(
        `\t\t${pod} meta nfproto ${nfproto(family)} meta l4proto udp reject with icmpx port-unreachable`,
      );
    }
    out.push('\t}');
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

function quote(name: string): string {
  return `"${name}"`;
}
