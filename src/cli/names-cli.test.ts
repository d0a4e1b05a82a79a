import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lastLine, runCli } from './_cli-testing.js';

/** The commands that read the router's list, with DNS names in it. */

const ENV = {
  EGRESS_SOURCE: '192.168.12.99/24',
  EGRESS_GATEWAY: '192.168.12.1',
  EGRESS_DESTINATION: '80 tcp db.example.com 5432\n443 tcp 192.0.2.5\nall.example.com',
};

describe('the CLI with DNS names in the list', () => {
  test('unit-test mode refuses a name with the old image error, exit 1, nothing on stdout', () => {
    const run = runCli([], { ...ENV, EGRESS_ROUTER_MODE: 'unit-test' });
    assert.equal(run.status, 1);
    assert.equal(run.stdout, '');
    assert.equal(lastLine(run.stderr), "EGRESS_DESTINATION value '80 tcp db.example.com 5432' is invalid");
  });

  test('init mode refuses a name, saying it needs legacy mode', () => {
    const run = runCli([], { ...ENV, EGRESS_ROUTER_MODE: 'init' });
    assert.equal(run.status, 1);
    assert.equal(
      lastLine(run.stderr),
      "EGRESS_DESTINATION value '80 tcp db.example.com 5432' is invalid: a DNS name needs EGRESS_ROUTER_MODE legacy",
    );
  });

  test('validate counts names as mappings and fallback, and says they are resolved at run time', () => {
    const run = runCli(['validate'], ENV);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      run.stdout,
      'EGRESS_DESTINATION: valid: 2 port mappings, fallback all.example.com, 2 DNS names resolved at run time (legacy mode)\n',
    );
    const unitTest = runCli(['validate'], { ...ENV, EGRESS_ROUTER_MODE: 'unit-test' });
    assert.equal(unitTest.status, 1);
    assert.match(
      unitTest.stderr,
      /EGRESS_DESTINATION:1: EGRESS_DESTINATION value '80 tcp db.example.com 5432' is invalid/,
    );
  });

  test('plan shows the name maps (empty until resolved) and the rules through them', () => {
    const run = runCli(['plan'], ENV);
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout,
      /# name db\.example\.com \(line 1, tcp 80, IPv4\): resolved at run time into map name4_tcp_80/,
    );
    assert.match(run.stdout, /\tmap name4_tcp_80 \{\n\t\ttype mark : ipv4_addr\n\t\}/);
    assert.match(
      run.stdout,
      /iifname "eth0" meta nfproto ipv4 meta l4proto tcp tcp dport 80 ct mark set numgen inc mod 60 dnat ip to ct mark map @name4_tcp_80 : 5432/,
    );
    assert.match(
      run.stdout,
      /meta nfproto ipv4 ct mark set numgen inc mod 60 dnat ip to ct mark map @name4_fallback\n/,
    );
    const json = JSON.parse(runCli(['plan', '--json'], ENV).stdout) as {
      nftables: Record<string, unknown>[];
    };
    assert.ok(json.nftables.some((c) => JSON.stringify(c).includes('"name":"name4_fallback"')));
  });
});
