import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDnsQueryResult, renderResolvConf } from './cluster-dns.js';

describe('renderResolvConf()', () => {
  it('writes one nameserver line per server, in order', () => {
    assert.equal(
      renderResolvConf(['203.0.113.27', '2001:db8:113::27']),
      '# Written by the egress-router cluster lab.\nnameserver 203.0.113.27\nnameserver 2001:db8:113::27\n',
    );
  });
});

describe('parseDnsQueryResult()', () => {
  it('reads the last line: answers with TTLs, or the error code', () => {
    const answered = { ok: true, answers: [{ address: '203.0.113.30', ttl: 42 }], servers: ['203.0.113.27'] };
    assert.deepEqual(parseDnsQueryResult(`warning\n${JSON.stringify(answered)}\n`), answered);
    const failed = { ok: false, code: 'ENOTFOUND', servers: ['203.0.113.27'] };
    assert.deepEqual(parseDnsQueryResult(JSON.stringify(failed)), failed);
  });

  it('is undefined for output that is not a result', () => {
    for (const text of ['', 'not json', '{"ok":true}', '{"ok":false,"servers":[]}', '[1]', 'null']) {
      assert.equal(parseDnsQueryResult(text), undefined, text);
    }
  });
});
