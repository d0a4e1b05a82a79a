import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { anyText, nearValidListText, routerEnv } from './_arbitraries.js';
import { isContractMessage } from './_testing.js';
import { type Family, parseIp } from './address.js';
import { parseRouterConfig } from './config.js';
import { parseDestinationList } from './destination-list.js';

const NUM_RUNS = 1000;
const FAMILIES: (ReadonlySet<Family> | undefined)[] = [
  undefined,
  new Set([4]),
  new Set([6]),
  new Set([4, 6]),
];

/** What the parser does with one line, by CONTRACT: skipped when blank or a comment, else trimmed. */
function significantLines(text: string): Map<number, string> {
  const lines = new Map<number, string>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').replace(/^[ \t]+|[ \t]+$/g, '');
    if (line !== '' && !line.startsWith('#')) lines.set(index + 1, line);
  });
  return lines;
}

/** Checks everything CONTRACT says about a parsed list, whatever the text was. */
function assertListInvariants(text: string, families: ReadonlySet<Family> | undefined): void {
  const { destinations, errors } = parseDestinationList(text, families);
  const significant = significantLines(text);

  // Every significant line gives exactly one entry or one error; blank and comment lines none.
  const accounted = [...destinations.map((d) => d.line), ...errors.map((e) => e.line)];
  assert.deepEqual(
    accounted.sort((a, b) => (a ?? 0) - (b ?? 0)),
    [...significant.keys()],
  );
  // Entries and errors come top to bottom.
  const inOrder = (lines: (number | undefined)[]) =>
    lines.every((line, i) => i === 0 || (line ?? 0) > (lines[i - 1] ?? 0));
  assert.ok(inOrder(destinations.map((d) => d.line)));
  assert.ok(inOrder(errors.map((e) => e.line)));

  for (const error of errors) {
    assert.ok(isContractMessage(error.message), `not a CONTRACT text: ${JSON.stringify(error.message)}`);
    const line = significant.get(error.line ?? 0);
    assert.ok(line !== undefined, 'a list error names a line of the list');
    if (error.code === 'DESTINATION_INVALID') {
      assert.equal(error.message, `EGRESS_DESTINATION value '${line}' is invalid`);
    }
  }

  const used = new Set<string>();
  const fallbackFamilies = new Set<Family>();
  for (const entry of destinations) {
    if (entry.kind === 'name-mapping' || entry.kind === 'name-fallback') {
      assert.fail('names only where allowed (not by default)');
    }
    const family = entry.destination.family;
    assert.ok(families === undefined || families.has(family), 'destinations only in the source families');
    assert.deepEqual(parseIp(entry.destination.address), entry.destination, 'addresses are canonical');
    if (entry.kind === 'fallback') {
      assert.ok(!fallbackFamilies.has(family), 'one fallback per family');
      fallbackFamilies.add(family);
      continue;
    }
    assert.equal(fallbackFamilies.size, 0, 'mappings come before every fallback');
    for (const port of [entry.localPort, entry.remotePort]) {
      assert.ok(Number.isInteger(port) && port >= 1 && port <= 65535);
    }
    const key = `${entry.protocol}/${family}/${entry.localPort}`;
    assert.ok(!used.has(key), 'a local port once per protocol and family');
    used.add(key);
  }
}

describe('parseDestinationList() properties', () => {
  test('parseDestinationList() turns any text into entries or CONTRACT errors, never an exception', () => {
    fc.assert(
      fc.property(anyText, fc.constantFrom(...FAMILIES), (text, families) => {
        assertListInvariants(text, families);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('parseDestinationList() turns near-valid lists into entries or CONTRACT errors, line by line', () => {
    fc.assert(
      fc.property(nearValidListText, fc.constantFrom(...FAMILIES), (text, families) => {
        assertListInvariants(text, families);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('parseDestinationList() reads CRLF text as it reads LF text', () => {
    fc.assert(
      fc.property(nearValidListText, (text) => {
        const lf = text.replace(/\r$/gm, '');
        const crlf = lf.replace(/\n/g, '\r\n');
        assert.deepEqual(parseDestinationList(crlf, undefined), parseDestinationList(lf, undefined));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('parseIp() properties', () => {
  test('parseIp() takes every IPv4 dotted quad as written', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        assert.deepEqual(parseIp(text), { address: text, family: 4 });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('parseIp() takes every IPv6 address, canonically and idempotently', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ip = parseIp(text);
        assert.equal(ip?.family, 6);
        assert.equal(ip.address, ip.address.toLowerCase());
        assert.deepEqual(parseIp(ip.address), ip);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('parseIp() refuses the short, octal and hexadecimal IPv4 forms', () => {
    fc.assert(
      fc.property(fc.ipV4Extended(), (text) => {
        const ip = parseIp(text);
        assert.ok(ip === undefined || ip.address === text);
        assert.equal(ip !== undefined, /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*)){3}$/.test(text));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('parseIp() never throws', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        parseIp(text);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

test('parseRouterConfig() turns any environment into a configuration or CONTRACT errors, never an exception', () => {
  fc.assert(
    fc.property(routerEnv, (env) => {
      const result = parseRouterConfig(env);
      if (result.ok) return;
      assert.ok(result.errors.length > 0);
      for (const error of result.errors) {
        assert.ok(isContractMessage(error.message), `not a CONTRACT text: ${JSON.stringify(error.message)}`);
      }
    }),
    { numRuns: NUM_RUNS },
  );
});
