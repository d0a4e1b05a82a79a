import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDomainName } from './domain-name.js';

describe('parseDomainName()', () => {
  const valid: [string, string][] = [
    ['example.com', 'example.com'],
    ['api.example.com', 'api.example.com'],
    ['API.Example.COM', 'api.example.com'],
    ['example.com.', 'example.com'],
    ['a.b', 'a.b'],
    ['x-1.example.com', 'x-1.example.com'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['1.2.3.example', '1.2.3.example'],
    ['db.myproject.svc.cluster.local', 'db.myproject.svc.cluster.local'],
    [`${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`],
  ];
  for (const [text, canonical] of valid) {
    test(`parseDomainName() accepts '${text}' as '${canonical}'`, () => {
      assert.equal(parseDomainName(text), canonical);
    });
  }

  const invalid: [string, string][] = [
    ['', 'empty'],
    ['.', 'only the root'],
    ['localhost', 'one label (no dot)'],
    ['localhost.', 'one label with a final dot'],
    ['example..com', 'an empty label'],
    ['.example.com', 'a leading dot'],
    ['example.com..', 'two final dots'],
    ['-a.example.com', 'a label starting with a hyphen'],
    ['a-.example.com', 'a label ending with a hyphen'],
    ['under_score.example.com', 'an underscore'],
    ['exa mple.com', 'a space'],
    ['bücher.example', 'a non-ASCII letter'],
    ['300.1.2.3', 'all-digit last label (not an address, not a name)'],
    ['1.2.3.4', 'an IPv4 address'],
    ['example.123', 'an all-digit top-level label'],
    [`${'a'.repeat(64)}.com`, 'a label of 64 characters'],
    [`${'a.'.repeat(127)}com`, 'more than 253 characters'],
    ['[::1].com', 'brackets'],
    ['example.com:80', 'a port'],
    ['*.example.com', 'a wildcard'],
  ];
  for (const [text, why] of invalid) {
    test(`parseDomainName() refuses ${why}: '${text.length > 40 ? `${text.slice(0, 40)}…` : text}'`, () => {
      assert.equal(parseDomainName(text), undefined);
    });
  }
});
