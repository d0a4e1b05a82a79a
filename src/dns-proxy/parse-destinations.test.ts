import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readTestdata } from './_testing.js';
import type { DnsProxyError } from './errors.js';
import { type DnsProxyEntry, parseDestinations } from './parse-destinations.js';

function toAddress(line: number, listenPort: number, address: string, remotePort?: number): DnsProxyEntry {
  return {
    line,
    listenPort,
    target: { kind: 'address', address: { address, family: address.includes(':') ? 6 : 4 } },
    remotePort: remotePort ?? listenPort,
  };
}

function toName(line: number, listenPort: number, name: string, remotePort?: number): DnsProxyEntry {
  return { line, listenPort, target: { kind: 'name', name }, remotePort: remotePort ?? listenPort };
}

function bad(line: number, text: string): DnsProxyError {
  return { code: 'DESTINATION_INVALID', message: `Bad destination '${text}'`, line };
}

function badPort(line: number, port: string): DnsProxyError {
  return { code: 'PORT_INVALID', message: `Invalid port: ${port}, must be in the range 1 to 65535`, line };
}

function portUsed(line: number, port: string): DnsProxyError {
  return {
    code: 'PORT_IN_USE',
    message: `Proxy port ${port} already used, must be unique for each destination`,
    line,
  };
}

describe('parseDestinations() accepts every line form', () => {
  const cases: [string, string, DnsProxyEntry[]][] = [
    ['<port> <ip>', '80 203.0.113.25', [toAddress(1, 80, '203.0.113.25')]],
    ['<port> <ip> <remote port>', '8080 203.0.113.26 80', [toAddress(1, 8080, '203.0.113.26', 80)]],
    ['<port> <domain name>', '100 example.com', [toName(1, 100, 'example.com')]],
    ['<port> <domain name> <remote port>', '8443 foobar.com 443', [toName(1, 8443, 'foobar.com', 443)]],
    ['<port> <IPv6 address>', '443 2001:DB8:0::25', [toAddress(1, 443, '2001:db8::25')]],
    ['<port> <IPv6 address> <remote port>', '444 2001:db8::25 443', [toAddress(1, 444, '2001:db8::25', 443)]],
    ['a name in capitals with a final dot', '80 API.Example.COM.', [toName(1, 80, 'api.example.com')]],
    ['the lowest and highest ports', '1 example.com 65535', [toName(1, 1, 'example.com', 65535)]],
    [
      'a port with leading zeros is decimal',
      '080 203.0.113.25 0443',
      [toAddress(1, 80, '203.0.113.25', 443)],
    ],
    ['a remote port equal to the proxy port', '80 example.com 80', [toName(1, 80, 'example.com', 80)]],
    ['loopback (the admin decides)', '80 127.0.0.1 8080', [toAddress(1, 80, '127.0.0.1', 8080)]],
    ['a comment after blanks', '   # nothing\n80 example.com', [toName(2, 80, 'example.com')]],
  ];
  for (const [name, text, entries] of cases) {
    test(`parseDestinations() accepts ${name}`, () => {
      assert.deepEqual(parseDestinations(text), { entries, errors: [] });
    });
  }

  test("parseDestinations() reads the old image's documented example", () => {
    assert.deepEqual(parseDestinations(readTestdata('old-image-docs.txt')), {
      entries: [
        toAddress(3, 80, '203.0.113.25'),
        toName(5, 100, 'example.com'),
        toAddress(7, 8080, '203.0.113.26', 80),
        toName(9, 8443, 'foobar.com', 443),
      ],
      errors: [],
    });
  });

  test('parseDestinations() takes CRLF line ends, tabs and runs of blanks', () => {
    assert.deepEqual(parseDestinations(readTestdata('crlf-tabs-ipv6.txt')), {
      entries: [
        toAddress(2, 80, '203.0.113.25'),
        toName(3, 8080, 'api.example.com', 80),
        toAddress(5, 443, '2001:db8::25'),
      ],
      errors: [],
    });
  });

  test('parseDestinations() of only comments and blanks is an empty list', () => {
    assert.deepEqual(parseDestinations('# none\n\n  \n'), { entries: [], errors: [] });
  });
});

describe('parseDestinations() reports every error in the exact CONTRACT text', () => {
  test('parseDestinations() reports each broken line once, top to bottom, with its line number', () => {
    const result = parseDestinations(readTestdata('broken-every-error.txt'));
    assert.deepEqual(result.entries, [toAddress(2, 80, '203.0.113.25')]);
    assert.deepEqual(result.errors, [
      bad(3, 'not a destination'),
      bad(4, '81 300.1.2.3'),
      bad(5, '82 localhost'),
      bad(6, '83 under_score.example.com'),
      bad(7, '84 203.0.113.25 80 90'),
      bad(8, '85 [2001:db8::1]'),
      bad(9, '86 0.0.0.0'),
      bad(10, '87 224.0.0.1'),
      badPort(11, '0'),
      badPort(12, '65536'),
      portUsed(13, '80'),
      badPort(14, '99999'),
      bad(15, '89 tcp 203.0.113.25'),
    ]);
  });

  const single: [string, string, DnsProxyError][] = [
    ['a lone port', '80', bad(1, '80')],
    ['a lone name', 'example.com', bad(1, 'example.com')],
    ['a router line (with a protocol)', '80 tcp 10.0.0.1', bad(1, '80 tcp 10.0.0.1')],
    ['a negative port', '-1 example.com', bad(1, '-1 example.com')],
    ['a port with a sign', '+80 example.com', bad(1, '+80 example.com')],
    ['a remote port that is not a number', '80 example.com http', bad(1, '80 example.com http')],
    ['an address with a zone', '80 fe80::1%eth0', bad(1, '80 fe80::1%eth0')],
    ['an IPv4 address with leading zeros', '80 010.1.2.3', bad(1, '80 010.1.2.3')],
    ['a host:port', '80 example.com:443', bad(1, '80 example.com:443')],
    ['a URL', '80 https://example.com', bad(1, '80 https://example.com')],
    ['trailing blanks are not part of the quoted line', '  80 x \t', bad(1, '80 x')],
    ['a proxy port of 0', '0 example.com', badPort(1, '0')],
    ['a proxy port past 65535', '65536 example.com', badPort(1, '65536')],
    ['a remote port of 0', '80 example.com 0', badPort(1, '0')],
    [
      'a huge port, quoted as written',
      '99999999999999999999 example.com',
      badPort(1, '99999999999999999999'),
    ],
    ['the proxy port before the remote port', '0 example.com 0', badPort(1, '0')],
  ];
  for (const [name, text, error] of single) {
    test(`parseDestinations() refuses ${name}`, () => {
      assert.deepEqual(parseDestinations(text), { entries: [], errors: [error] });
    });
  }

  test('parseDestinations() refuses a proxy port used twice, also written differently', () => {
    assert.deepEqual(parseDestinations('80 example.com\n080 203.0.113.25').errors, [portUsed(2, '080')]);
  });
});
