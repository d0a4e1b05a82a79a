import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type NumericIp, toNumericIp } from './ip.js';
import {
  describeMatch,
  normalizeName,
  type PolicyError,
  type PolicyRule,
  parseMatch,
  parsePolicy,
  type RuleMatch,
} from './parse-policy.js';

/** A fixture of src/proxy/policy/testdata/ (tsc does not copy .txt files into dist). */
function testdata(name: string): string {
  return readFileSync(
    fileURLToPath(new URL(`../../../../src/proxy/policy/testdata/${name}`, import.meta.url)),
    'utf8',
  );
}

function ip(text: string): NumericIp {
  const value = toNumericIp(text);
  assert.ok(value, `${text} is an address`);
  return value;
}

const address = (network: string, prefix: number): RuleMatch => ({
  kind: 'address',
  network: ip(network),
  prefix,
});
const name = (text: string): RuleMatch => ({ kind: 'name', name: text });
const domain = (text: string): RuleMatch => ({ kind: 'domain', domain: text });

function rule(index: number, line: number, text: string, match: RuleMatch): PolicyRule {
  return { index, line, text, action: text.startsWith('!') ? 'deny' : 'allow', match };
}

function bad(line: number, destination: string): PolicyError {
  return { code: 'BAD_DESTINATION', message: `Bad destination '${destination}'`, line };
}

function wildcard(line: number): PolicyError {
  return { code: 'WILDCARD_NOT_LAST', message: 'Wildcard must be last rule, if present', line };
}

describe('parsePolicy() reads every line form', () => {
  const cases: [string, string, RuleMatch][] = [
    ['an IPv4 address', '192.168.1.1', address('192.168.1.1', 32)],
    ['an IPv6 address', 'fe80::1', address('fe80::1', 128)],
    ['an IPv4 range', '192.168.1.0/24', address('192.168.1.0', 24)],
    ['an IPv6 range', 'fe80::/10', address('fe80::', 10)],
    ['a host name', 'www.example.com', name('www.example.com')],
    ['a domain', '*.example.com', domain('example.com')],
    ['every IPv4 address', '0.0.0.0/0', address('0.0.0.0', 0)],
    ['every IPv6 address', '::/0', address('::', 0)],
    ['a range written with host bits (cleared)', '192.168.1.77/24', address('192.168.1.0', 24)],
    ['an IPv6 range written with host bits (cleared)', '2001:db8::1/32', address('2001:db8::', 32)],
    ['an IPv6 address in capitals', '2001:DB8::AB', address('2001:db8::ab', 128)],
    ['an IPv4-mapped IPv6 address (the IPv4 address)', '::ffff:192.168.1.1', address('192.168.1.1', 32)],
    ['an IPv4-mapped IPv6 address in hex', '::ffff:c0a8:101', address('192.168.1.1', 32)],
    [
      'an IPv4-mapped IPv6 range (prefix counted from 96)',
      '::ffff:192.168.0.0/112',
      address('192.168.0.0', 16),
    ],
    ['all of IPv4-mapped IPv6 (all of IPv4)', '::ffff:0:0/96', address('0.0.0.0', 0)],
    ['a NAT64 range (stays IPv6)', '64:ff9b::/96', address('64:ff9b::', 96)],
    ['a name in capitals with a trailing dot', 'WWW.Example.COM.', name('www.example.com')],
    ['a domain in capitals with a trailing dot', '*.Example.COM.', domain('example.com')],
    ['an internationalized name (IDNA)', 'bücher.example', name('xn--bcher-kva.example')],
    ['a name with an underscore and digits', '_svc.host-1.example', name('_svc.host-1.example')],
    ['a single-label name', 'localhost', name('localhost')],
    ['a name of 253 characters', `${'abcdefghi.'.repeat(25)}com`, name(`${'abcdefghi.'.repeat(25)}com`)],
    ['a domain of one label', '*.internal', domain('internal')],
  ];
  for (const [what, text, match] of cases) {
    test(`parsePolicy() reads ${what}: ${text}`, () => {
      assert.deepEqual(parsePolicy(text), {
        ok: true,
        value: { rules: [rule(1, 1, text, match)], allowRest: false },
      });
      assert.deepEqual(parsePolicy(`!${text}`), {
        ok: true,
        value: { rules: [rule(1, 1, `!${text}`, match)], allowRest: false },
      });
    });
  }

  test('parsePolicy() reads a final * as "allow the rest", and no * as "deny the rest"', () => {
    assert.deepEqual(parsePolicy('*'), { ok: true, value: { rules: [], allowRest: true, wildcardLine: 1 } });
    assert.deepEqual(parsePolicy('!*.example.net\n*'), {
      ok: true,
      value: {
        rules: [rule(1, 1, '!*.example.net', domain('example.net'))],
        allowRest: true,
        wildcardLine: 2,
      },
    });
    assert.deepEqual(parsePolicy('example.com'), {
      ok: true,
      value: { rules: [rule(1, 1, 'example.com', name('example.com'))], allowRest: false },
    });
  });

  test('parsePolicy() accepts a repeated final * as the old image did', () => {
    assert.deepEqual(parsePolicy('a.example\n*\n# again\n*'), {
      ok: true,
      value: { rules: [rule(1, 1, 'a.example', name('a.example'))], allowRest: true, wildcardLine: 2 },
    });
  });

  test("parsePolicy() reads the old image's documented example in order", () => {
    assert.deepEqual(parsePolicy(testdata('old-image-example.txt')), {
      ok: true,
      value: {
        rules: [
          rule(1, 4, '!*.bad.example.com', domain('bad.example.com')),
          rule(2, 5, '*.example.com', domain('example.com')),
          rule(3, 7, '192.168.0.0/16', address('192.168.0.0', 16)),
          rule(4, 8, 'fe80::/10', address('fe80::', 10)),
        ],
        allowRest: false,
      },
    });
  });

  test('parsePolicy() reads every line form, allow and deny, with their lines and indexes', () => {
    assert.deepEqual(parsePolicy(testdata('every-line-form.txt')), {
      ok: true,
      value: {
        rules: [
          rule(1, 2, '192.168.1.1', address('192.168.1.1', 32)),
          rule(2, 3, 'fe80::1', address('fe80::1', 128)),
          rule(3, 4, '192.168.1.0/24', address('192.168.1.0', 24)),
          rule(4, 5, 'fe80::/10', address('fe80::', 10)),
          rule(5, 6, 'www.example.com', name('www.example.com')),
          rule(6, 7, '*.example.com', domain('example.com')),
          rule(7, 8, '!192.168.2.1', address('192.168.2.1', 32)),
          rule(8, 9, '!fe80::2', address('fe80::2', 128)),
          rule(9, 10, '!192.168.2.0/24', address('192.168.2.0', 24)),
          rule(10, 11, '!fe80::/16', address('fe80::', 16)),
          rule(11, 12, '!www.example.net', name('www.example.net')),
          rule(12, 13, '!*.example.net', domain('example.net')),
        ],
        allowRest: true,
        wildcardLine: 14,
      },
    });
  });

  test('parsePolicy() takes CRLF line ends, tabs, blanks, indented comments, capitals and a trailing dot', () => {
    assert.deepEqual(parsePolicy(testdata('crlf-tabs-case.txt')), {
      ok: true,
      value: {
        rules: [
          rule(1, 3, '*.Example.COM.', domain('example.com')),
          rule(2, 5, '!10.0.0.0/8', address('10.0.0.0', 8)),
        ],
        allowRest: true,
        wildcardLine: 7,
      },
    });
  });

  test('parsePolicy() accepts a policy of comments only: no rule, everything denied (as the old image)', () => {
    assert.deepEqual(parsePolicy(testdata('only-comments.txt')), {
      ok: true,
      value: { rules: [], allowRest: false },
    });
  });
});

describe('parsePolicy() reports errors in the old image exact texts', () => {
  test('parsePolicy() reports an unset or empty policy', () => {
    const unspecified = {
      ok: false,
      errors: [{ code: 'POLICY_UNSPECIFIED', message: 'No EGRESS_HTTP_PROXY_DESTINATION specified' }],
    };
    assert.deepEqual(parsePolicy(undefined), unspecified);
    assert.deepEqual(parsePolicy(''), unspecified);
  });

  test('parsePolicy() reports a rule after the wildcard', () => {
    assert.deepEqual(parsePolicy(testdata('broken-wildcard-not-last.txt')), {
      ok: false,
      errors: [wildcard(2)],
    });
    assert.deepEqual(parsePolicy('*\n!example.com\n# comment\n*'), { ok: false, errors: [wildcard(2)] });
  });

  // The old image printed the destination after stripping a leading '!'.
  const badDestinations: [string, string, string][] = [
    ['two words', 'foo bar', 'foo bar'],
    ['two words, denied', '!foo bar', 'foo bar'],
    ['a blank after the !', '! example.com', ' example.com'],
    ['two !', '!!example.com', '!example.com'],
    ['a denied wildcard', '!*', '*'],
    ['an IPv4 address out of range (validated for real)', '300.1.2.3', '300.1.2.3'],
    ['an IPv4 prefix over 32', '192.168.1.0/33', '192.168.1.0/33'],
    ['an IPv6 prefix over 128', 'fe80::/129', 'fe80::/129'],
    ['an empty prefix', '10.0.0.0/', '10.0.0.0/'],
    ['a prefix with a sign', '10.0.0.0/+8', '10.0.0.0/+8'],
    ['two prefixes', '10.0.0.0/8/8', '10.0.0.0/8/8'],
    ['a prefix alone', '/24', '/24'],
    ['a prefix on a name', 'example.com/24', 'example.com/24'],
    ['an IPv4-mapped prefix below 96', '::ffff:0:0/95', '::ffff:0:0/95'],
    ['an IPv6 zone', 'fe80::1%eth0', 'fe80::1%eth0'],
    ['a bracketed IPv6 address', '[fe80::1]', '[fe80::1]'],
    ['a short IPv4 address', '192.168.1', '192.168.1'],
    ['an IPv4 number', '3232235777', '3232235777'],
    ['a hex IPv4 address', '0xc0a80101', '0xc0a80101'],
    ['a name ending in a number', 'example.123', 'example.123'],
    ['a * not followed by a dot', '*example.com', '*example.com'],
    ['a * in the middle', 'www.*.example.com', 'www.*.example.com'],
    ['a * at the end', 'example.*', 'example.*'],
    ['two * labels', '*.*.example.com', '*.*.example.com'],
    ['a domain with nothing after *.', '*.', '*.'],
    ['a URL', 'http://example.com/', 'http://example.com/'],
    ['a port', 'example.com:80', 'example.com:80'],
    ['userinfo', 'user@example.com', 'user@example.com'],
    ['a comment after a rule', 'example.com # ours', 'example.com # ours'],
    ['an empty label', 'example..com', 'example..com'],
    ['two trailing dots', 'example.com..', 'example.com..'],
    ['a label starting with a hyphen', '-bad.example.com', '-bad.example.com'],
    ['a label of 64 characters', `${'a'.repeat(64)}.example.com`, `${'a'.repeat(64)}.example.com`],
    ['a name of 254 characters', `${'abcdefghi.'.repeat(25)}comx`, `${'abcdefghi.'.repeat(25)}comx`],
    ['a backslash', 'example.com\\', 'example.com\\'],
  ];
  for (const [what, text, destination] of badDestinations) {
    test(`parsePolicy() refuses ${what}: ${text}`, () => {
      assert.deepEqual(parsePolicy(text), { ok: false, errors: [bad(1, destination)] });
    });
  }

  test('parsePolicy() collects every error with its line, top to bottom', () => {
    assert.deepEqual(parsePolicy(testdata('broken-every-error.txt')), {
      ok: false,
      errors: [
        bad(3, 'foo bar'),
        bad(4, '300.1.2.3'),
        bad(5, '192.168.1.0/33'),
        bad(6, 'fe80::/129'),
        bad(7, '*example.com'),
        bad(8, 'http://example.com/'),
        wildcard(10),
      ],
    });
  });
});

describe('parseMatch(), normalizeName() and describeMatch()', () => {
  test('normalizeName() lower-cases, IDNA-encodes and drops one trailing dot', () => {
    const cases: [string, string | undefined][] = [
      ['Example.COM', 'example.com'],
      ['example.com.', 'example.com'],
      ['example.com..', undefined],
      ['.example.com', undefined],
      ['MÜNCHEN.example', 'xn--mnchen-3ya.example'],
      ['a_b.example', 'a_b.example'],
      ['', undefined],
      ['.', undefined],
      ['a b', undefined],
      ['a/b', undefined],
      ['a@b', undefined],
      ['a:80', undefined],
      ['[a]', undefined],
      ['a%2eb', undefined],
      ['a?b', undefined],
      ['a#b', undefined],
      ['*.a', undefined],
      ['!a', undefined],
      ['1.2.3.4', undefined],
      ['example.0x10', undefined],
      ['example.0x', undefined],
      ['example.1a', 'example.1a'],
    ];
    for (const [text, expected] of cases) assert.equal(normalizeName(text), expected, text);
  });

  test('describeMatch() prints the canonical form --check shows', () => {
    const cases: [string, string][] = [
      ['192.168.1.77/24', '192.168.1.0/24'],
      ['192.168.1.1', '192.168.1.1/32'],
      ['2001:DB8:0:0::1', '2001:db8::1/128'],
      ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
      ['WWW.Example.com.', 'www.example.com'],
      ['*.Example.com', '*.example.com'],
    ];
    for (const [text, described] of cases) {
      const match = parseMatch(text);
      assert.ok(match, text);
      assert.equal(describeMatch(match), described, text);
    }
  });
});
