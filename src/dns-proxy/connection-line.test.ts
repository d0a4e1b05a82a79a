import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { connectionJson } from './connection-line.js';
import type { ConnectionRecord } from './relay.js';

const results = [
  'ok',
  'unresolved',
  'connect_failed',
  'client_gone',
  'idle_timeout',
  'client_error',
  'upstream_error',
  'limit',
  'shutdown',
] as const;

// Strings as they come (addresses, names, codes), and any string at all.
const text = fc.oneof(
  fc.constantFrom('10.0.0.1', '::1', 'fe80::1%eth0', 'db.example.com', 'ECONNREFUSED', ''),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
);
const count = fc.oneof(fc.nat(), fc.constantFrom(0, 65535, 2 ** 53 - 1));

const record: fc.Arbitrary<ConnectionRecord> = fc
  .record({
    client: text,
    clientPort: count,
    port: count,
    destination: text,
    remotePort: count,
    address: fc.option(text, { nil: null }),
    attempts: count,
    bytesFromClient: count,
    bytesToClient: count,
    durationMs: fc.oneof(count, fc.double({ min: 0, max: 1e9, noNaN: true })),
    result: fc.constantFrom(...results),
    error: fc.option(text, { nil: undefined }),
  })
  .map(({ error, ...rest }) => ({
    event: 'connection' as const,
    ...rest,
    ...(error === undefined ? {} : { error }),
  }));

describe('connectionJson()', () => {
  test('writes what JSON.stringify writes, byte for byte (without the braces)', () => {
    fc.assert(
      fc.property(record, (r) => {
        assert.equal(connectionJson(r), JSON.stringify(r).slice(1, -1));
      }),
      { numRuns: 2000 },
    );
  });

  test('a refused connection: no address, no error', () => {
    const r: ConnectionRecord = {
      event: 'connection',
      client: '10.0.0.1',
      clientPort: 40000,
      port: 5432,
      destination: 'db.example.com',
      remotePort: 5432,
      address: null,
      attempts: 0,
      bytesFromClient: 0,
      bytesToClient: 0,
      durationMs: 0.05,
      result: 'unresolved',
    };
    assert.equal(
      connectionJson(r),
      '"event":"connection","client":"10.0.0.1","clientPort":40000,"port":5432,"destination":"db.example.com","remotePort":5432,"address":null,"attempts":0,"bytesFromClient":0,"bytesToClient":0,"durationMs":0.05,"result":"unresolved"',
    );
  });
});
