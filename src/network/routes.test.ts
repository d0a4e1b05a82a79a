import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  addNetns,
  cleanup,
  fixtureValue,
  ip,
  ipJson,
  netnsUnavailable,
  runFixture,
} from './_netns-harness.js';
import type { RouteEntry } from './routes.js';

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
}

function vethNamespace(label: string): string {
  const ns = addNetns(label);
  ip('-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  ip('-n', ns, 'link', 'set', 'v1', 'up');
  ip('-n', ns, 'link', 'set', 'v0', 'up');
  return ns;
}

describe('routes, in throwaway network namespaces', { skip: netnsUnavailable() }, () => {
  after(cleanup);

  describe('IPv4', () => {
    let ns = '';
    before(() => {
      ns = vethNamespace('route4');
      ip('-n', ns, 'addr', 'add', '10.20.0.2/24', 'dev', 'v0');
      ip('-n', ns, 'route', 'add', 'default', 'via', '10.20.0.254', 'dev', 'v0');
    });
    const defaults = () => ipJson<IpRoute[]>('-n', ns, '-4', 'route', 'show', 'default');

    test('a default route via a gateway off every route is a typed ENETUNREACH, old default kept', () => {
      const output = runFixture(ns, 'replace-routes', {
        routes: [{ destination: '0.0.0.0/0', gateway: '192.168.77.1', ifname: 'v0' }],
      });
      assert.equal(output.ok, false);
      if (output.ok) return;
      assert.equal(output.error.name, 'NetworkUnreachableError');
      assert.equal(output.error.code, 'ENETUNREACH');
      assert.match(output.error.message, /replace route default via 192\.168\.77\.1/);
      assert.deepEqual(
        defaults().map((r) => r.gateway),
        ['10.20.0.254'],
      );
    });

    test('host route to the gateway, then the default route replaced: only ours is left', () => {
      const routes = fixtureValue<RouteEntry[]>(ns, 'replace-routes', {
        routes: [
          { destination: '192.168.77.1/32', ifname: 'v0' },
          { destination: '0.0.0.0/0', gateway: '192.168.77.1', ifname: 'v0' },
        ],
      });
      assert.deepEqual(
        defaults().map(({ dst, gateway, dev, protocol }) => ({ dst, gateway, dev, protocol })),
        [{ dst: 'default', gateway: '192.168.77.1', dev: 'v0', protocol: 'static' }],
      );
      const host = ipJson<IpRoute[]>('-n', ns, '-4', 'route', 'show', '192.168.77.1/32');
      assert.deepEqual(
        host.map(({ dst, gateway, dev, scope, protocol }) => ({ dst, gateway, dev, scope, protocol })),
        [{ dst: '192.168.77.1', gateway: undefined, dev: 'v0', scope: 'link', protocol: 'static' }],
      );
      // listRoutes sees the same.
      const ifindex = routes.find((r) => r.destination.prefix === 0)?.ifindex;
      assert.ok(ifindex !== undefined && ifindex > 0);
      assert.deepEqual(
        routes
          .filter((r) => r.protocol === 'static')
          .map(({ destination, gateway, scope }) => ({ destination, gateway, scope })),
        [
          {
            destination: { address: '0.0.0.0', family: 4, prefix: 0 },
            gateway: '192.168.77.1',
            scope: 'universe',
          },
          {
            destination: { address: '192.168.77.1', family: 4, prefix: 32 },
            gateway: undefined,
            scope: 'link',
          },
        ],
      );
      assert.ok(routes.some((r) => r.protocol === 'kernel' && r.destination.address === '10.20.0.0'));
    });

    test('replacing the same routes again changes nothing', () => {
      const before = ip('-n', ns, '-4', 'route', 'show');
      fixtureValue(ns, 'replace-routes', {
        routes: [
          { destination: '192.168.77.1/32', ifname: 'v0' },
          { destination: '0.0.0.0/0', gateway: '192.168.77.1', ifname: 'v0' },
        ],
      });
      assert.equal(ip('-n', ns, '-4', 'route', 'show'), before);
    });

    test('a gateway of the other family is refused before the kernel sees it', () => {
      const output = runFixture(ns, 'replace-routes', {
        routes: [{ destination: '0.0.0.0/0', gateway: 'fe80::1', ifname: 'v0' }],
      });
      assert.equal(output.ok, false);
      if (!output.ok) assert.equal(output.error.code, 'EINVAL');
    });
  });

  describe('IPv6', () => {
    let ns = '';
    before(() => {
      ns = vethNamespace('route6');
      ip('-n', ns, 'addr', 'add', 'fd00:20::2/64', 'dev', 'v0', 'nodad');
      ip('-n', ns, '-6', 'route', 'add', 'default', 'via', 'fd00:20::fe', 'dev', 'v0');
    });

    test('host route to a link-local gateway, then the default route replaced: only ours is left', () => {
      const routes = fixtureValue<RouteEntry[]>(ns, 'replace-routes', {
        routes: [
          { destination: 'fe80::1/128', ifname: 'v0' },
          { destination: '::/0', gateway: 'fe80::1', ifname: 'v0' },
        ],
      });
      const defaults = ipJson<IpRoute[]>('-n', ns, '-6', 'route', 'show', 'default');
      assert.deepEqual(
        defaults.map(({ dst, gateway, dev, protocol }) => ({ dst, gateway, dev, protocol })),
        [{ dst: 'default', gateway: 'fe80::1', dev: 'v0', protocol: 'static' }],
      );
      const host = ipJson<IpRoute[]>('-n', ns, '-6', 'route', 'show', 'fe80::1/128');
      assert.deepEqual(
        host.map(({ dst, dev, protocol }) => ({ dst, dev, protocol })),
        [{ dst: 'fe80::1', dev: 'v0', protocol: 'static' }],
      );
      const ours = routes.filter((r) => r.family === 6 && r.protocol === 'static');
      assert.deepEqual(
        ours
          .map(({ destination, gateway }) => ({ destination, gateway }))
          .sort((a, b) => a.destination.prefix - b.destination.prefix),
        [
          { destination: { address: '::', family: 6, prefix: 0 }, gateway: 'fe80::1' },
          { destination: { address: 'fe80::1', family: 6, prefix: 128 }, gateway: undefined },
        ],
      );
    });

    test('list-routes filters by family', () => {
      const routes = fixtureValue<RouteEntry[]>(ns, 'list-routes', { family: 6 });
      assert.ok(routes.length > 0);
      assert.ok(routes.every((r) => r.family === 6));
    });
  });
});
