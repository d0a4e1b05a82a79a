import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseRouterConfig, type RouterConfig, type RouterEnv } from './config.js';

/**
 * The path of a fixture in src/destination-parser/testdata/. tsc does not copy .txt files into
 * dist, so the path is taken relative to the repository root from the compiled file.
 *
 * @param name the fixture's file name
 * @returns its absolute path
 */
export function testdataPath(name: string): string {
  return fileURLToPath(new URL(`../../../src/destination-parser/testdata/${name}`, import.meta.url));
}

/**
 * Reads a fixture of src/destination-parser/testdata/.
 *
 * @param name the fixture's file name
 * @returns its text
 */
export function readTestdata(name: string): string {
  return readFileSync(testdataPath(name), 'utf8');
}

/** CONTRACT.md's example list (`unit-test` mode section), with source 1.2.3.4. */
export const CONTRACT_EXAMPLE = '80 tcp 10.4.5.6\n8080 tcp 10.7.8.9 80\n10.1.2.3';

/** What unit-test mode prints for CONTRACT_EXAMPLE, byte for byte (CONTRACT.md). */
export const CONTRACT_EXAMPLE_RULES =
  '-A PREROUTING -i eth0 -p tcp --dport 80 -j DNAT --to-destination 10.4.5.6\n' +
  '-A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 10.7.8.9:80\n' +
  '-A PREROUTING -i eth0 -j DNAT --to-destination 10.1.2.3\n' +
  '-A POSTROUTING -j SNAT --to-source 1.2.3.4\n';

/** A valid IPv4 environment in unit-test mode: the CONTRACT example's source. */
export const IPV4_ENV = {
  EGRESS_SOURCE: '1.2.3.4',
  EGRESS_GATEWAY: '1.2.3.1',
  EGRESS_ROUTER_MODE: 'unit-test',
} as const satisfies RouterEnv;

/** A valid dual-stack environment in unit-test mode. */
export const DUAL_ENV = {
  EGRESS_SOURCE: '192.168.12.99/24,2001:db8:12::99/64',
  EGRESS_GATEWAY: '192.168.12.1,2001:db8:12::1',
  EGRESS_ROUTER_MODE: 'unit-test',
} as const satisfies RouterEnv;

/**
 * Parses an environment that must be valid.
 *
 * @param env the router's environment
 * @returns the configuration
 * @throws AssertionError listing the errors when it is not valid
 */
export function mustParse(env: RouterEnv): RouterConfig {
  const result = parseRouterConfig(env);
  assert.ok(result.ok, `expected a valid configuration, got ${JSON.stringify(!result.ok && result.errors)}`);
  return result.value;
}

/**
 * The texts a router configuration error may have: CONTRACT.md's list, plus the documented
 * deviations (dual-stack family, both list variables set, unreadable list file, interface names).
 */
const CONTRACT_MESSAGES: readonly RegExp[] = [
  /^EGRESS_SOURCE unspecified or invalid$/,
  /^EGRESS_GATEWAY unspecified or invalid$/,
  /^EGRESS_DESTINATION unspecified$/,
  /^EGRESS_DESTINATION value '[^\n]*' is invalid$/,
  /^EGRESS_DESTINATION fallback IP must be the last line$/,
  /^Invalid port: [0-9]+, must be in the range 1 to 65535$/,
  /^EGRESS_DESTINATION localport [0-9]+ is already used, must be unique for each destination$/,
  /^Unrecognized EGRESS_ROUTER_MODE '.*'$/s,
  /^EGRESS_DESTINATION value '[^\n]*' is invalid: EGRESS_SOURCE has no IPv[46] address$/,
  /^EGRESS_DESTINATION value '[^\n]*' is invalid: a DNS name needs EGRESS_ROUTER_MODE legacy$/,
  /^EGRESS_DESTINATION and EGRESS_DESTINATION_FILE are both set, use one$/,
  /^EGRESS_DESTINATION unspecified: cannot read EGRESS_DESTINATION_FILE '.*': .+$/s,
  /^EGRESS_ROUTER_(POD|EGRESS)_INTERFACE '.*' is not a valid interface name$/s,
  /^EGRESS_ROUTER_POD_INTERFACE and EGRESS_ROUTER_EGRESS_INTERFACE are both '.*'$/s,
];

/**
 * Whether a message is one of the texts CONTRACT.md (or a documented deviation) allows.
 *
 * @param message an error's message
 * @returns true when it has one of the allowed forms
 */
export function isContractMessage(message: string): boolean {
  return CONTRACT_MESSAGES.some((pattern) => pattern.test(message));
}
