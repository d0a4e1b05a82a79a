import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readTestdata } from './_testing.js';
import type { Family } from './address.js';
import { type Destination, type Protocol, parseDestinationList } from './destination-list.js';
import type { ConfigError } from './errors.js';

const IPV4: ReadonlySet<Family> = new Set([4]);
const IPV6: ReadonlySet<Family> = new Set([6]);
const DUAL: ReadonlySet<Family> = new Set([4, 6]);

function mapping(
  line: number,
  protocol: Protocol,
  localPort: number,
  address: string,
  remotePort?: number,
): Destination {
  return {
    kind: 'mapping',
    line,
    protocol,
    localPort,
    destination: { address, family: address.includes(':') ? 6 : 4 },
    remotePort: remotePort ?? localPort,
    remotePortWritten: remotePort !== undefined,
  };
}

function fallback(line: number, address: string): Destination {
  return { kind: 'fallback', line, destination: { address, family: address.includes(':') ? 6 : 4 } };
}

function invalid(line: number, text: string): ConfigError {
  return { code: 'DESTINATION_INVALID', message: `EGRESS_DESTINATION value '${text}' is invalid`, line };
}

function badPort(line: number, port: string): ConfigError {
  return { code: 'PORT_INVALID', message: `Invalid port: ${port}, must be in the range 1 to 65535`, line };
}

function portInUse(line: number, port: string): ConfigError {
  return {
    code: 'PORT_IN_USE',
    message: `EGRESS_DESTINATION localport ${port} is already used, must be unique for each destination`,
    line,
  };
}

function notLast(line: number): ConfigError {
  return { code: 'FALLBACK_NOT_LAST', message: 'EGRESS_DESTINATION fallback IP must be the last line', line };
}

function noSourceFamily(line: number, text: string, family: Family): ConfigError {
  return {
    code: 'DESTINATION_FAMILY_WITHOUT_SOURCE',
    message: `EGRESS_DESTINATION value '${text}' is invalid: EGRESS_SOURCE has no IPv${family} address`,
    line,
  };
}

describe('parseDestinationList() accepts every line form', () => {
  const cases: [string, string, Destination[]][] = [
    ['<port> <proto> <ip>', '80 tcp 203.0.113.25', [mapping(1, 'tcp', 80, '203.0.113.25')]],
    ['<port> udp <ip>', '53 udp 203.0.113.53', [mapping(1, 'udp', 53, '203.0.113.53')]],
    [
      '<port> <proto> <ip> <remote port>',
      '8080 tcp 203.0.113.26 80',
      [mapping(1, 'tcp', 8080, '203.0.113.26', 80)],
    ],
    [
      'a remote port equal to the local port, kept as written',
      '8080 tcp 203.0.113.26 8080',
      [mapping(1, 'tcp', 8080, '203.0.113.26', 8080)],
    ],
    ['<ip> (fallback)', '203.0.113.27', [fallback(1, '203.0.113.27')]],
    ['the lowest and highest ports', '1 tcp 10.0.0.1 65535', [mapping(1, 'tcp', 1, '10.0.0.1', 65535)]],
    [
      'a port with leading zeros is decimal',
      '080 tcp 10.0.0.1 0443',
      [mapping(1, 'tcp', 80, '10.0.0.1', 443)],
    ],
    [
      'an IPv6 destination, canonicalised',
      '443 tcp 2001:DB8:0:0::5 8443',
      [mapping(1, 'tcp', 443, '2001:db8::5', 8443)],
    ],
    ['an IPv6 fallback', '2001:db8::1', [fallback(1, '2001:db8::1')]],
    [
      'tabs and several spaces between fields',
      '80\ttcp  \t 203.0.113.25    80',
      [mapping(1, 'tcp', 80, '203.0.113.25', 80)],
    ],
    [
      'leading and trailing blanks',
      ' \t80 tcp 203.0.113.25 \t\n\t203.0.113.27  ',
      [mapping(1, 'tcp', 80, '203.0.113.25'), fallback(2, '203.0.113.27')],
    ],
    [
      'CRLF line ends',
      '80 tcp 203.0.113.25\r\n\r\n# comment\r\n203.0.113.27\r\n',
      [mapping(1, 'tcp', 80, '203.0.113.25'), fallback(4, '203.0.113.27')],
    ],
    [
      'blank lines, blank-only lines and comments are skipped but counted',
      '\n# comment\n   \n\t\n  # indented comment\n#80 tcp 1.2.3.4\n80 tcp 203.0.113.25\n',
      [mapping(7, 'tcp', 80, '203.0.113.25')],
    ],
    [
      '53 tcp and 53 udp may both appear (deviation: once per protocol)',
      '53 tcp 203.0.113.53\n53 udp 203.0.113.53',
      [mapping(1, 'tcp', 53, '203.0.113.53'), mapping(2, 'udp', 53, '203.0.113.53')],
    ],
    [
      'a comment holding a lone CR or a line separator',
      '# a\rb\n  # c\u2028d\n80 tcp 203.0.113.25',
      [mapping(3, 'tcp', 80, '203.0.113.25')],
    ],
    ['only comments', '# nothing yet\n', []],
    ['an empty text', '', []],
  ];
  for (const [name, text, expected] of cases) {
    test(`parseDestinationList() accepts ${name}`, () => {
      assert.deepEqual(parseDestinationList(text, DUAL), {
        destinations: expected,
        errors: [],
      });
    });
  }
});

describe('parseDestinationList() reports every error with its exact text and line', () => {
  const cases: [string, string, ConfigError[]][] = [
    ['words', 'not an IP address', [invalid(1, 'not an IP address')]],
    ['one word', 'invalid', [invalid(1, 'invalid')]],
    ['an unknown protocol', '80 sctp 10.4.5.6', [invalid(1, '80 sctp 10.4.5.6')]],
    ['an upper-case protocol', '80 TCP 10.4.5.6', [invalid(1, '80 TCP 10.4.5.6')]],
    ['a missing address', '80 tcp', [invalid(1, '80 tcp')]],
    ['a port alone', '80', [invalid(1, '80')]],
    ['five fields', '80 tcp 10.4.5.6 80 90', [invalid(1, '80 tcp 10.4.5.6 80 90')]],
    ['a signed port', '-1 tcp 10.4.5.6', [invalid(1, '-1 tcp 10.4.5.6')]],
    ['a named port', 'http tcp 10.4.5.6', [invalid(1, 'http tcp 10.4.5.6')]],
    ['a non-numeric remote port', '80 tcp 10.4.5.6 x', [invalid(1, '80 tcp 10.4.5.6 x')]],
    ['a host name', '80 tcp example.com', [invalid(1, '80 tcp example.com')]],
    ['an address range as fallback', '10.0.0.0/8', [invalid(1, '10.0.0.0/8')]],
    ['an address with a prefix', '80 tcp 10.4.5.6/32', [invalid(1, '80 tcp 10.4.5.6/32')]],
    ['fields in the wrong order', 'tcp 80 10.4.5.6', [invalid(1, 'tcp 80 10.4.5.6')]],
    ['an IPv6 zone', '80 tcp fe80::1%eth0', [invalid(1, '80 tcp fe80::1%eth0')]],
    ['a bracketed IPv6 address', '[2001:db8::1]', [invalid(1, '[2001:db8::1]')]],
    ['an address out of range (deviation)', '80 tcp 300.1.2.3', [invalid(1, '80 tcp 300.1.2.3')]],
    ['a fallback out of range (deviation)', '300.1.2.3', [invalid(1, '300.1.2.3')]],
    [
      'the line trimmed but inner blanks kept',
      '  80   sctp\t10.4.5.6  ',
      [invalid(1, '80   sctp\t10.4.5.6')],
    ],
    ['a CRLF line without its CR', 'bogus\r\n', [invalid(1, 'bogus')]],
    ['local port 0', '0 tcp 10.4.5.6', [badPort(1, '0')]],
    ['local port 65536', '65536 tcp 10.4.5.6', [badPort(1, '65536')]],
    ['local port 800000', '800000 tcp 10.4.5.6', [badPort(1, '800000')]],
    ['a huge local port', '99999999999999999999 tcp 10.4.5.6', [badPort(1, '99999999999999999999')]],
    ['remote port 0', '80 tcp 10.4.5.6 0', [badPort(1, '0')]],
    ['remote port 65536', '80 tcp 10.4.5.6 65536', [badPort(1, '65536')]],
    ['both ports: the remote one first, as the old image', '70000 tcp 10.4.5.6 0', [badPort(1, '0')]],
    [
      'a local port used twice',
      '80 tcp 10.4.5.6\n8080 tcp 10.7.8.9 80\n80 tcp 10.7.8.9 900',
      [portInUse(3, '80')],
    ],
    [
      'a local port used twice, written differently',
      '80 tcp 10.4.5.6\n080 tcp 10.7.8.9',
      [portInUse(2, '080')],
    ],
    [
      'a local UDP port used twice',
      '53 udp 10.4.5.6\n53 tcp 10.4.5.6\n53 udp 10.4.5.7',
      [portInUse(3, '53')],
    ],
    ['a mapping after the fallback', '10.1.2.3\n80 tcp 10.4.5.6', [notLast(2)]],
    ['two fallbacks', '10.1.2.3\n10.4.5.6', [notLast(2)]],
    ['a fallback in the middle', '80 tcp 10.4.5.6\n10.1.2.3\n8080 tcp 10.7.8.9 80', [notLast(3)]],
    [
      'every line after the fallback, even an invalid one',
      '10.1.2.3\n\n# comment\nbogus\n81 tcp 10.4.5.6',
      [notLast(4), notLast(5)],
    ],
    [
      'every problem, top to bottom',
      '80 tcp 10.4.5.6\ninvalid\n0 tcp 10.4.5.6\n80 tcp 10.7.8.9\n8080 tcp 10.7.8.9 80',
      [invalid(2, 'invalid'), badPort(3, '0'), portInUse(4, '80')],
    ],
  ];
  for (const [name, text, expected] of cases) {
    test(`parseDestinationList() refuses ${name}`, () => {
      assert.deepEqual(parseDestinationList(text, IPV4).errors, expected);
    });
  }

  test('parseDestinationList() keeps the valid entries next to the errors', () => {
    const result = parseDestinationList('80 tcp 10.4.5.6\nbogus\n10.1.2.3\n81 tcp 10.4.5.6', IPV4);
    assert.deepEqual(result.destinations, [mapping(1, 'tcp', 80, '10.4.5.6'), fallback(3, '10.1.2.3')]);
    assert.deepEqual(result.errors, [invalid(2, 'bogus'), notLast(4)]);
  });
});

describe('parseDestinationList() with dual stack', () => {
  test('parseDestinationList() refuses an IPv6 destination when the source has no IPv6 address', () => {
    assert.deepEqual(parseDestinationList('80 tcp 10.4.5.6\n443 tcp 2001:db8::5\n2001:db8::1', IPV4).errors, [
      noSourceFamily(2, '443 tcp 2001:db8::5', 6),
      noSourceFamily(3, '2001:db8::1', 6),
    ]);
  });

  test('parseDestinationList() refuses an IPv4 destination when the source has no IPv4 address', () => {
    assert.deepEqual(parseDestinationList('80 tcp 10.4.5.6\n10.1.2.3', IPV6).errors, [
      noSourceFamily(1, '80 tcp 10.4.5.6', 4),
      noSourceFamily(2, '10.1.2.3', 4),
    ]);
  });

  test('parseDestinationList() checks the family after the ports and before uniqueness', () => {
    assert.deepEqual(
      parseDestinationList('0 tcp 2001:db8::5\n80 tcp 2001:db8::5\n80 tcp 2001:db8::6', IPV4).errors,
      [
        badPort(1, '0'),
        noSourceFamily(2, '80 tcp 2001:db8::5', 6),
        noSourceFamily(3, '80 tcp 2001:db8::6', 6),
      ],
    );
  });

  test('parseDestinationList() skips the family check without a source', () => {
    assert.deepEqual(parseDestinationList('443 tcp 2001:db8::5\n10.1.2.3', undefined), {
      destinations: [mapping(1, 'tcp', 443, '2001:db8::5'), fallback(2, '10.1.2.3')],
      errors: [],
    });
  });

  test('parseDestinationList() allows one local port per protocol and family', () => {
    assert.deepEqual(parseDestinationList('80 tcp 10.4.5.6\n80 tcp 2001:db8::5', DUAL), {
      destinations: [mapping(1, 'tcp', 80, '10.4.5.6'), mapping(2, 'tcp', 80, '2001:db8::5')],
      errors: [],
    });
    assert.deepEqual(parseDestinationList('80 tcp 2001:db8::5\n80 tcp 2001:db8:0::6', DUAL).errors, [
      portInUse(2, '80'),
    ]);
  });

  const fallbacks: [string, string, ConfigError[]][] = [
    ['an IPv4 then an IPv6 fallback', '80 tcp 10.4.5.6\n10.1.2.3\n2001:db8::1', []],
    ['an IPv6 then an IPv4 fallback', '2001:db8::1\n\n# comment\n10.1.2.3\n', []],
    ['two IPv4 fallbacks around an IPv6 one', '10.1.2.3\n2001:db8::1\n10.1.2.4', [notLast(3)]],
    ['two IPv6 fallbacks', '2001:db8::1\n2001:db8::2', [notLast(2)]],
    ['an IPv6 mapping after an IPv4 fallback', '10.1.2.3\n80 tcp 2001:db8::5', [notLast(2)]],
    ['an IPv4 mapping after both fallbacks', '10.1.2.3\n2001:db8::1\n80 tcp 10.4.5.6', [notLast(3)]],
  ];
  for (const [name, text, expected] of fallbacks) {
    test(`parseDestinationList() with ${name} gives ${expected.length === 0 ? 'no error' : 'an error'}`, () => {
      assert.deepEqual(parseDestinationList(text, DUAL).errors, expected);
    });
  }

  test('parseDestinationList() names the line of a second-family fallback the source lacks', () => {
    assert.deepEqual(parseDestinationList('10.1.2.3\n2001:db8::1', IPV4).errors, [
      noSourceFamily(2, '2001:db8::1', 6),
    ]);
  });
});

describe('parseDestinationList() on the fixtures of testdata/', () => {
  test("parseDestinationList() reads the seed's ConfigMap example", () => {
    assert.deepEqual(parseDestinationList(readTestdata('seed-configmap.txt'), IPV4), {
      destinations: [
        mapping(3, 'tcp', 80, '203.0.113.25'),
        mapping(5, 'tcp', 8080, '203.0.113.26', 80),
        mapping(6, 'tcp', 8443, '203.0.113.26', 443),
        fallback(9, '203.0.113.27'),
      ],
      errors: [],
    });
  });

  test('parseDestinationList() reads a list commented throughout, comments after the fallback', () => {
    assert.deepEqual(parseDestinationList(readTestdata('commented-fallback.txt'), IPV4), {
      destinations: [
        mapping(5, 'tcp', 80, '10.4.5.6'),
        mapping(8, 'tcp', 8080, '10.7.8.9', 80),
        fallback(14, '10.1.2.3'),
      ],
      errors: [],
    });
  });

  test('parseDestinationList() reads CRLF lines', () => {
    assert.deepEqual(parseDestinationList(readTestdata('crlf.txt'), IPV4), {
      destinations: [
        mapping(2, 'tcp', 80, '203.0.113.25'),
        mapping(4, 'tcp', 8080, '203.0.113.26', 80),
        fallback(5, '203.0.113.27'),
      ],
      errors: [],
    });
  });

  test('parseDestinationList() reads tabs and runs of spaces between fields', () => {
    assert.deepEqual(parseDestinationList(readTestdata('tabs-and-spaces.txt'), IPV4), {
      destinations: [
        mapping(1, 'tcp', 80, '203.0.113.25'),
        mapping(2, 'tcp', 8080, '203.0.113.26', 80),
        fallback(5, '203.0.113.27'),
      ],
      errors: [],
    });
  });

  test('parseDestinationList() reads a dual-stack list', () => {
    assert.deepEqual(parseDestinationList(readTestdata('dual-stack.txt'), DUAL), {
      destinations: [
        mapping(2, 'udp', 53, '192.0.2.53'),
        mapping(3, 'tcp', 53, '192.0.2.53'),
        mapping(4, 'udp', 53, '2001:db8::53'),
        mapping(5, 'tcp', 443, '2001:db8::443', 8443),
        fallback(6, '192.0.2.1'),
        fallback(7, '2001:db8::1'),
      ],
      errors: [],
    });
  });

  test('parseDestinationList() reports every error of a broken list in order', () => {
    assert.deepEqual(parseDestinationList(readTestdata('broken-every-error.txt'), IPV4).errors, [
      invalid(3, 'not an IP address'),
      invalid(4, '80 sctp 203.0.113.25'),
      invalid(5, '81 tcp 300.1.2.3'),
      badPort(6, '0'),
      badPort(7, '65536'),
      portInUse(9, '80'),
      notLast(11),
    ]);
  });

  test('parseDestinationList() reports a fallback in the middle of a list', () => {
    assert.deepEqual(parseDestinationList(readTestdata('broken-fallback-not-last.txt'), IPV4).errors, [
      notLast(3),
    ]);
  });
});
