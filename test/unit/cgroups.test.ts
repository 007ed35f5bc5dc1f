/**
 * cgroupfs parsing against fixture trees: v2 controller files (this hybrid host cannot produce them), v1 files with
 * chosen values, and malformed or truncated files. The real hierarchies are exercised in
 * test/integration/cgroups-real.test.ts; here only this host's mountinfo is read for real.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CgroupError,
  CgroupReader,
  cgroupVersion,
  cpuLimitCores,
  flatKeyedValue,
  parseBlkioServiceBytes,
  parseCpuMax,
  parseFlatKeyed,
  parseIoStat,
  parseMemoryLimit,
  parseMountinfo,
  parsePressure,
  readCgroupMounts,
  type CgroupMounts,
} from '../../src/collectors/cgroups.js';
import { needReal } from '../helpers/real.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const ID = 'a41c19d070f84f4678ae0bd24213556fa7aa0ce082f8092367bb5ebf2de76729';
const REL = `/docker/${ID}`;

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'bubble-cgroups-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

let treeCount = 0;
/** Writes files under a fresh dir; returns the mount dir. `files` maps a path relative to the mount to content. */
function tree(files: Record<string, string>): string {
  const mount = path.join(tmpRoot, `t${treeCount++}`);
  mkdirSync(mount, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(mount, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return mount;
}

/** Files in the container's dir (REL). */
function inContainer(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [`${REL}/${k}`, v]));
}

// ---- v2 fixtures, shaped like a 6.x kernel's output ----
const V2_CPU_STAT_THROTTLED =
  'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\ncore_sched.force_idle_usec 0\n' +
  'nr_periods 120\nnr_throttled 7\nthrottled_usec 350000\nnr_bursts 0\nburst_usec 0\n';
/** What cpu.stat holds when the cpu controller is not enabled for the cgroup (always present on v2). */
const V2_CPU_STAT_PLAIN = 'usage_usec 900000\nuser_usec 600000\nsystem_usec 300000\nnice_usec 0\n';
const V2_MEMORY_STAT =
  'anon 83886080\nfile 20971520\nkernel 1048576\nkernel_stack 65536\npagetables 131072\nsec_pagetables 0\n' +
  'percpu 0\nsock 0\nvmalloc 0\nshmem 0\nfile_mapped 4194304\nfile_dirty 0\nfile_writeback 0\nswapcached 0\n' +
  'inactive_anon 83886080\nactive_anon 0\ninactive_file 15728640\nactive_file 5242880\nunevictable 0\n' +
  'slab_reclaimable 262144\nslab_unreclaimable 131072\npgfault 25000\npgmajfault 3\n';
const V2_IO_STAT =
  '8:0 rbytes=1048576 wbytes=2097152 rios=10 wios=20 dbytes=0 dios=0\n' +
  '253:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n' +
  '259:1 rbytes=1000 wbytes=24 rios=3 wios=1 dbytes=512 dios=1 cost.vrate=100.00 cost.usage=5 cost.wait=0 cost.indebt=0 cost.indelay=0\n';
const PSI_FULL = 'some avg10=1.50 avg60=0.75 avg300=0.20 total=123456\nfull avg10=0.10 avg60=0.05 avg300=0.00 total=789\n';
const PSI_SOME_ONLY = 'some avg10=12.00 avg60=3.25 avg300=1.00 total=99\n';

const V2_FULL = {
  'cpu.stat': V2_CPU_STAT_THROTTLED,
  'cpu.max': '50000 100000\n',
  'memory.current': '104857600\n',
  'memory.stat': V2_MEMORY_STAT,
  'memory.max': '536870912\n',
  'memory.peak': '157286400\n',
  'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n',
  'io.stat': V2_IO_STAT,
  'pids.current': '12\n',
  'pids.max': 'max\n',
  'cpu.pressure': PSI_FULL,
  'memory.pressure': PSI_FULL,
  'io.pressure': PSI_SOME_ONLY,
};

// ---- v1 fixtures ----
const V1_BLKIO =
  '8:0 Read 4194304\n8:0 Write 1048576\n8:0 Sync 5242880\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 5242880\n' +
  '254:0 Read 100\n254:0 Write 200\n254:0 Sync 300\n254:0 Async 0\n254:0 Discard 0\n254:0 Total 300\nTotal 5243180\n';
const V1_MEMORY_STAT =
  'cache 8192\nrss 1000\nrss_huge 0\nshmem 0\nmapped_file 0\ninactive_anon 0\nactive_anon 0\ninactive_file 4096\n' +
  'active_file 4096\nhierarchical_memory_limit 536870912\ntotal_cache 52428800\ntotal_rss 157286400\n' +
  'total_inactive_file 41943040\ntotal_active_file 10485760\n';

/** A v1 tree with cpu,cpuacct co-mounted (one dir, two keys) and memory, blkio, pids on their own. */
function v1Tree(files: {
  cpu?: Record<string, string>;
  memory?: Record<string, string>;
  blkio?: Record<string, string>;
  pids?: Record<string, string>;
}): CgroupMounts {
  const cpu = tree(inContainer(files.cpu ?? {}));
  return {
    v1: {
      cpu,
      cpuacct: cpu,
      memory: tree(inContainer(files.memory ?? {})),
      blkio: tree(inContainer(files.blkio ?? {})),
      pids: tree(inContainer(files.pids ?? {})),
      'name=systemd': tree({}),
    },
  };
}

const V1_CPU = {
  'cpuacct.usage': '123456789012\n',
  'cpuacct.stat': 'user 1000\nsystem 250\n',
  'cpu.stat': 'nr_periods 50\nnr_throttled 5\nthrottled_time 123000000\nnr_bursts 0\nburst_time 0\n',
  'cpu.cfs_quota_us': '150000\n',
  'cpu.cfs_period_us': '100000\n',
};
const V1_MEMORY = {
  'memory.usage_in_bytes': '209715200\n',
  'memory.stat': V1_MEMORY_STAT,
  'memory.limit_in_bytes': '536870912\n',
  'memory.max_usage_in_bytes': '262144000\n',
  'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
};
const V1_PIDS = { 'pids.current': '7\n', 'pids.max': '100\n' };

const v1Paths = { v1: { cpu: REL, cpuacct: REL, memory: REL, blkio: REL, pids: REL, 'name=systemd': REL } };
const host = { hostMemoryBytes: 16 * GiB };

describe('pure parsers', () => {
  it('parseFlatKeyed and flatKeyedValue read key/value lines and skip malformed ones', () => {
    const text = 'usage_usec 10\nuser_usec 7\nbad line here\nnovalue\nneg -1\nnum 12x\n\nsystem_usec 3';
    expect([...parseFlatKeyed(text)]).toEqual([
      ['usage_usec', 10],
      ['user_usec', 7],
      ['neg', -1],
      ['system_usec', 3],
    ]);
    expect(flatKeyedValue(text, 'user_usec')).toBe(7);
    expect(flatKeyedValue(text, 'system_usec')).toBe(3);
    expect(flatKeyedValue(text, 'num')).toBeUndefined();
    expect(flatKeyedValue(text, 'usec')).toBeUndefined(); // only whole keys at a line start
    // v1 memory.stat has both inactive_file and total_inactive_file: each is found as itself.
    expect(flatKeyedValue(V1_MEMORY_STAT, 'inactive_file')).toBe(4096);
    expect(flatKeyedValue(V1_MEMORY_STAT, 'total_inactive_file')).toBe(41943040);
    expect(flatKeyedValue('a 1\r\nb 2\r\n', 'a')).toBe(1);
  });

  it('parseFlatKeyed and flatKeyedValue agree on every key of real-shaped files', () => {
    for (const text of [V2_CPU_STAT_THROTTLED, V2_MEMORY_STAT, V1_MEMORY_STAT]) {
      for (const [k, v] of parseFlatKeyed(text)) expect(flatKeyedValue(text, k)).toBe(v);
    }
  });

  it('parseIoStat sums several devices, zero when empty, undefined when cut or garbage', () => {
    expect(parseIoStat(V2_IO_STAT)).toEqual({ readBytes: 1048576 + 4096 + 1000, writeBytes: 2097152 + 24 });
    expect(parseIoStat('')).toEqual({ readBytes: 0, writeBytes: 0 });
    expect(parseIoStat('8:0 rbytes=12 wbytes=')).toBeUndefined();
    expect(parseIoStat('8:0 rbytes=12 wb')).toBeUndefined();
    expect(parseIoStat('8:0 rbytes=x wbytes=1')).toBeUndefined();
    expect(parseIoStat('garbage\n')).toBeUndefined();
  });

  it('parseBlkioServiceBytes sums Read and Write over devices and ignores Total', () => {
    expect(parseBlkioServiceBytes(V1_BLKIO)).toEqual({ readBytes: 4194404, writeBytes: 1048776 });
    expect(parseBlkioServiceBytes('Total 0\n')).toEqual({ readBytes: 0, writeBytes: 0 });
    expect(parseBlkioServiceBytes('')).toBeUndefined();
    expect(parseBlkioServiceBytes('8:0 Read 10\n8:0 Wri')).toBeUndefined();
    expect(parseBlkioServiceBytes('8:0 Read ten\n')).toBeUndefined();
  });

  it('parsePressure reads some and full, drops malformed lines', () => {
    expect(parsePressure(PSI_FULL)).toEqual({
      some: { avg10: 1.5, avg60: 0.75, avg300: 0.2, totalUs: 123456 },
      full: { avg10: 0.1, avg60: 0.05, avg300: 0, totalUs: 789 },
    });
    expect(parsePressure(PSI_SOME_ONLY)).toEqual({ some: { avg10: 12, avg60: 3.25, avg300: 1, totalUs: 99 } });
    expect(parsePressure(`${PSI_SOME_ONLY}full avg10=0.00 avg60=`)).toEqual(parsePressure(PSI_SOME_ONLY));
    expect(parsePressure('some avg10=abc avg60=1 avg300=1 total=1\n')).toEqual({});
    expect(parsePressure('')).toEqual({});
  });

  it('parseCpuMax and cpuLimitCores turn quota/period into cores', () => {
    expect(parseCpuMax('max 100000\n')).toBeUndefined();
    expect(parseCpuMax('50000 100000\n')).toBe(0.5);
    expect(parseCpuMax('250000 100000')).toBe(2.5);
    expect(parseCpuMax('50000')).toBeUndefined();
    expect(parseCpuMax('abc 100000')).toBeUndefined();
    expect(parseCpuMax('')).toBeUndefined();
    expect(cpuLimitCores(-1, 100000)).toBeUndefined();
    expect(cpuLimitCores(150000, 100000)).toBe(1.5);
  });

  it('parseMemoryLimit treats max, the v1 huge value and above-host limits as unlimited', () => {
    expect(parseMemoryLimit('max\n')).toBeUndefined();
    expect(parseMemoryLimit('9223372036854771712\n')).toBeUndefined(); // 4 KiB pages
    expect(parseMemoryLimit('9223372036854710272\n')).toBeUndefined(); // 64 KiB pages
    expect(parseMemoryLimit('536870912\n')).toBe(512 * MiB);
    expect(parseMemoryLimit(String(32 * GiB), 16 * GiB)).toBeUndefined();
    expect(parseMemoryLimit(String(16 * GiB), 16 * GiB)).toBe(16 * GiB);
    expect(parseMemoryLimit('12abc')).toBeUndefined();
    expect(parseMemoryLimit('')).toBeUndefined();
  });
});

const MOUNTINFO_V1 = `\
19 24 0:18 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 19 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
31 25 0:29 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
32 25 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
33 25 0:31 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,blkio
34 25 0:32 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,cpuset,clone_children
`;
const MOUNTINFO_HYBRID = `${MOUNTINFO_V1}27 25 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:11 - cgroup2 cgroup2 rw,nsdelegate\n`;
const MOUNTINFO_V2 = `\
22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
/** This host's shape: no optional fields, cpu and cpuacct on separate hierarchies. */
const MOUNTINFO_SPLIT = `\
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
`;

describe('parseMountinfo and cgroupVersion', () => {
  it('reads a v1 host with a cpu,cpuacct co-mount and a named systemd hierarchy', () => {
    const m = parseMountinfo(MOUNTINFO_V1);
    expect(m).toEqual({
      v1: {
        'name=systemd': '/sys/fs/cgroup/systemd',
        cpu: '/sys/fs/cgroup/cpu,cpuacct',
        cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
        memory: '/sys/fs/cgroup/memory',
        net_cls: '/sys/fs/cgroup/net_cls,net_prio',
        net_prio: '/sys/fs/cgroup/net_cls,net_prio',
        pids: '/sys/fs/cgroup/pids',
        blkio: '/sys/fs/cgroup/blkio',
        cpuset: '/sys/fs/cgroup/cpuset',
      },
    });
    expect(cgroupVersion(m)).toBe('v1');
  });

  it('reads a hybrid host', () => {
    const m = parseMountinfo(MOUNTINFO_HYBRID);
    expect(m.v2).toBe('/sys/fs/cgroup/unified');
    expect(m.v1['memory']).toBe('/sys/fs/cgroup/memory');
    expect(cgroupVersion(m)).toBe('hybrid');
  });

  it('reads a pure v2 host', () => {
    const m = parseMountinfo(MOUNTINFO_V2);
    expect(m).toEqual({ v2: '/sys/fs/cgroup', v1: {} });
    expect(cgroupVersion(m)).toBe('v2');
    // A legacy name=systemd mount next to cgroup2 holds no controllers: still v2.
    const named = parseMountinfo(`${MOUNTINFO_V2}40 30 0:40 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n`);
    expect(cgroupVersion(named)).toBe('v2');
    expect(cgroupVersion(parseMountinfo(''))).toBe('none');
  });

  it('reads lines without optional fields, separate cpu and cpuacct, escaped paths, and prefers root mounts', () => {
    expect(parseMountinfo(MOUNTINFO_SPLIT).v1).toEqual({
      cpu: '/sys/fs/cgroup/cpu',
      cpuacct: '/sys/fs/cgroup/cpuacct',
      memory: '/sys/fs/cgroup/memory',
    });
    const text =
      '50 40 0:32 /docker/abc /mnt/bind rw - cgroup cgroup rw,memory\n' +
      '51 40 0:32 / /mnt/my\\040cgroups rw - cgroup cgroup rw,memory\n' +
      '52 40 0:33 /sub /mnt/v2sub rw - cgroup2 cgroup2 rw\n' +
      '53 40 0:33 / /mnt/v2 rw - cgroup2 cgroup2 rw\n' +
      'garbage line\n';
    expect(parseMountinfo(text)).toEqual({ v2: '/mnt/v2', v1: { memory: '/mnt/my cgroups' } });
  });

  it("matches this host's real mounts (statfs says what each mount is)", (ctx) => {
    const m = readCgroupMounts();
    const version = cgroupVersion(m);
    needReal(ctx, 'cgroup mounts', version !== 'none', 'no cgroup hierarchy is mounted here');
    const CGROUP_SUPER_MAGIC = 0x27e0eb;
    const CGROUP2_SUPER_MAGIC = 0x63677270;
    for (const dir of Object.values(m.v1)) {
      expect(statfsSync(dir).type).toBe(CGROUP_SUPER_MAGIC);
      expect(existsSync(`${dir}/cgroup.procs`)).toBe(true);
    }
    if (m.v2 !== undefined) expect(statfsSync(m.v2).type).toBe(CGROUP2_SUPER_MAGIC);
    // /sys/fs/cgroup itself is cgroup2 exactly on a pure v2 host.
    if (existsSync('/sys/fs/cgroup')) {
      expect(statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC).toBe(version === 'v2');
    }
    // Every hierarchy the kernel lists in /proc/self/cgroup is found (v1 by its controllers, v2 as the 0:: line).
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
      const [id, ctrls = ''] = line.split(':');
      if (id === '0') expect(m.v2).toBeDefined();
      else for (const c of ctrls.split(',')) if (c !== '') expect(m.v1[c]).toBeDefined();
    }
  });

  it('readCgroupMounts throws a CgroupError with the cause when procfs is not there', () => {
    const missing = path.join(tmpRoot, 'no-proc');
    expect(() => readCgroupMounts(missing)).toThrow(CgroupError);
    try {
      readCgroupMounts(missing);
    } catch (err) {
      expect((err as CgroupError).cause).toMatchObject({ code: 'ENOENT' });
    }
  });
});

describe('CgroupReader on v2 fixture trees', () => {
  it('reads every counter of a cgroup with cpu, memory, io and pids enabled', () => {
    const mount = tree(inContainer(V2_FULL));
    const reader = new CgroupReader({ v2: mount, v1: {} }, host);
    expect(reader.read({ v2: REL, v1: {} })).toEqual({
      cpuUsageNs: 2_500_000_000,
      cpuUserNs: 2_000_000_000,
      cpuSystemNs: 500_000_000,
      cpuPeriods: 120,
      cpuThrottledPeriods: 7,
      cpuThrottledNs: 350_000_000,
      cpuLimitCores: 0.5,
      memoryUsageBytes: 100 * MiB,
      memoryWorkingSetBytes: 100 * MiB - 15 * MiB,
      memoryLimitBytes: 512 * MiB,
      memoryPeakBytes: 150 * MiB,
      oomKills: 1,
      ioReadBytes: 1048576 + 4096 + 1000,
      ioWriteBytes: 2097152 + 24,
      pids: 12,
      cpuPressure: parsePressure(PSI_FULL),
      memoryPressure: parsePressure(PSI_FULL),
      ioPressure: parsePressure(PSI_SOME_ONLY),
    });
  });

  it('reads only CPU time and PSI where no controller is enabled (a hybrid host unified dir)', () => {
    const mount = tree(inContainer({ 'cpu.stat': V2_CPU_STAT_PLAIN, 'cpu.pressure': PSI_SOME_ONLY, 'memory.pressure': PSI_FULL }));
    const reader = new CgroupReader({ v2: mount, v1: {} }, host);
    expect(reader.read({ v2: REL, v1: {} })).toEqual({
      cpuUsageNs: 900_000_000,
      cpuUserNs: 600_000_000,
      cpuSystemNs: 300_000_000,
      cpuPressure: parsePressure(PSI_SOME_ONLY),
      memoryPressure: parsePressure(PSI_FULL),
    });
  });

  it('working set is clamped at 0 and unlimited memory.max gives no limit', () => {
    const mount = tree(inContainer({ 'memory.current': '1000\n', 'memory.stat': 'inactive_file 4096\n', 'memory.max': 'max\n' }));
    const c = new CgroupReader({ v2: mount, v1: {} }, host).read({ v2: REL, v1: {} });
    expect(c).toEqual({ memoryUsageBytes: 1000, memoryWorkingSetBytes: 0 });
  });
});

describe('CgroupReader on v1 fixture trees', () => {
  it('reads cpuacct, cpu, memory, blkio and pids from their hierarchies', () => {
    const mounts = v1Tree({ cpu: V1_CPU, memory: V1_MEMORY, blkio: { 'blkio.throttle.io_service_bytes_recursive': V1_BLKIO }, pids: V1_PIDS });
    expect(new CgroupReader(mounts, host).read(v1Paths)).toEqual({
      cpuUsageNs: 123456789012,
      cpuUserNs: 10_000_000_000, // 1000 USER_HZ ticks
      cpuSystemNs: 2_500_000_000,
      cpuPeriods: 50,
      cpuThrottledPeriods: 5,
      cpuThrottledNs: 123_000_000,
      cpuLimitCores: 1.5,
      memoryUsageBytes: 200 * MiB,
      memoryWorkingSetBytes: 200 * MiB - 40 * MiB, // total_inactive_file wins over the local inactive_file
      memoryLimitBytes: 512 * MiB,
      memoryPeakBytes: 250 * MiB,
      oomKills: 2,
      ioReadBytes: 4194404,
      ioWriteBytes: 1048776,
      pids: 7,
      pidsLimit: 100,
    });
  });

  it('treats the v1 unlimited value, a -1 quota and a limit above host memory as no limit', () => {
    const mounts = v1Tree({
      cpu: { ...V1_CPU, 'cpu.cfs_quota_us': '-1\n' },
      memory: { ...V1_MEMORY, 'memory.limit_in_bytes': '9223372036854771712\n' },
    });
    const c = new CgroupReader(mounts, host).read(v1Paths);
    expect(c.cpuLimitCores).toBeUndefined();
    expect(c.memoryLimitBytes).toBeUndefined();
    expect(c.cpuUsageNs).toBe(123456789012);
    const above = v1Tree({ memory: { ...V1_MEMORY, 'memory.limit_in_bytes': String(64 * GiB) } });
    expect(new CgroupReader(above, host).read(v1Paths).memoryLimitBytes).toBeUndefined();
    expect(new CgroupReader(above, { hostMemoryBytes: 128 * GiB }).read(v1Paths).memoryLimitBytes).toBe(64 * GiB);
  });

  it('falls back through the blkio files: local throttle, then bfq', () => {
    const throttle = v1Tree({ blkio: { 'blkio.throttle.io_service_bytes': '8:0 Read 5\n8:0 Write 6\nTotal 11\n' } });
    expect(new CgroupReader(throttle, host).read(v1Paths)).toEqual({ ioReadBytes: 5, ioWriteBytes: 6 });
    const bfq = v1Tree({
      blkio: { 'blkio.throttle.io_service_bytes_recursive': 'garbage\n', 'blkio.bfq.io_service_bytes_recursive': '8:0 Read 7\n8:0 Write 8\nTotal 15\n' },
    });
    expect(new CgroupReader(bfq, host).read(v1Paths)).toEqual({ ioReadBytes: 7, ioWriteBytes: 8 });
  });

  it('uses the local inactive_file when there is no total_inactive_file', () => {
    const mounts = v1Tree({ memory: { 'memory.usage_in_bytes': '10000\n', 'memory.stat': 'cache 0\ninactive_file 4000\n' } });
    expect(new CgroupReader(mounts, host).read(v1Paths)).toMatchObject({ memoryUsageBytes: 10000, memoryWorkingSetBytes: 6000 });
  });

  it('accepts a co-mounted key as /proc/PID/cgroup spells it', () => {
    const mounts = v1Tree({ cpu: V1_CPU });
    const c = new CgroupReader(mounts, host).read({ v1: { 'cpu,cpuacct': REL } });
    expect(c.cpuUsageNs).toBe(123456789012);
    expect(c.cpuLimitCores).toBe(1.5);
  });
});

describe('CgroupReader on hybrid and Slurm-like layouts', () => {
  it('prefers v1 controllers and takes PSI from the unified hierarchy', () => {
    const mounts: CgroupMounts = {
      ...v1Tree({ cpu: V1_CPU, memory: V1_MEMORY, pids: V1_PIDS }),
      v2: tree(inContainer({ 'cpu.stat': V2_CPU_STAT_PLAIN, 'cpu.pressure': PSI_FULL, 'io.pressure': PSI_SOME_ONLY })),
    };
    const c = new CgroupReader(mounts, host).read({ ...v1Paths, v2: REL });
    expect(c.cpuUsageNs).toBe(123456789012); // cpuacct, not unified cpu.stat
    expect(c.memoryUsageBytes).toBe(200 * MiB);
    expect(c.cpuPressure).toEqual(parsePressure(PSI_FULL));
    expect(c.ioPressure).toEqual(parsePressure(PSI_SOME_ONLY));
    expect(c.memoryPressure).toBeUndefined();
  });

  it('uses unified cpu.stat for CPU when the container has no v1 cpuacct dir (Slurm leaves it at the root)', () => {
    const mounts: CgroupMounts = {
      ...v1Tree({ cpu: V1_CPU, memory: V1_MEMORY }),
      v2: tree(inContainer({ 'cpu.stat': V2_CPU_STAT_PLAIN })),
    };
    const c = new CgroupReader(mounts, host).read({ v1: { memory: REL }, v2: REL });
    expect(c.cpuUsageNs).toBe(900_000_000);
    expect(c.cpuLimitCores).toBeUndefined();
    expect(c.memoryUsageBytes).toBe(200 * MiB);
    // Without a v2 path nothing speaks for CPU: undefined, never the root's counters.
    const v1Only = new CgroupReader(mounts, host).read({ v1: { memory: REL } });
    expect(v1Only.cpuUsageNs).toBeUndefined();
    expect(v1Only.memoryUsageBytes).toBe(200 * MiB);
  });
});

describe('CgroupReader with missing, malformed and truncated files', () => {
  it('gives undefined fields and never throws for garbage, empty, cut and non-numeric files', () => {
    const mount = tree(
      inContainer({
        'cpu.stat': '\u0000\u00ff garbage\n',
        'cpu.max': 'fifty 100000\n',
        'memory.current': '',
        'memory.stat': 'inactive_fi',
        'memory.max': '12abc\n',
        'memory.peak': '\n',
        'memory.events': 'oom_kill many\n',
        'io.stat': '8:0 rbytes=12 wbytes=',
        'pids.current': 'many\n',
        'pids.max': 'lots\n',
        'cpu.pressure': 'some avg10=1.00 avg60=',
        'memory.pressure': '',
        'io.pressure': 'nonsense\n',
      }),
    );
    const reader = new CgroupReader({ v2: mount, v1: {} }, host);
    expect(reader.read({ v2: REL, v1: {} })).toEqual({});
    const v1 = v1Tree({
      cpu: { 'cpuacct.usage': 'x', 'cpuacct.stat': 'user\nsystem ', 'cpu.stat': '', 'cpu.cfs_quota_us': '', 'cpu.cfs_period_us': '0' },
      memory: {
        'memory.usage_in_bytes': '1e9',
        'memory.stat': '',
        'memory.limit_in_bytes': '-',
        'memory.max_usage_in_bytes': ' ',
        'memory.oom_control': 'oom_kill',
      },
      blkio: { 'blkio.throttle.io_service_bytes_recursive': '', 'blkio.throttle.io_service_bytes': '8:0 Read' },
      pids: { 'pids.current': '3 4\n', 'pids.max': '' },
    });
    expect(new CgroupReader(v1, host).read(v1Paths)).toEqual({});
  });

  it('keeps what precedes a cut-off last line', () => {
    const mount = tree(
      inContainer({ 'cpu.stat': 'usage_usec 100\nuser_usec 60\nsystem_u', 'memory.current': '5000', 'memory.stat': 'anon 1\ninactive_file 1000\nactive_fi' }),
    );
    expect(new CgroupReader({ v2: mount, v1: {} }, host).read({ v2: REL, v1: {} })).toEqual({
      cpuUsageNs: 100_000,
      cpuUserNs: 60_000,
      memoryUsageBytes: 5000,
      memoryWorkingSetBytes: 4000,
    });
  });

  it('gives {} for a missing dir, paths from another cgroup namespace, and unmounted hierarchies', () => {
    const mount = tree({});
    const reader = new CgroupReader({ v2: mount, v1: { memory: mount } }, host);
    expect(reader.read({ v2: REL, v1: { memory: REL } })).toEqual({});
    expect(reader.read({ v2: '/../escape', v1: {} })).toEqual({});
    expect(new CgroupReader({ v1: {} }, host).read(v1Paths)).toEqual({});
  });

  it('does not throw when a file is a directory', () => {
    const mount = tree(inContainer({ 'cpu.stat/x': '' }));
    expect(new CgroupReader({ v2: mount, v1: {} }, host).read({ v2: REL, v1: {} })).toEqual({});
  });

  it('reads files larger than its initial buffer', () => {
    const padding = Array.from({ length: 3000 }, (_, i) => `pad_${i} ${i}`).join('\n');
    const mount = tree(inContainer({ 'memory.current': '8000\n', 'memory.stat': `${padding}\ninactive_file 3000\n` }));
    expect(padding.length).toBeGreaterThan(16 * 1024);
    expect(new CgroupReader({ v2: mount, v1: {} }, host).read({ v2: REL, v1: {} }).memoryWorkingSetBytes).toBe(5000);
  });

  it('remembers a missing controller file until forget(); a vanished dir is forgotten by itself', () => {
    const mount = tree(inContainer({ 'cpu.stat': V2_CPU_STAT_PLAIN }));
    const dir = `${mount}${REL}`;
    const reader = new CgroupReader({ v2: mount, v1: {} }, host);
    const paths = { v2: REL, v1: {} };
    expect(reader.read(paths).memoryUsageBytes).toBeUndefined();
    writeFileSync(`${dir}/memory.current`, '4096\n');
    expect(reader.read(paths).memoryUsageBytes).toBeUndefined(); // cached as missing: no open() per tick
    reader.forget(paths);
    expect(reader.read(paths).memoryUsageBytes).toBe(4096);

    // The dir goes away (container exits) and comes back with files the reader had found missing before.
    const mount2 = tree(inContainer({ 'cpu.stat': V2_CPU_STAT_PLAIN }));
    const reader2 = new CgroupReader({ v2: mount2, v1: {} }, host);
    expect(reader2.read(paths).pids).toBeUndefined();
    rmSync(`${mount2}${REL}`, { recursive: true });
    expect(reader2.read(paths)).toEqual({});
    mkdirSync(`${mount2}${REL}`, { recursive: true });
    writeFileSync(`${mount2}${REL}/pids.current`, '3\n');
    expect(reader2.read(paths).pids).toBe(3);
  });
});
