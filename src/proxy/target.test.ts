import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { numericIpToString } from './policy/ip.js';
import {
  isPlainHost,
  parseAbsoluteTarget,
  parseConnectTarget,
  type Target,
  type TargetResult,
} from './target.js';

/** A target in short: what the policy checks (`name x` or `ip x`), the port, Host and path. */
function short(result: TargetResult<Target & { path?: string }>): string {
  if (!result.ok) return `refused: ${result.reason}`;
  const { name, ip, port, authority, path } = result.value;
  const host = name !== undefined ? `name ${name}` : `ip ${numericIpToString(ip!)} (IPv${ip!.family})`;
  return `${host} port ${port} host ${authority}${path === undefined ? '' : ` path ${path}`}`;
}

describe('parseAbsoluteTarget() reads the absolute-form targets of proxied HTTP requests', () => {
  const cases: [string, string, string][] = [
    ['a name', 'http://example.com/', 'name example.com port 80 host example.com path /'],
    ['no path', 'http://example.com', 'name example.com port 80 host example.com path /'],
    [
      'a query without a path',
      'http://example.com?x=1',
      'name example.com port 80 host example.com path /?x=1',
    ],
    [
      'a path and a query',
      'http://example.com/a/b?x=1&y',
      'name example.com port 80 host example.com path /a/b?x=1&y',
    ],
    [
      'an encoded path kept as sent',
      'http://a.example/%2e%2e/x',
      'name a.example port 80 host a.example path /%2e%2e/x',
    ],
    [
      'upper case and a trailing dot',
      'http://WWW.Example.COM./',
      'name www.example.com port 80 host www.example.com path /',
    ],
    ['the scheme in capitals', 'HTTP://example.com/', 'name example.com port 80 host example.com path /'],
    ['a port', 'http://example.com:8080/', 'name example.com port 8080 host example.com:8080 path /'],
    [
      'the default port (left out of Host)',
      'http://example.com:80/',
      'name example.com port 80 host example.com path /',
    ],
    [
      'a port with leading zeros',
      'http://example.com:0080/',
      'name example.com port 80 host example.com path /',
    ],
    [
      'an internationalized name',
      'http://bücher.example/',
      'name xn--bcher-kva.example port 80 host xn--bcher-kva.example path /',
    ],
    [
      'a full-width dot (IDNA maps it)',
      'http://example\u3002com/',
      'name example.com port 80 host example.com path /',
    ],
    ['an IPv4 address', 'http://192.168.1.1/', 'ip 192.168.1.1 (IPv4) port 80 host 192.168.1.1 path /'],
    [
      'an IPv4 address with a trailing dot',
      'http://192.168.1.1./',
      'ip 192.168.1.1 (IPv4) port 80 host 192.168.1.1 path /',
    ],
    ['hex IPv4', 'http://0xc0a80101/', 'ip 192.168.1.1 (IPv4) port 80 host 192.168.1.1 path /'],
    ['hex IPv4 in capitals', 'http://0XC0A80101/', 'ip 192.168.1.1 (IPv4) port 80 host 192.168.1.1 path /'],
    ['octal IPv4', 'http://0300.0250.1.1/', 'ip 192.168.1.1 (IPv4) port 80 host 192.168.1.1 path /'],
    ['short IPv4 (a.b.c)', 'http://192.168.257/', 'ip 192.168.1.1 (IPv4) port 80 host 192.168.1.1 path /'],
    ['short IPv4 (a.b)', 'http://192.0xa80101/', 'ip 192.168.1.1 (IPv4) port 80 host 192.168.1.1 path /'],
    ['decimal IPv4', 'http://3232235777/', 'ip 192.168.1.1 (IPv4) port 80 host 192.168.1.1 path /'],
    [
      'mixed hex and decimal IPv4',
      'http://0xC0.0xA8.1.1/',
      'ip 192.168.1.1 (IPv4) port 80 host 192.168.1.1 path /',
    ],
    ['short loopback', 'http://127.1/', 'ip 127.0.0.1 (IPv4) port 80 host 127.0.0.1 path /'],
    ['zero', 'http://0/', 'ip 0.0.0.0 (IPv4) port 80 host 0.0.0.0 path /'],
    ['an IPv6 address', 'http://[2001:db8::1]/', 'ip 2001:db8::1 (IPv6) port 80 host [2001:db8::1] path /'],
    [
      'an IPv6 address, long and in capitals',
      'http://[2001:DB8:0:0::1]:8080/',
      'ip 2001:db8::1 (IPv6) port 8080 host [2001:db8::1]:8080 path /',
    ],
    [
      'IPv4-mapped IPv6 (checked as IPv4)',
      'http://[::ffff:192.168.1.1]/',
      'ip 192.168.1.1 (IPv4) port 80 host [::ffff:c0a8:101] path /',
    ],
    [
      'hex IPv4-mapped IPv6 (checked as IPv4)',
      'http://[::ffff:c0a8:101]/',
      'ip 192.168.1.1 (IPv4) port 80 host [::ffff:c0a8:101] path /',
    ],
    [
      'NAT64 IPv6 (stays IPv6)',
      'http://[64:ff9b::c0a8:101]/',
      'ip 64:ff9b::c0a8:101 (IPv6) port 80 host [64:ff9b::c0a8:101] path /',
    ],
  ];
  for (const [what, target, expected] of cases) {
    test(`parseAbsoluteTarget() reads ${what}: ${target}`, () => {
      assert.equal(short(parseAbsoluteTarget(target)), expected);
    });
  }
});

describe('parseAbsoluteTarget() refuses every trick, with the reason', () => {
  const NOT_PROXY = 'refused: not a proxy request: the request target is not an absolute http:// URI';
  const USERINFO = 'refused: userinfo is not allowed in the request target';
  const BAD_CHARACTER = 'refused: invalid character in the host';
  const TWO_PORTS = 'refused: more than one port, or an IPv6 address without brackets';
  const cases: [string, string, string][] = [
    ['an origin-form target (not a proxy request)', '/index.html', NOT_PROXY],
    ['the asterisk form', '*', NOT_PROXY],
    ['an authority-form target outside CONNECT', 'example.com:80', NOT_PROXY],
    ['a scheme-relative target', '//example.com/', NOT_PROXY],
    [
      'https (use CONNECT)',
      'https://example.com/',
      "refused: scheme 'https' is not proxied: use CONNECT for HTTPS",
    ],
    ['another scheme', 'ftp://example.com/', "refused: scheme 'ftp' is not proxied: use CONNECT for HTTPS"],
    ['a fragment', 'http://example.com/#top', 'refused: a request target has no fragment'],
    ['no host', 'http:///path', 'refused: empty host'],
    ['userinfo', 'http://allowed.example@denied.example/', USERINFO],
    ['userinfo with a password', 'http://user:pass@allowed.example/', USERINFO],
    ['a backslash before userinfo', 'http://allowed.example\\@denied.example/', USERINFO],
    ['a backslash in the host', 'http://allowed.example\\.denied.example/', BAD_CHARACTER],
    ['a backslash in the path', 'http://allowed.example/a\\b', 'refused: backslash in the request target'],
    ['a percent-encoded host', 'http://denied%2eexample/', BAD_CHARACTER],
    ['an IPv6 zone', 'http://[fe80::1%25eth0]/', BAD_CHARACTER],
    ['a tab in the host', 'http://a\t.example/', BAD_CHARACTER],
    ['a control character in the host', 'http://a\u0001.example/', BAD_CHARACTER],
    ['a bracketed name', 'http://[example.com]/', 'refused: brackets are only for IPv6 addresses'],
    ['a bracketed IPv4 address', 'http://[192.168.1.1]/', 'refused: brackets are only for IPv6 addresses'],
    ['an unclosed bracket', 'http://[::1/', 'refused: unclosed bracket in the host'],
    ['something after the brackets', 'http://[::1]x/', 'refused: garbage after the IPv6 address'],
    ['a bracket inside a name', 'http://exa[mple.com/', BAD_CHARACTER],
    ['two ports', 'http://example.com:80:81/', TWO_PORTS],
    ['two ports, the same', 'http://example.com:80:80/', TWO_PORTS],
    ['IPv6 without brackets', 'http://2001:db8::1/', TWO_PORTS],
    ['an empty port', 'http://example.com:/', "refused: invalid port ''"],
    ['port 0', 'http://example.com:0/', "refused: invalid port '0'"],
    ['port 65536', 'http://example.com:65536/', "refused: invalid port '65536'"],
    ['a port with a sign', 'http://example.com:+80/', "refused: invalid port '+80'"],
    ['a port in hex', 'http://example.com:0x50/', "refused: invalid port '0x50'"],
    ['an empty name before the port', 'http://:80/', "refused: invalid host ''"],
    ['an IPv4 address out of range', 'http://256.256.256.256/', "refused: invalid host '256.256.256.256'"],
    ['five numbers', 'http://1.2.3.4.5/', "refused: invalid host '1.2.3.4.5'"],
    ['a name ending in a number', 'http://example.123/', "refused: invalid host 'example.123'"],
    ['an empty label', 'http://a..example/', "refused: invalid host 'a..example'"],
    ['a label starting with a hyphen', 'http://-a.example/', "refused: invalid host '-a.example'"],
    ['a character no host has', 'http://a<b.example/', "refused: invalid host 'a<b.example'"],
  ];
  for (const [what, target, expected] of cases) {
    test(`parseAbsoluteTarget() refuses ${what}: ${JSON.stringify(target)}`, () => {
      assert.equal(short(parseAbsoluteTarget(target)), expected);
    });
  }
});

describe('parseConnectTarget() reads the authority-form targets of CONNECT', () => {
  const cases: [string, string, string][] = [
    ['a name and a port', 'example.com:443', 'name example.com port 443 host example.com:443'],
    ['upper case and a trailing dot', 'Example.COM.:443', 'name example.com port 443 host example.com:443'],
    ['port 80 (no default in CONNECT)', 'example.com:80', 'name example.com port 80 host example.com:80'],
    ['an IPv4 address', '192.168.1.1:443', 'ip 192.168.1.1 (IPv4) port 443 host 192.168.1.1:443'],
    ['decimal IPv4', '3232235777:443', 'ip 192.168.1.1 (IPv4) port 443 host 192.168.1.1:443'],
    ['hex IPv4', '0xc0a80101:443', 'ip 192.168.1.1 (IPv4) port 443 host 192.168.1.1:443'],
    ['octal IPv4', '0300.0250.1.1:443', 'ip 192.168.1.1 (IPv4) port 443 host 192.168.1.1:443'],
    ['short IPv4', '192.168.257:443', 'ip 192.168.1.1 (IPv4) port 443 host 192.168.1.1:443'],
    ['an IPv6 address', '[2001:db8::1]:443', 'ip 2001:db8::1 (IPv6) port 443 host [2001:db8::1]:443'],
    [
      'hex IPv4-mapped IPv6',
      '[::ffff:c0a8:101]:443',
      'ip 192.168.1.1 (IPv4) port 443 host [::ffff:c0a8:101]:443',
    ],
    [
      'NAT64 IPv6',
      '[64:ff9b::c0a8:101]:443',
      'ip 64:ff9b::c0a8:101 (IPv6) port 443 host [64:ff9b::c0a8:101]:443',
    ],
  ];
  for (const [what, target, expected] of cases) {
    test(`parseConnectTarget() reads ${what}: ${target}`, () => {
      assert.equal(short(parseConnectTarget(target)), expected);
    });
  }

  const refused: [string, string, string][] = [
    ['no port', 'example.com', 'refused: the port is missing'],
    ['an IPv6 address without a port', '[2001:db8::1]', 'refused: the port is missing'],
    ['an empty port', '[::1]:', "refused: invalid port ''"],
    ['two ports', 'example.com:443:443', 'refused: more than one port, or an IPv6 address without brackets'],
    ['a bracketed name', '[example.com]:443', 'refused: brackets are only for IPv6 addresses'],
    [
      'userinfo',
      'allowed.example@denied.example:443',
      'refused: userinfo is not allowed in the request target',
    ],
    [
      'a backslash',
      'allowed.example\\@denied.example:443',
      'refused: userinfo is not allowed in the request target',
    ],
    ['a path after the name', 'allowed.example/x:443', 'refused: invalid character in the host'],
    ['a query after the name', 'allowed.example?x:443', 'refused: invalid character in the host'],
    ['a fragment after the name', 'allowed.example#x:443', 'refused: invalid character in the host'],
    ['a URL', 'http://example.com:443', 'refused: invalid character in the host'],
    ['nothing', '', 'refused: empty host'],
    ['a port only', ':443', "refused: invalid host ''"],
    ['garbage after the port', '[::1]:443x', "refused: invalid port '443x'"],
  ];
  for (const [what, target, expected] of refused) {
    test(`parseConnectTarget() refuses ${what}: ${JSON.stringify(target)}`, () => {
      assert.equal(short(parseConnectTarget(target)), expected);
    });
  }
});

describe('isPlainHost() is true only where the URL host parser changes nothing', () => {
  test('for random hosts of name and address characters, true implies URL gives the same host', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-zA-Z0-9.\-x]{1,24}$/),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 4, maxLength: 4 }),
        (name, octets) => {
          for (const host of [name, octets.join('.'), `${name}.test`, `xn--${name}`]) {
            if (!isPlainHost(host)) continue;
            assert.equal(new URL(`http://${host}/`).hostname, host, host);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  const cases: [string, boolean][] = [
    ['example.com', true],
    ['example.com.', true],
    ['203.0.113.25', true],
    ['0.0.0.0', true],
    ['Example.com', false],
    ['010.0.0.1', false],
    ['3232235777', false],
    ['192.168.257', false],
    ['a.0x1', false],
    ['host.123', false],
    ['xn--bcher-kva.example', false],
    ['-a.example', false],
  ];
  for (const [host, plain] of cases) {
    test(`${host}: ${plain}`, () => assert.equal(isPlainHost(host), plain));
  }
});
