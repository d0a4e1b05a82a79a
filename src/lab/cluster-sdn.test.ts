import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LAB_SDN_PRIORITY, LAB_SDN_TABLE, sdnRemoval, sdnRuleset } from './cluster-sdn.js';

describe('sdnRuleset()', () => {
  it('masquerades pod traffic for outside the cluster network on the uplink, both families', () => {
    const text = sdnRuleset({ clusterNetwork4: '10.128.0.0/14', clusterNetwork6: 'fd01::/48' });
    assert.equal(
      text,
      [
        'table inet lab_sdn',
        'delete table inet lab_sdn',
        'table inet lab_sdn {',
        '\tchain postrouting {',
        '\t\ttype nat hook postrouting priority srcnat + 10; policy accept;',
        '\t\toifname "eth0" ip saddr 10.128.0.0/14 ip daddr != 10.128.0.0/14 masquerade',
        '\t\toifname "eth0" ip6 saddr fd01::/48 ip6 daddr != fd01::/48 masquerade',
        '\t}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('is never one of the agent tables and runs after an SNAT at srcnat', () => {
    assert.doesNotMatch(LAB_SDN_TABLE, /^egress_router/);
    assert.equal(LAB_SDN_PRIORITY, 'srcnat + 10');
    assert.equal(sdnRemoval(), 'table inet lab_sdn\ndelete table inet lab_sdn\n');
  });
});
