import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { availableCpus, cgroupCpuQuota, defaultWorkerCount } from './cpus.js';

const V2_MOUNT =
  '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n';
const V1_MOUNTS = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '',
].join('\n');

function reader(files: Record<string, string>) {
  return (path: string) => files[path];
}

describe('cgroupCpuQuota()', () => {
  test('cgroupCpuQuota() reads cgroup v2 cpu.max of the process cgroup', () => {
    const quota = cgroupCpuQuota({
      cgroup: '0::/kubepods/pod1/ctr\n',
      mountinfo: V2_MOUNT,
      read: reader({
        '/sys/fs/cgroup/cpu.max': 'max 100000',
        '/sys/fs/cgroup/kubepods/cpu.max': 'max 100000',
        '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '150000 100000',
      }),
    });
    assert.equal(quota, 1.5);
  });

  test('cgroupCpuQuota() takes the smallest quota of the cgroup and its ancestors', () => {
    const quota = cgroupCpuQuota({
      cgroup: '0::/kubepods/pod1/ctr\n',
      mountinfo: V2_MOUNT,
      read: reader({
        '/sys/fs/cgroup/kubepods/pod1/cpu.max': '50000 100000',
        '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '300000 100000',
      }),
    });
    assert.equal(quota, 0.5);
  });

  test('cgroupCpuQuota() inside a cgroup namespace reads the mount root (/proc/self/cgroup says /)', () => {
    const quota = cgroupCpuQuota({
      cgroup: '0::/\n',
      mountinfo: '1500 1400 0:26 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n',
      read: reader({ '/sys/fs/cgroup/cpu.max': '200000 100000' }),
    });
    assert.equal(quota, 2);
  });

  test('cgroupCpuQuota() gives undefined for max (no quota) and for unreadable files', () => {
    assert.equal(
      cgroupCpuQuota({
        cgroup: '0::/a\n',
        mountinfo: V2_MOUNT,
        read: reader({ '/sys/fs/cgroup/a/cpu.max': 'max 100000' }),
      }),
      undefined,
    );
    assert.equal(cgroupCpuQuota({ cgroup: '0::/a\n', mountinfo: V2_MOUNT, read: reader({}) }), undefined);
    assert.equal(cgroupCpuQuota({ cgroup: '', mountinfo: '', read: reader({}) }), undefined);
  });

  test('cgroupCpuQuota() reads cgroup v1 cfs_quota_us over cfs_period_us (-1: none)', () => {
    const view = (quota: string) => ({
      cgroup: '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n',
      mountinfo: V1_MOUNTS,
      read: reader({
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1',
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000',
        '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': quota,
        '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000',
      }),
    });
    assert.equal(cgroupCpuQuota(view('250000')), 2.5);
    assert.equal(cgroupCpuQuota(view('-1')), undefined);
  });

  test('cgroupCpuQuota() unescapes mount points (\\040 is a space)', () => {
    const quota = cgroupCpuQuota({
      cgroup: '0::/\n',
      mountinfo: '30 23 0:26 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n',
      read: reader({ '/sys/fs/my cgroup/cpu.max': '100000 100000' }),
    });
    assert.equal(quota, 1);
  });
});

describe('defaultWorkerCount()', () => {
  const cases: [number | undefined, number, number][] = [
    [undefined, 4, 4],
    [1.5, 4, 2],
    [0.25, 4, 1],
    [8, 2, 2],
    [2, 2, 2],
    [undefined, 0, 1],
  ];
  for (const [quota, parallelism, expected] of cases) {
    test(`defaultWorkerCount(${quota}, ${parallelism}) is ${expected}: the smaller, rounded up, at least 1`, () => {
      assert.equal(defaultWorkerCount(quota, parallelism), expected);
    });
  }
});

test('availableCpus() reads this machine: at least 1, at most the affinity mask', async () => {
  const { availableParallelism } = await import('node:os');
  const cpus = availableCpus();
  assert.ok(cpus >= 1 && cpus <= availableParallelism(), String(cpus));
});
