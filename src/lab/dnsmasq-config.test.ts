import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkRecords,
  countHostsReads,
  parseDnsmasqQueries,
  renderDnsmasqConf,
  renderHosts,
} from './dnsmasq-config.js';

describe('renderHosts()', () => {
  it('writes one line per address, in the order given', () => {
    assert.equal(
      renderHosts({ 'www.foo.com': ['203.0.113.30', '2001:db8:113::30'], 'api.foo.com': ['203.0.113.31'] }),
      '203.0.113.30 www.foo.com\n2001:db8:113::30 www.foo.com\n203.0.113.31 api.foo.com\n',
    );
    assert.equal(renderHosts({}), '');
  });

  it('refuses bad names and addresses, naming them', () => {
    assert.throws(() => renderHosts({ 'bad name': ['203.0.113.30'] }), /bad name 'bad name'/);
    assert.throws(() => renderHosts({ 'a..b': ['203.0.113.30'] }), TypeError);
    assert.throws(() => renderHosts({ 'www.foo.com': ['203.0.113.300'] }), /bad address '203.0.113.300'/);
    assert.throws(() => checkRecords({ 'x.com': '1.2.3.4' as unknown as string[] }), /not a list/);
  });
});

describe('renderDnsmasqConf()', () => {
  it('answers only from the hosts file, on the given addresses, with the given TTL', () => {
    const text = renderDnsmasqConf({
      listen: ['203.0.113.27', '2001:db8:113::27'],
      port: 53,
      hostsPath: '/tmp/x/hosts',
      ttl: 42,
    });
    const lines = text.split('\n');
    for (const line of [
      'no-resolv',
      'no-hosts',
      'local=/#/',
      'bind-interfaces',
      'listen-address=203.0.113.27',
      'listen-address=2001:db8:113::27',
      'port=53',
      'addn-hosts=/tmp/x/hosts',
      'local-ttl=42',
      'auth-ttl=42',
      'log-facility=-',
      'log-queries',
    ]) {
      assert.ok(lines.includes(line), line);
    }
    assert.ok(!lines.some((line) => line.startsWith('dhcp') || line.startsWith('server=')));
  });

  it('refuses a bad port, TTL or listen address', () => {
    const good = { listen: ['203.0.113.27'], port: 53, hostsPath: '/h', ttl: 1 };
    assert.throws(() => renderDnsmasqConf({ ...good, port: 0 }), RangeError);
    assert.throws(() => renderDnsmasqConf({ ...good, ttl: -1 }), RangeError);
    assert.throws(() => renderDnsmasqConf({ ...good, listen: [] }), TypeError);
    assert.throws(
      () => renderDnsmasqConf({ ...good, listen: ['localhost'] }),
      /bad listen address 'localhost'/,
    );
  });
});

describe("dnsmasq's log", () => {
  const log = [
    'dnsmasq[13635]: started, version 2.90 cachesize 150',
    'dnsmasq[13635]: read /tmp/d/hosts - 2 names',
    'dnsmasq[13635]: query[A] www.foo.com from 192.168.50.11',
    'dnsmasq[13635]: /tmp/d/hosts www.foo.com is 203.0.113.30',
    'dnsmasq[13635]: query[AAAA] www.foo.com from fd00:50::11',
    'dnsmasq[13635]: read /tmp/other - 1 names',
    'dnsmasq[13635]: read /tmp/d/hosts - 1 addresses',
    '',
  ].join('\n');

  it('countHostsReads() counts the reads of one hosts file', () => {
    assert.equal(countHostsReads(log, '/tmp/d/hosts'), 2);
    assert.equal(countHostsReads(log, '/tmp/none'), 0);
  });

  it('parseDnsmasqQueries() lists the queries in order', () => {
    assert.deepEqual(parseDnsmasqQueries(log), [
      { type: 'A', name: 'www.foo.com', from: '192.168.50.11' },
      { type: 'AAAA', name: 'www.foo.com', from: 'fd00:50::11' },
    ]);
  });
});
