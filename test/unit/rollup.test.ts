import { describe, expect, it } from 'vitest';
import type { ContainerView, HostView, Interval, ProcessView, Snapshot } from '../../src/model/snapshot.js';
import { Rollup } from '../../src/store/rollup.js';
import type { ContainerRow, ProcessRow, SeriesRows } from '../../src/store/rows.js';
import { bucketStart, TIER_MS, TIERS, type Tier } from '../../src/store/tiers.js';

// Snapshot builders: only the fields the rollup reads vary; the rest are fixed plausible values.
const host: HostView = { hostname: 'test', ncpu: 4, memTotalBytes: 8 * 1024 ** 3, memUsedBytes: 1024 ** 3 };

function container(key: string, interval: Interval, over: Partial<ContainerView> = {}): ContainerView {
  return {
    key,
    kind: 'docker',
    id: key,
    name: key,
    cgroup: `/docker/${key}`,
    cpuSource: 'cgroup',
    processCount: 1,
    pressure: {},
    interval,
    ...over,
  };
}

function proc(key: string, interval: Interval, rssBytes: number, threads = 1, over: Partial<ProcessView> = {}): ProcessView {
  return {
    key,
    pid: 100,
    ppid: 1,
    comm: key,
    cmdline: key,
    exe: `/bin/${key}`,
    uid: 0,
    user: 'root',
    state: 'S',
    containerKey: 'host',
    kernelThread: false,
    startTimeMs: 0,
    cpuNs: 0,
    rssBytes,
    vsizeBytes: rssBytes * 2,
    memPercent: 0,
    threads,
    interval,
    ...over,
  };
}

function snap(
  timeMs: number,
  containers: ContainerView[],
  processes: ProcessView[],
  exited: { containers?: ContainerView[]; processes?: ProcessView[] } = {},
): Snapshot {
  return {
    timeMs,
    intervalMs: 1000,
    host,
    containers,
    processes,
    exited: { containers: exited.containers ?? [], processes: exited.processes ?? [] },
    gaps: [],
  };
}

const weighted = (a: number, an: number, b: number, bn: number): number => Math.round((a * an + b * bn) / (an + bn));
const maxKnown = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
const addKnown = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : a + b);

/** Merges a part into the stored row as the writer's ON CONFLICT does (src/store/merge.ts). */
function mergeContainer(a: ContainerRow, b: ContainerRow): ContainerRow {
  const memAvg = a.memAvg === undefined || b.memAvg === undefined ? (a.memAvg ?? b.memAvg) : weighted(a.memAvg, a.samples, b.memAvg, b.samples);
  const row = {
    ...a,
    cpuNs: a.cpuNs + b.cpuNs,
    readBytes: a.readBytes + b.readBytes,
    writeBytes: a.writeBytes + b.writeBytes,
    samples: a.samples + b.samples,
    sampledMs: a.sampledMs + b.sampledMs,
    memAvg,
    memMax: maxKnown(a.memMax, b.memMax),
    netRxBytes: addKnown(a.netRxBytes, b.netRxBytes),
    netTxBytes: addKnown(a.netTxBytes, b.netTxBytes),
    pidsMax: maxKnown(a.pidsMax, b.pidsMax),
  };
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)) as unknown as ContainerRow;
}

function mergeProcess(a: ProcessRow, b: ProcessRow): ProcessRow {
  return {
    ...a,
    cpuNs: a.cpuNs + b.cpuNs,
    rssAvg: weighted(a.rssAvg, a.samples, b.rssAvg, b.samples),
    rssMax: Math.max(a.rssMax, b.rssMax),
    readBytes: a.readBytes + b.readBytes,
    writeBytes: a.writeBytes + b.writeBytes,
    threadsMax: Math.max(a.threadsMax, b.threadsMax),
    samples: a.samples + b.samples,
  };
}

/**
 * Every row the rollup emitted, in order; hour and day parts (one per closed minute) merged into their bucket's row
 * as the store merges them. `parts` keeps the hour and day rows as emitted.
 */
class Sink {
  readonly containers: ContainerRow[] = [];
  readonly processes: ProcessRow[] = [];
  readonly parts: (ContainerRow | ProcessRow)[] = [];
  readonly #at = new Map<string, number>();
  take(rows: SeriesRows): SeriesRows {
    for (const r of rows.containers) this.#add(this.containers, r, `c/${r.tier}/${r.bucket}/${r.containerKey}`, mergeContainer);
    for (const r of rows.processes) this.#add(this.processes, r, `p/${r.tier}/${r.bucket}/${r.processKey}`, mergeProcess);
    return rows;
  }
  #add<T extends ContainerRow | ProcessRow>(list: T[], row: T, key: string, merge: (a: T, b: T) => T): void {
    if (row.tier !== 'hour' && row.tier !== 'day') {
      list.push(row);
      return;
    }
    this.parts.push(row);
    const at = this.#at.get(key);
    if (at === undefined) {
      this.#at.set(key, list.length);
      list.push(row);
    } else {
      list[at] = merge(list[at]!, row);
    }
  }
  c(key: string, tier: Tier): ContainerRow[] {
    return this.containers.filter((r) => r.containerKey === key && r.tier === tier);
  }
  p(key: string, tier: Tier): ProcessRow[] {
    return this.processes.filter((r) => r.processKey === key && r.tier === tier);
  }
}

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const sum = <T>(rows: readonly T[], pick: (r: T) => number | undefined): number => rows.reduce((s, r) => s + (pick(r) ?? 0), 0);

function expectUniqueKeys(sink: Sink): void {
  const c = new Set(sink.containers.map((r) => `${r.tier}/${r.bucket}/${r.containerKey}`));
  const p = new Set(sink.processes.map((r) => `${r.tier}/${r.bucket}/${r.processKey}`));
  expect(c.size).toBe(sink.containers.length);
  expect(p.size).toBe(sink.processes.length);
}

const DAY = TIER_MS.day;
const HOUR = TIER_MS.hour;
const MINUTE = TIER_MS.minute;
const T0 = Date.UTC(2024, 2, 1); // a day boundary

describe('Rollup conservation', () => {
  it('conserves CPU time and bytes from second to day over 26 hours', () => {
    const rand = random(42);
    const rollup = new Rollup();
    const sink = new Sink();
    const start = T0 + 21 * HOUR + 17 * MINUTE + 3_250; // mid-hour, crosses a midnight
    const ckeys = ['docker:a', 'docker:b', 'host'];
    type Fed = { cpu: number; read: number; write: number; rx: number; tx: number; samples: number };
    const fed = new Map<string, Fed>();
    const feed = (key: string, d: Interval): void => {
      const f = fed.get(key) ?? { cpu: 0, read: 0, write: 0, rx: 0, tx: 0, samples: 0 };
      f.cpu += d.cpuNs ?? 0;
      f.read += d.readBytes ?? 0;
      f.write += d.writeBytes ?? 0;
      f.rx += d.netRxBytes ?? 0;
      f.tx += d.netTxBytes ?? 0;
      f.samples++;
      fed.set(key, f);
    };
    // 20 live processes at a time; each lives a random while, then exits and is replaced (churn).
    let next = 0;
    const live: { key: string; until: number; rss: number; idle: boolean }[] = [];
    const spawn = (now: number): void => {
      live.push({ key: `p${next++}`, until: now + (1 + rand(240)) * MINUTE, rss: 1e6 + rand(1e9), idle: rand(4) === 0 });
    };
    for (let i = 0; i < 20; i++) spawn(start);

    const end = start + 26 * HOUR;
    for (let t = start; t < end; t += 10_000) {
      const now = t + rand(1000) - 500; // jitter around the 10 s tick
      const exited: ProcessView[] = [];
      for (let i = live.length - 1; i >= 0; i--) {
        const p = live[i]!;
        if (p.until <= now) {
          exited.push(proc(p.key, {}, p.rss));
          live.splice(i, 1);
          spawn(now);
        }
      }
      const containers = ckeys.map((key) => {
        const d: Interval = {
          cpuNs: rand(40e9),
          ...(rand(10) > 0 && { readBytes: rand(1e9) }), // sometimes unknown: counts as 0
          writeBytes: rand(1e9),
          ...(key !== 'host' && { netRxBytes: rand(1e10), netTxBytes: rand(1e10) }),
        };
        feed(key, d);
        return container(key, d, { memoryBytes: rand(1e10), pids: rand(500) });
      });
      const processes = live.map((p) => {
        const d: Interval = p.idle ? { cpuNs: 0, readBytes: 0, writeBytes: 0 } : { cpuNs: rand(10e9), readBytes: rand(1e8), writeBytes: rand(1e8) };
        feed(p.key, d);
        return proc(p.key, d, p.idle ? p.rss : p.rss + rand(1e6), 1 + rand(8));
      });
      sink.take(rollup.add(snap(now, containers, processes, { processes: exited })));
    }
    sink.take(rollup.flush());
    expect(rollup.tracked).toEqual({ containers: 0, processes: 0 });
    expectUniqueKeys(sink);

    expect(fed.size).toBeGreaterThan(100);
    const byKey = new Map<string, (ContainerRow | ProcessRow)[]>();
    for (const r of [...sink.containers, ...sink.processes]) {
      const k = `${'containerKey' in r ? r.containerKey : r.processKey}/${r.tier}`;
      const list = byKey.get(k);
      if (list === undefined) byKey.set(k, [r]);
      else list.push(r);
    }
    for (const [key, f] of fed) {
      const isContainer = ckeys.includes(key);
      for (const tier of TIERS) {
        const rows = byKey.get(`${key}/${tier}`) ?? [];
        expect(rows.length, `${key} ${tier}`).toBeGreaterThan(0);
        expect(
          sum(rows, (r) => r.cpuNs),
          `${key} ${tier} cpu`,
        ).toBe(f.cpu);
        expect(
          sum(rows, (r) => r.readBytes),
          `${key} ${tier} read`,
        ).toBe(f.read);
        expect(
          sum(rows, (r) => r.writeBytes),
          `${key} ${tier} write`,
        ).toBe(f.write);
        // Change-only second rows leave samples out; coarser tiers count every one.
        if (isContainer || tier !== 'second')
          expect(
            sum(rows, (r) => r.samples),
            `${key} ${tier} samples`,
          ).toBe(f.samples);
        for (const r of rows) expect(r.bucket).toBe(bucketStart(tier, r.bucket));
        if (isContainer) {
          const crows = rows as ContainerRow[];
          expect(sum(crows, (r) => r.netRxBytes)).toBe(f.rx);
          expect(sum(crows, (r) => r.netTxBytes)).toBe(f.tx);
          expect(crows.every((r) => (r.netRxBytes === undefined) === (key === 'host'))).toBe(true);
        }
      }
      expect(Number.isSafeInteger(f.cpu)).toBe(true);
    }
    // The day rows: the partial day before midnight and the one after it.
    expect(sink.c('docker:a', 'day').map((r) => r.bucket)).toEqual([T0, T0 + DAY]);
    expect(sink.c('docker:a', 'hour')).toHaveLength(27);
  });

  it('hands out exact minute parts of hours and days, even past 2^53 ns a day (SQLite adds them in 64 bits)', () => {
    for (const cores of [100, 200]) {
      const rand = random(cores);
      const rollup = new Rollup();
      const sink = new Sink();
      let exact = 0n;
      for (let t = T0; t < T0 + DAY; t += MINUTE) {
        const cpuNs = cores * 60e9 - rand(1000) * 2 - 1; // odd: the low bits matter
        exact += BigInt(cpuNs);
        sink.take(rollup.add(snap(t, [container('big', { cpuNs })], [])));
      }
      sink.take(rollup.flush());
      // One part per minute for each of the hour and the day, no hour or day accumulated in memory.
      const dayParts = sink.parts.filter((r) => r.tier === 'day');
      expect(dayParts).toHaveLength(24 * 60);
      expect(sink.parts.filter((r) => r.tier === 'hour')).toHaveLength(24 * 60);
      for (const r of dayParts) expect(Number.isSafeInteger(r.cpuNs)).toBe(true);
      expect(dayParts.reduce((s, r) => s + BigInt(r.cpuNs), 0n)).toBe(exact);
      if (cores === 200) expect(exact > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    }
  });
});

describe('Rollup max and average', () => {
  it('takes the max over the seconds and weights the average by samples', () => {
    const rollup = new Rollup();
    const sink = new Sink();
    const rand = random(7);
    const fedMem = new Map<number, number[]>(); // minute -> container memory samples
    const fedRss = new Map<number, number[]>();
    const fedPids = new Map<number, number[]>();
    let t = T0 + 5 * MINUTE;
    const end = T0 + 9 * MINUTE;
    while (t < end) {
      const minute = bucketStart('minute', t);
      const mem = rand(1e9);
      const rss = rand(1e8);
      const pids = rand(300);
      // Memory unknown in some samples: they do not count toward the average.
      const known = rand(5) > 0;
      if (known) fedMem.set(minute, [...(fedMem.get(minute) ?? []), mem]);
      fedRss.set(minute, [...(fedRss.get(minute) ?? []), rss]);
      fedPids.set(minute, [...(fedPids.get(minute) ?? []), pids]);
      sink.take(
        rollup.add(snap(t, [container('c', { cpuNs: 1 }, { ...(known && { memoryBytes: mem }), pids })], [proc('p', { cpuNs: 1 }, rss, 1 + (pids % 7))])),
      );
      // Uneven samples per second (1 to 4), so a mean of means would differ from the sample-weighted mean.
      t += 250 * (1 + rand(4));
    }
    sink.take(rollup.flush());

    const minutes = sink.c('c', 'minute');
    expect(minutes).toHaveLength(4);
    const seconds = sink.c('c', 'second');
    let meanOfMeansDiffers = false;
    for (const m of minutes) {
      const mem = fedMem.get(m.bucket)!;
      const inMinute = seconds.filter((s) => bucketStart('minute', s.bucket) === m.bucket);
      expect(m.memMax).toBe(Math.max(...inMinute.flatMap((s) => (s.memMax === undefined ? [] : [s.memMax]))));
      expect(m.memMax).toBe(Math.max(...mem));
      expect(m.memAvg).toBe(Math.round(mem.reduce((a, b) => a + b, 0) / mem.length));
      expect(m.pidsMax).toBe(Math.max(...fedPids.get(m.bucket)!));
      expect(m.samples).toBe(sum(inMinute, (s) => s.samples));
      const withMem = inMinute.filter((s) => s.memAvg !== undefined);
      const meanOfMeans = Math.round(sum(withMem, (s) => s.memAvg) / withMem.length);
      if (Math.abs(meanOfMeans - m.memAvg!) > 1) meanOfMeansDiffers = true;

      const pm = sink.p('p', 'minute').find((r) => r.bucket === m.bucket)!;
      const rss = fedRss.get(m.bucket)!;
      expect(pm.rssMax).toBe(Math.max(...rss));
      expect(pm.rssAvg).toBe(Math.round(rss.reduce((a, b) => a + b, 0) / rss.length));
      expect(pm.threadsMax).toBe(Math.max(...fedPids.get(m.bucket)!.map((n) => 1 + (n % 7))));
    }
    expect(meanOfMeansDiffers).toBe(true);

    const [hour] = sink.c('c', 'hour');
    const allMem = [...fedMem.values()].flat();
    expect(hour!.memMax).toBe(Math.max(...allMem));
    // The store weights each minute's average by its samples (it keeps no count of samples with memory known).
    const byMinute = minutes.map((m) => [m.memAvg!, m.samples] as const);
    const weightedMean = byMinute.reduce((a, [avg, n]) => a + avg * n, 0) / byMinute.reduce((a, [, n]) => a + n, 0);
    expect(Math.abs(hour!.memAvg! - weightedMean)).toBeLessThanOrEqual(1);
    const [day] = sink.p('p', 'day');
    const allRss = [...fedRss.values()].flat();
    expect(Math.abs(day!.rssAvg - allRss.reduce((a, b) => a + b, 0) / allRss.length)).toBeLessThanOrEqual(1);
  });

  it('leaves memory, pids and net undefined when never known, and net known from the first sample', () => {
    const rollup = new Rollup({ tiers: ['second', 'minute'] });
    const sink = new Sink();
    // First sample of a container with net: no delta yet, but the counter says it has a network namespace.
    sink.take(rollup.add(snap(T0, [container('net', {}, { netRxBytes: 5, netTxBytes: 6 }), container('bare', {})], [])));
    sink.take(rollup.add(snap(T0 + 1000, [container('net', { netRxBytes: 10, netTxBytes: 20 }), container('bare', { cpuNs: 3 })], [])));
    sink.take(rollup.flush());
    expect(sink.c('net', 'second').map((r) => [r.netRxBytes, r.netTxBytes])).toEqual([
      [0, 0],
      [10, 20],
    ]);
    expect(sink.c('net', 'minute')[0]).toMatchObject({ netRxBytes: 10, netTxBytes: 20, samples: 2 });
    const bare = sink.c('bare', 'minute')[0]!;
    // Sampled time: the second interval only (the first sample gave no figures).
    expect(bare).toEqual({ tier: 'minute', bucket: T0, containerKey: 'bare', cpuNs: 3, readBytes: 0, writeBytes: 0, samples: 2, sampledMs: 1000 });
    expect(sink.containers.some((r) => r.tier === 'hour' || r.tier === 'day')).toBe(false);
  });
});

describe('Rollup change-only second rows', () => {
  it('writes an idle process once, yet gives it every minute and hour row', () => {
    const rollup = new Rollup();
    const sink = new Sink();
    const idle = (): ProcessView => proc('idle', { cpuNs: 0, readBytes: 0, writeBytes: 0 }, 4096, 2);
    for (let t = T0; t < T0 + 2 * HOUR; t += 1000) sink.take(rollup.add(snap(t, [container('c', {})], [idle()])));
    sink.take(rollup.add(snap(T0 + 2 * HOUR, [container('c', {})], [idle()])));

    expect(sink.p('idle', 'second')).toEqual([
      {
        tier: 'second',
        bucket: T0,
        processKey: 'idle',
        cpuNs: 0,
        rssAvg: 4096,
        rssMax: 4096,
        readBytes: 0,
        writeBytes: 0,
        threadsMax: 2,
        samples: 1,
        sampledMs: 1000,
      },
    ]);
    const minutes = sink.p('idle', 'minute');
    expect(minutes).toHaveLength(120);
    expect(minutes.every((r) => r.samples === 60 && r.rssAvg === 4096 && r.threadsMax === 2)).toBe(true);
    expect(sink.p('idle', 'hour').map((r) => [r.bucket, r.samples])).toEqual([
      [T0, 3600],
      [T0 + HOUR, 3600],
    ]);
    // Container second rows are always written.
    expect(sink.c('c', 'second')).toHaveLength(2 * 3600);
  });

  it('writes again when the process works, or its rss or threads change', () => {
    const rollup = new Rollup({ tiers: ['second'] });
    const sink = new Sink();
    const steps: [Interval, number, number][] = [
      [{}, 100, 1], // first: written
      [{ cpuNs: 0 }, 100, 1], // idle: not
      [{ cpuNs: 5 }, 100, 1], // cpu: written
      [{ cpuNs: 0 }, 100, 1], // idle again, same as the last row (cpu aside): not
      [{ writeBytes: 1 }, 100, 1], // I/O: written
      [{ readBytes: 1 }, 100, 1], // I/O: written
      [{}, 200, 1], // rss alone: written
      [{}, 200, 1], // not
      [{}, 200, 3], // threads alone: written
      [{}, 200, 3], // not
    ];
    steps.forEach(([d, rss, threads], i) => sink.take(rollup.add(snap(T0 + i * 1000, [], [proc('p', d, rss, threads)]))));
    sink.take(rollup.add(snap(T0 + steps.length * 1000, [], [])));
    expect(sink.p('p', 'second').map((r) => (r.bucket - T0) / 1000)).toEqual([0, 2, 4, 5, 6, 8]);
  });

  it('compares a mixed second against the last row by avg and max', () => {
    const rollup = new Rollup({ tiers: ['second'] });
    const sink = new Sink();
    sink.take(rollup.add(snap(T0, [], [proc('p', {}, 100)])));
    // Same average (100) but a higher max within one second: written.
    sink.take(rollup.add(snap(T0 + 1000, [], [proc('p', {}, 50)])));
    sink.take(rollup.add(snap(T0 + 1500, [], [proc('p', {}, 150)])));
    sink.take(rollup.add(snap(T0 + 2000, [], [proc('p', {}, 100)])));
    sink.take(rollup.flush());
    expect(sink.p('p', 'second').map((r) => [r.rssAvg, r.rssMax, r.samples])).toEqual([
      [100, 100, 1],
      [100, 150, 2],
      [100, 100, 1],
    ]);
  });
});

describe('Rollup exits and forgetting', () => {
  it('emits the rows of a process that exited mid-bucket, then drops it after its minute closes', () => {
    const rollup = new Rollup();
    const sink = new Sink();
    const start = T0 + 23 * HOUR + 58 * MINUTE + 10_500;
    const sleepy = proc('sleepy', {}, 10);
    let t = start;
    for (; t < start + 5000; t += 1000) {
      sink.take(rollup.add(snap(t, [container('c', {})], [proc('short', { cpuNs: 7 }, 10), proc('long', { cpuNs: 1 }, 10), sleepy])));
    }
    // It exits mid-minute; the snapshot that notices only lists it in exited.
    const gone = proc('short', {}, 10, 1, { exitedAtMs: t });
    sink.take(rollup.add(snap(t, [container('c', {})], [proc('long', { cpuNs: 1 }, 10), sleepy], { processes: [gone] })));
    expect(sink.p('short', 'second').map((r) => r.cpuNs)).toEqual([7, 7, 7, 7, 7]);
    expect(sink.p('short', 'minute')).toEqual([]);
    expect(rollup.tracked.processes).toBe(3);

    // Time moves on past the minute, the hour and the day (23:58 -> next day).
    const seen = (tier: Tier): number => sink.p('short', tier).length;
    for (t += 1000; t < start + 3 * MINUTE; t += 1000) {
      sink.take(rollup.add(snap(t, [container('c', {})], [proc('long', { cpuNs: 1 }, 10), sleepy])));
    }
    expect(seen('minute')).toBe(1);
    expect(sink.p('short', 'minute')[0]).toMatchObject({ bucket: bucketStart('minute', start), cpuNs: 35, samples: 5 });
    expect(seen('hour')).toBe(1);
    expect(seen('day')).toBe(1);
    expect(sink.p('short', 'day')[0]).toMatchObject({ bucket: T0, cpuNs: 35, samples: 5 });
    // Its minute closed without it: forgotten; the processes still running are kept.
    expect(rollup.tracked).toEqual({ containers: 1, processes: 2 });
    // Parts of both days were written as their minutes closed.
    expect(sink.p('long', 'day')).toHaveLength(2);
    sink.take(rollup.flush());
    // The idle process's change-only state survived the minute and day boundaries: its first row is not re-sent.
    expect(sink.p('sleepy', 'second')).toHaveLength(1);
    expect(sink.p('sleepy', 'day')).toHaveLength(2);
    expect(seen('second') + seen('minute') + seen('hour') + seen('day')).toBe(8);
    expectUniqueKeys(sink);
  });

  it('does not grow over days of process churn', () => {
    const rollup = new Rollup();
    const sink = new Sink();
    let next = 0;
    let live: string[] = [];
    const sizesAfterMidnight: number[] = [];
    for (let t = T0 + 12 * HOUR; t < T0 + 4 * DAY + HOUR; t += 30_000) {
      // Every 10 minutes, all processes exit and 30 new ones start.
      if (t % (10 * MINUTE) === 0) live = Array.from({ length: 30 }, () => `p${next++}`);
      const snapshot = snap(
        t,
        [container('c', { cpuNs: 1 })],
        live.map((k) => proc(k, { cpuNs: 1 }, 10)),
      );
      sink.take(rollup.add(snapshot));
      if (t % DAY === 0) {
        sizesAfterMidnight.push(rollup.tracked.processes);
        expect(rollup.tracked).toEqual({ containers: 1, processes: 30 });
      }
      expect(rollup.tracked.processes).toBeLessThanOrEqual(30 * 6 * 24 + 30);
    }
    expect(sizesAfterMidnight).toEqual([30, 30, 30, 30]);
    sink.take(rollup.flush());
    // Every process got its day row, once.
    expect(sink.processes.filter((r) => r.tier === 'day')).toHaveLength(next);
    expectUniqueKeys(sink);
  });

  it('drops entities when the coarsest produced tier closes', () => {
    const rollup = new Rollup({ tiers: ['second'] });
    rollup.add(snap(T0, [container('a', {})], [proc('p', {}, 1), proc('q', {}, 1)]));
    expect(rollup.tracked).toEqual({ containers: 1, processes: 2 });
    const rows = rollup.add(snap(T0 + 1000, [], [proc('q', {}, 1)]));
    expect(rows.processes.map((r) => r.processKey).sort()).toEqual(['p', 'q']);
    expect(rollup.tracked).toEqual({ containers: 0, processes: 1 });
  });
});

describe('Rollup clock steps', () => {
  it('folds a snapshot from the past into the open bucket, never reopening or repeating rows', () => {
    const rollup = new Rollup();
    const sink = new Sink();
    const base = T0 + HOUR - 2000; // 00:59:58 on the first day
    const times = [0, 1000, 2000, 500, 1500, 2100, 3000, -5000, 4000];
    let fedCpu = 0;
    for (const dt of times) {
      fedCpu += 10;
      sink.take(rollup.add(snap(base + dt, [container('c', { cpuNs: 10 })], [proc('p', { cpuNs: 10 }, 1)])));
    }
    sink.take(rollup.flush());
    expectUniqueKeys(sink);
    // 00:59:58, :59, then 01:00:00 takes the steps back (500, 1500), its own 2100 sample, and 3000 opens :01,
    // whose bucket also takes the -5000 sample; 4000 is :02.
    expect(sink.c('c', 'second').map((r) => [r.bucket - base, r.samples])).toEqual([
      [0, 1],
      [1000, 1],
      [2000, 4],
      [3000, 2],
      [4000, 1],
    ]);
    expect(sink.c('c', 'minute').map((r) => [r.bucket, r.samples])).toEqual([
      [bucketStart('minute', base), 2],
      [T0 + HOUR, 7],
    ]);
    expect(sink.c('c', 'hour').map((r) => r.bucket)).toEqual([T0, T0 + HOUR]);
    for (const tier of TIERS) {
      expect(sum(sink.c('c', tier), (r) => r.cpuNs)).toBe(fedCpu);
      expect(sum(sink.p('p', tier), (r) => r.cpuNs)).toBe(fedCpu);
    }
  });

  it('skips empty buckets on a step forward', () => {
    const rollup = new Rollup();
    const sink = new Sink();
    sink.take(rollup.add(snap(T0, [container('c', { cpuNs: 1 })], [])));
    sink.take(rollup.add(snap(T0 + 3 * DAY + 5, [container('c', { cpuNs: 2 })], [])));
    expect(sink.containers.map((r) => [r.tier, r.bucket, r.cpuNs])).toEqual([
      ['second', T0, 1],
      ['minute', T0, 1],
      ['hour', T0, 1],
      ['day', T0, 1],
    ]);
    sink.take(rollup.flush());
    expect(sink.containers.slice(4).map((r) => [r.tier, r.bucket, r.cpuNs])).toEqual(TIERS.map((tier) => [tier, bucketStart(tier, T0 + 3 * DAY), 2]));
  });
});

describe('Rollup options and edges', () => {
  it('gives kernel threads no rows and no state', () => {
    const rollup = new Rollup();
    const sink = new Sink();
    for (let t = T0; t < T0 + 2 * MINUTE; t += 1000) {
      sink.take(rollup.add(snap(t, [], [proc('kthreadd', { cpuNs: 100 }, 0, 1, { kernelThread: true }), proc('user', { cpuNs: 1 }, 5)])));
    }
    sink.take(rollup.flush());
    expect(sink.processes.some((r) => r.processKey === 'kthreadd')).toBe(false);
    expect(sink.p('user', 'minute')).toHaveLength(2);
  });

  it('produces only the tiers asked for, with the same sums', () => {
    const all = new Sink();
    const some = new Sink();
    const full = new Rollup();
    const coarse = new Rollup({ tiers: ['hour', 'minute'] });
    const rand = random(3);
    for (let t = T0 + 30 * MINUTE; t < T0 + 3 * HOUR; t += 5000) {
      const s = snap(t, [container('c', { cpuNs: rand(1e9) })], [proc('p', { cpuNs: rand(1e9) }, rand(100))]);
      all.take(full.add(s));
      some.take(coarse.add(s));
    }
    all.take(full.flush());
    some.take(coarse.flush());
    expect(new Set(some.containers.map((r) => r.tier))).toEqual(new Set(['minute', 'hour']));
    expect(new Set(some.processes.map((r) => r.tier))).toEqual(new Set(['minute', 'hour']));
    expect(some.containers).toEqual(all.containers.filter((r) => r.tier === 'minute' || r.tier === 'hour'));
    expect(some.processes).toEqual(all.processes.filter((r) => r.tier === 'minute' || r.tier === 'hour'));
  });

  it('refuses no tiers or an unknown tier', () => {
    expect(() => new Rollup({ tiers: [] })).toThrow(RangeError);
    expect(() => new Rollup({ tiers: ['week' as Tier] })).toThrow(/unknown tier week/);
  });

  it('is empty after flush, and a second flush returns nothing', () => {
    const rollup = new Rollup();
    expect(rollup.flush()).toEqual({ containers: [], processes: [] });
    rollup.add(snap(T0, [container('c', {})], [proc('p', {}, 1)]));
    const rows = rollup.flush();
    expect(rows.containers.map((r) => r.tier)).toEqual([...TIERS]);
    expect(rows.processes.map((r) => r.tier)).toEqual([...TIERS]);
    expect(rollup.tracked).toEqual({ containers: 0, processes: 0 });
    expect(rollup.flush()).toEqual({ containers: [], processes: [] });
    // A fresh start after flush treats everyone as new.
    rollup.add(snap(T0 + DAY, [], [proc('p', {}, 1)]));
    expect(rollup.flush().processes.filter((r) => r.tier === 'second')).toHaveLength(1);
  });
});
