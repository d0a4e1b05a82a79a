import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseCanonicalCidr } from '../firewall/ip-range.js';
import {
  DEFAULT_CLUSTER_NETWORK,
  DEFAULT_DIR_SOURCE,
  DEFAULT_NODE_ADMIN_PORT,
  DEFAULT_SERVICE_NETWORK,
  DEFAULT_STATUS_FILE,
  type NodeOptions,
  type NodeOptionsInput,
  parseNodeOptions,
} from './options.js';

// Note: --config FILE is read by the command (src/cli/node.ts, readConfig), which hands its values
// to parseNodeOptions under the flags; parseNodeOptions itself reads no file.

const ENV = { NODE_NAME: 'node-1' };

function options(input: NodeOptionsInput, env: NodeJS.ProcessEnv = ENV): NodeOptions {
  const result = parseNodeOptions(input, env);
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result.options;
}

function refusal(input: NodeOptionsInput, env: NodeJS.ProcessEnv = ENV): string {
  const result = parseNodeOptions(input, env);
  assert.ok(!result.ok, 'expected a refusal');
  return result.error;
}

function range(text: string) {
  const parsed = parseCanonicalCidr(text);
  assert.ok(parsed.ok, text);
  return parsed.range;
}

describe('parseNodeOptions(): defaults', () => {
  test('the defaults are named constants with the documented values', () => {
    assert.equal(DEFAULT_CLUSTER_NETWORK, '10.128.0.0/14');
    assert.equal(DEFAULT_SERVICE_NETWORK, '172.30.0.0/16');
    assert.equal(DEFAULT_NODE_ADMIN_PORT, 9093);
    assert.equal(DEFAULT_STATUS_FILE, '/run/egress-router/node-status.json');
    assert.equal(DEFAULT_DIR_SOURCE, '/etc/egress-router/cluster');
  });

  test('parseNodeOptions() with only NODE_NAME gives every default', () => {
    assert.deepEqual(parseNodeOptions({}, { NODE_NAME: 'node-1' }), {
      ok: true,
      options: {
        nodeName: 'node-1',
        source: { kind: 'dir', path: '/etc/egress-router/cluster' },
        clusterNetworks: [{ family: 4, start: 0x0a800000n, end: 0x0a83ffffn }],
        serviceNetworks: [{ family: 4, start: 0xac1e0000n, end: 0xac1effffn }],
        clusterNetworkText: ['10.128.0.0/14'],
        serviceNetworkText: ['172.30.0.0/16'],
        adminPort: 9093,
        statusFile: '/run/egress-router/node-status.json',
        verifyIntervalMs: 10_000,
        debug: false,
      },
    });
  });

  test('parseNodeOptions() takes every option as given', () => {
    assert.deepEqual(
      parseNodeOptions(
        {
          source: 'kubernetes',
          kubeconfig: '/etc/kube/config',
          nodeName: 'node-2',
          clusterNetwork: '10.0.0.0/16,fd01::/48',
          serviceNetwork: '192.168.0.0/24',
          adminPort: '8080',
          statusFile: '/tmp/status.json',
          verifyInterval: '0.5',
          debug: true,
        },
        { NODE_NAME: 'node-1' },
      ),
      {
        ok: true,
        options: {
          nodeName: 'node-2',
          source: { kind: 'kubernetes', kubeconfig: '/etc/kube/config', leaseNamespace: 'egress-router' },
          clusterNetworks: [range('10.0.0.0/16'), range('fd01::/48')],
          serviceNetworks: [range('192.168.0.0/24')],
          clusterNetworkText: ['10.0.0.0/16', 'fd01::/48'],
          serviceNetworkText: ['192.168.0.0/24'],
          adminPort: 8080,
          statusFile: '/tmp/status.json',
          verifyIntervalMs: 500,
          debug: true,
        },
      },
    );
  });

  test('parseNodeOptions() turns debug on only for true', () => {
    assert.equal(options({ debug: true }).debug, true);
    assert.equal(options({ debug: false }).debug, false);
    assert.equal(options({}).debug, false);
  });
});

describe('parseNodeOptions(): the node name', () => {
  test('parseNodeOptions() takes NODE_NAME (the downward API) without --node-name', () => {
    assert.equal(options({}, { NODE_NAME: 'from-env' }).nodeName, 'from-env');
  });

  test('parseNodeOptions() prefers --node-name to NODE_NAME', () => {
    assert.equal(options({ nodeName: 'from-flag' }, { NODE_NAME: 'from-env' }).nodeName, 'from-flag');
    assert.equal(options({ nodeName: 'from-flag' }, {}).nodeName, 'from-flag');
  });

  test('parseNodeOptions() refuses to run without a node name', () => {
    const message = 'node: no node name: set NODE_NAME (the downward API spec.nodeName) or --node-name';
    assert.equal(refusal({}, {}), message);
    assert.equal(refusal({}, { NODE_NAME: '' }), message);
    // An empty --node-name is given, so NODE_NAME does not stand in for it.
    assert.equal(refusal({ nodeName: '' }, { NODE_NAME: 'from-env' }), message);
  });
});

describe('parseNodeOptions(): the source', () => {
  test('parseNodeOptions() reads the directory source by default, outside a cluster', () => {
    assert.deepEqual(options({}, { NODE_NAME: 'n' }).source, { kind: 'dir', path: DEFAULT_DIR_SOURCE });
    // Empty variables are not set.
    assert.deepEqual(options({}, { NODE_NAME: 'n', KUBERNETES_SERVICE_HOST: '', KUBECONFIG: '' }).source, {
      kind: 'dir',
      path: DEFAULT_DIR_SOURCE,
    });
  });

  test('parseNodeOptions() reads the Kubernetes API by default in a pod (KUBERNETES_SERVICE_HOST) or with KUBECONFIG', () => {
    assert.deepEqual(options({}, { NODE_NAME: 'n', KUBERNETES_SERVICE_HOST: '172.30.0.1' }).source, {
      kind: 'kubernetes',
      leaseNamespace: 'egress-router',
    });
    // KUBECONFIG is left to the source to read: the spec names only a --kubeconfig.
    assert.deepEqual(options({}, { NODE_NAME: 'n', KUBECONFIG: '/root/.kube/config' }).source, {
      kind: 'kubernetes',
      leaseNamespace: 'egress-router',
    });
  });

  test('parseNodeOptions() takes --source over what the environment suggests', () => {
    assert.deepEqual(
      options({ source: 'dir:/srv/objects' }, { NODE_NAME: 'n', KUBERNETES_SERVICE_HOST: '172.30.0.1' })
        .source,
      {
        kind: 'dir',
        path: '/srv/objects',
      },
    );
    assert.deepEqual(options({ source: 'kubernetes' }, { NODE_NAME: 'n' }).source, {
      kind: 'kubernetes',
      leaseNamespace: 'egress-router',
    });
  });

  test('parseNodeOptions() keeps the path after dir: as written', () => {
    assert.deepEqual(options({ source: 'dir:objects' }).source, { kind: 'dir', path: 'objects' });
    assert.deepEqual(options({ source: 'dir:/a:b' }).source, { kind: 'dir', path: '/a:b' });
    assert.deepEqual(options({ source: 'dir:dir:' }).source, { kind: 'dir', path: 'dir:' });
  });

  test('parseNodeOptions() gives --kubeconfig to the Kubernetes source only', () => {
    assert.deepEqual(options({ source: 'kubernetes', kubeconfig: '/k' }).source, {
      kind: 'kubernetes',
      kubeconfig: '/k',
      leaseNamespace: 'egress-router',
    });
    assert.deepEqual(options({ kubeconfig: '/k' }, { NODE_NAME: 'n', KUBERNETES_SERVICE_HOST: 'h' }).source, {
      kind: 'kubernetes',
      kubeconfig: '/k',
      leaseNamespace: 'egress-router',
    });
    assert.deepEqual(options({ source: 'kubernetes', kubeconfig: '' }).source, {
      kind: 'kubernetes',
      leaseNamespace: 'egress-router',
    });
    // With the directory source a --kubeconfig is not used (and not refused).
    assert.deepEqual(options({ source: 'dir:/d', kubeconfig: '/k' }).source, { kind: 'dir', path: '/d' });
  });

  test('parseNodeOptions() takes the node Leases namespace from --lease-namespace, else POD_NAMESPACE', () => {
    const lease = (input: object, env: NodeJS.ProcessEnv) => {
      const source = options({ source: 'kubernetes', ...input }, { NODE_NAME: 'n', ...env }).source;
      return source.kind === 'kubernetes' ? source.leaseNamespace : undefined;
    };
    assert.equal(lease({}, { POD_NAMESPACE: 'egress' }), 'egress');
    assert.equal(lease({ leaseNamespace: 'mine' }, { POD_NAMESPACE: 'egress' }), 'mine');
    assert.equal(lease({}, {}), 'egress-router');
    for (const bad of ['Egress', 'a_b', '-a', 'a'.repeat(64), '']) {
      assert.deepEqual(
        parseNodeOptions({ source: 'kubernetes', leaseNamespace: bad }, { NODE_NAME: 'n' }),
        { ok: false, error: `node: --lease-namespace '${bad}' is not a namespace name` },
        bad,
      );
    }
  });

  test('parseNodeOptions() refuses any other --source', () => {
    for (const source of [
      '',
      'dir:',
      'dir',
      'Kubernetes',
      'kubernetes ',
      'k8s',
      'file:/x',
      ' dir:/x',
      '/etc/x',
    ]) {
      assert.equal(
        refusal({ source }),
        `node: --source '${source}' is invalid: 'dir:PATH' or 'kubernetes'`,
        JSON.stringify(source),
      );
    }
  });
});

describe('parseNodeOptions(): the networks', () => {
  test('parseNodeOptions() takes comma-separated CIDRs, spaces around them trimmed, IPv4 and IPv6', () => {
    const parsed = options({
      clusterNetwork: ' 10.128.0.0/14 , fd01::/48',
      serviceNetwork: '172.30.0.0/16,fd02::/112',
    });
    assert.deepEqual(parsed.clusterNetworkText, ['10.128.0.0/14', 'fd01::/48']);
    assert.deepEqual(parsed.clusterNetworks, [range('10.128.0.0/14'), range('fd01::/48')]);
    assert.deepEqual(parsed.serviceNetworkText, ['172.30.0.0/16', 'fd02::/112']);
    assert.deepEqual(parsed.serviceNetworks, [range('172.30.0.0/16'), range('fd02::/112')]);
  });

  test('parseNodeOptions() writes the networks back in canonical text', () => {
    assert.deepEqual(options({ clusterNetwork: 'FD01:0:0::/48,10.128.0.0/14' }).clusterNetworkText, [
      'fd01::/48',
      '10.128.0.0/14',
    ]);
  });

  test('parseNodeOptions() takes /0 and host routes', () => {
    const parsed = options({ clusterNetwork: '0.0.0.0/0', serviceNetwork: '172.30.0.1/32,::/0' });
    assert.deepEqual(parsed.clusterNetworks, [{ family: 4, start: 0n, end: 0xffffffffn }]);
    assert.deepEqual(parsed.serviceNetworks, [
      { family: 4, start: 0xac1e0001n, end: 0xac1e0001n },
      { family: 6, start: 0n, end: (1n << 128n) - 1n },
    ]);
  });

  test('parseNodeOptions() refuses a network with host bits set, naming the network meant', () => {
    assert.equal(
      refusal({ clusterNetwork: '10.128.0.1/14' }),
      "node: --cluster-network '10.128.0.1/14' is invalid: not a network address (did you mean 10.128.0.0/14?)",
    );
    assert.equal(
      refusal({ serviceNetwork: '172.30.0.0/16,fd02::1/64' }),
      "node: --service-network 'fd02::1/64' is invalid: not a network address (did you mean fd02::/64?)",
    );
  });

  test('parseNodeOptions() refuses what is not a CIDR, naming the part', () => {
    for (const [input, flag, part] of [
      [{ clusterNetwork: '10.128.0.0' }, '--cluster-network', '10.128.0.0'],
      [{ clusterNetwork: '10.128.0.0/33' }, '--cluster-network', '10.128.0.0/33'],
      [{ clusterNetwork: 'fd01::/129' }, '--cluster-network', 'fd01::/129'],
      [{ clusterNetwork: '10.128.0.0/014' }, '--cluster-network', '10.128.0.0/014'],
      [{ clusterNetwork: '010.128.0.0/14' }, '--cluster-network', '010.128.0.0/14'],
      [{ clusterNetwork: 'pods' }, '--cluster-network', 'pods'],
      [{ clusterNetwork: '' }, '--cluster-network', ''],
      [{ clusterNetwork: '10.128.0.0/14,' }, '--cluster-network', ''],
      [{ clusterNetwork: '10.128.0.0/14;10.0.0.0/8' }, '--cluster-network', '10.128.0.0/14;10.0.0.0/8'],
      [{ serviceNetwork: '172.30.0.0/16, ,fd02::/112' }, '--service-network', ''],
      [{ serviceNetwork: '172.30.0.0 /16' }, '--service-network', '172.30.0.0 /16'],
    ] as const) {
      assert.equal(refusal(input), `node: ${flag} '${part}' is invalid: not a CIDR`, JSON.stringify(input));
    }
  });
});

describe('parseNodeOptions(): the admin port and the status file', () => {
  test('parseNodeOptions() takes a port from 0 to 65535', () => {
    assert.equal(options({ adminPort: '0' }).adminPort, 0);
    assert.equal(options({ adminPort: '65535' }).adminPort, 65535);
    assert.equal(options({ adminPort: '09093' }).adminPort, 9093);
  });

  test('parseNodeOptions() refuses anything else as --admin-port', () => {
    for (const port of [
      '',
      '65536',
      '99999999999999999999',
      '-1',
      '+80',
      '80.0',
      '1e3',
      '0x50',
      ' 80',
      '80 ',
      'http',
    ]) {
      assert.equal(
        refusal({ adminPort: port }),
        `node: --admin-port '${port}' is invalid: a port from 0 to 65535`,
        JSON.stringify(port),
      );
    }
  });

  test('parseNodeOptions() reads every decimal port back as its number, and refuses every larger one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), (port) => {
        assert.equal(options({ adminPort: String(port) }).adminPort, port);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 65536, max: Number.MAX_SAFE_INTEGER }), (port) => {
        assert.equal(
          refusal({ adminPort: String(port) }),
          `node: --admin-port '${port}' is invalid: a port from 0 to 65535`,
        );
      }),
    );
  });

  test('parseNodeOptions() takes --verify-interval in seconds from 0.1 to 3600, or 0 (never), and nothing else', () => {
    assert.equal(options({ verifyInterval: '0' }).verifyIntervalMs, 0);
    assert.equal(options({ verifyInterval: '0.1' }).verifyIntervalMs, 100);
    assert.equal(options({ verifyInterval: '2.25' }).verifyIntervalMs, 2250);
    assert.equal(options({ verifyInterval: '3600' }).verifyIntervalMs, 3_600_000);
    for (const text of ['-1', '3601', '1e3', 'ten', '', '.5', '1.', '0.05', '0.0004']) {
      assert.deepEqual(parseNodeOptions({ verifyInterval: text }, { NODE_NAME: 'n' }), {
        ok: false,
        error: `node: --verify-interval '${text}' is invalid: seconds from 0.1 to 3600, or 0 (never)`,
      });
    }
  });

  test('parseNodeOptions() takes --status-file as given', () => {
    assert.equal(options({ statusFile: 'relative/status.json' }).statusFile, 'relative/status.json');
  });
});

describe('parseNodeOptions(): the first problem is the one reported', () => {
  test('parseNodeOptions() checks the node name, the source, the cluster network, the service network, then the port', () => {
    const bad: NodeOptionsInput = {
      source: 'nowhere',
      clusterNetwork: 'x',
      serviceNetwork: 'y',
      adminPort: 'z',
    };
    assert.equal(
      refusal(bad, {}),
      'node: no node name: set NODE_NAME (the downward API spec.nodeName) or --node-name',
    );
    assert.equal(refusal(bad), "node: --source 'nowhere' is invalid: 'dir:PATH' or 'kubernetes'");
    assert.equal(
      refusal({ ...bad, source: 'kubernetes' }),
      "node: --cluster-network 'x' is invalid: not a CIDR",
    );
    assert.equal(
      refusal({ ...bad, source: 'kubernetes', clusterNetwork: undefined }),
      "node: --service-network 'y' is invalid: not a CIDR",
    );
    assert.equal(
      refusal({ adminPort: 'z', clusterNetwork: '10.0.0.0/8', serviceNetwork: '172.16.0.0/12' }),
      "node: --admin-port 'z' is invalid: a port from 0 to 65535",
    );
  });

  test('parseNodeOptions() refusals are one line', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            source: fc.string(),
            nodeName: fc.string(),
            clusterNetwork: fc.string(),
            serviceNetwork: fc.string(),
            adminPort: fc.string(),
          },
          { requiredKeys: [] },
        ),
        (input) => {
          const result = parseNodeOptions(input, {});
          if (!result.ok) {
            assert.match(result.error, /^node: /);
            // The message itself adds no line break; only what the user wrote can carry one.
            const written = Object.values(input).join('');
            if (!written.includes('\n')) assert.ok(!result.error.includes('\n'), result.error);
          }
        },
      ),
    );
  });
});
