import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readTestdata } from './_testing.js';
import { parseDnsProxyConfig } from './config.js';
import { formatCheck } from './format-entries.js';

describe('formatCheck()', () => {
  test('formatCheck() prints a summary, one line per entry, then the settings', () => {
    const result = parseDnsProxyConfig({ EGRESS_DNS_PROXY_DESTINATION: readTestdata('crlf-tabs-ipv6.txt') });
    assert.ok(result.ok);
    assert.deepEqual(formatCheck(result.value, 2), [
      'EGRESS_DNS_PROXY_DESTINATION: valid: 3 entries (1 name)',
      '80 -> 203.0.113.25:80',
      '8080 -> api.example.com:80 (name)',
      '443 -> [2001:db8::25]:443',
      'admin port 9091, connect timeout 10 s, idle timeout 60 s, drain 20 s, TTL 1..30 s, negative hold 30 s, max connections 4000 per worker, workers 2 (one per CPU)',
    ]);
  });

  test('formatCheck() says one entry, and no idle timeout', () => {
    const result = parseDnsProxyConfig({
      EGRESS_DNS_PROXY_DESTINATION: '100 example.com',
      EGRESS_DNS_PROXY_IDLE_TIMEOUT_SECONDS: '0',
    });
    assert.ok(result.ok);
    const lines = formatCheck(result.value, 1);
    assert.equal(lines[0], 'EGRESS_DNS_PROXY_DESTINATION: valid: 1 entry (1 name)');
    assert.match(lines.at(-1)!, /idle timeout none/);
  });

  test('formatCheck() shows a worker count that was set without "(one per CPU)"', () => {
    const result = parseDnsProxyConfig({
      EGRESS_DNS_PROXY_DESTINATION: '100 example.com',
      EGRESS_DNS_PROXY_WORKERS: '3',
    });
    assert.ok(result.ok);
    assert.match(formatCheck(result.value, 3).at(-1)!, /, max connections 4000 per worker, workers 3$/);
  });
});
