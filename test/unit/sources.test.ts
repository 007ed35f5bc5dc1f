/**
 * The one choice of sources (src/monitor/sources.ts) and the flags that feed it (cli-flags.ts sourceChoice): what runs
 * for each --source, what the status line and the one stderr line say when bpftrace is off and why, and how a
 * bpftrace that attaches, dies and is restarted shows. bpftrace here is a stand-in script (a real child process);
 * why it cannot run is handed in, as this host cannot be made to lack root or tracefs for one test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { sourceChoice } from '../../src/bin/cli-flags.js';
import { BPF_PROTOCOL_VERSION, type BpfAvailability } from '../../src/collectors/bpf.js';
import { BubbleError } from '../../src/errors/bubble-error.js';
import { UsageError } from '../../src/errors/usage-error.js';
import { RECORD_SOURCES } from '../../src/model/source-names.js';
import { chooseSources, type TickSources } from '../../src/monitor/sources.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-sources-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cannot =
  (reason: 'not-installed' | 'not-root' | 'no-tracefs', why = `why: ${reason}`) =>
  (): BpfAvailability => ({ ok: false, reason, why });
const can = (bin: string) => (): BpfAvailability => ({ ok: true, bin });

const said = (sources: TickSources): string[] => {
  const lines: string[] = [];
  sources.announce((l) => lines.push(l));
  return lines;
};

describe('chooseSources', () => {
  it('falls back to procfs where bpftrace cannot run, and says why: one stderr line, one short status item', () => {
    const texts = {
      'not-installed': 'bpf off: bpftrace not installed (apt-get install bpftrace)',
      'not-root': 'bpf off: not root (sudo)',
      'no-tracefs': 'bpf off: tracefs not mounted (mount -t tracefs nodev /sys/kernel/tracing)',
    } as const;
    for (const [reason, text] of Object.entries(texts) as [keyof typeof texts, string][]) {
      for (const source of [undefined, 'procfs+bpf'] as const) {
        const sources = chooseSources(source === undefined ? {} : { source }, { intervalMs: 1000, availability: cannot(reason) });
        expect(sources.source).toBe('procfs');
        expect(sources.start()).toEqual([]);
        expect(sources.bpfOff).toEqual({ reason, why: `why: ${reason}` });
        expect(said(sources)).toEqual([`procfs only: why: ${reason}`]);
        expect(sources.status()).toEqual([
          { name: 'bpf', level: 'warn', text },
          { name: 'sysdig', level: 'off', text: 'sysdig off' },
        ]);
      }
    }
  });

  it('--source bpf where bpftrace cannot run is an error saying why', () => {
    expect(() => chooseSources({ source: 'bpf' }, { intervalMs: 1000, availability: cannot('not-root', 'bpftrace needs root') })).toThrow(
      new BubbleError('--source bpf: bpftrace needs root'),
    );
  });

  it('--source procfs runs nothing beside procfs and says nothing on stderr; the status line says bpf is off by choice', () => {
    let asked = 0;
    const sources = chooseSources(
      { source: 'procfs' },
      {
        intervalMs: 1000,
        availability: () => {
          asked++;
          return { ok: true, bin: '/bin/false' };
        },
      },
    );
    expect(asked).toBe(0);
    expect(sources.start()).toEqual([]);
    expect(said(sources)).toEqual([]);
    expect(sources.status()[0]).toEqual({ name: 'bpf', level: 'off', text: 'bpf off (--source procfs)' });
  });

  it('shows bpftrace attaching, running (errors off), dying and restarting', async () => {
    // A stand-in that says hello (its probes attached), lives 1.5 s, and dies with a complaint.
    const bin = path.join(tmp, 'bpftrace');
    const hello = JSON.stringify({ type: 'printf', data: `${JSON.stringify({ t: 'hello', v: BPF_PROTOCOL_VERSION, mono_ns: 1 })}\n` });
    fs.writeFileSync(bin, `#!/bin/sh\nsleep 0.3\nprintf '%s\\n' '${hello}'\nsleep 1.5\necho 'ERROR: gone' >&2\nexit 1\n`, { mode: 0o755 });
    const sources = chooseSources({ bpfErrors: false }, { intervalMs: 1000, availability: can(bin) });
    expect(sources.source).toBe('procfs+bpf');
    expect(sources.status()[0]).toEqual({ name: 'bpf', level: 'off', text: 'bpf starting' });
    const started = sources.start();
    expect(started).toHaveLength(1);
    expect(sources.start()).toEqual([]);
    const lines = said(sources);
    try {
      expect(sources.status()[0]).toEqual({ name: 'bpf', level: 'off', text: 'bpf attaching' });
      const until = async (text: RegExp): Promise<void> => {
        const end = Date.now() + 10_000;
        while (!text.test(sources.status()[0]!.text) && Date.now() < end) await sleep(20);
        expect(sources.status()[0]!.text).toMatch(text);
      };
      await until(/^bpf ok/);
      expect(sources.status()[0]).toEqual({ name: 'bpf', level: 'ok', text: 'bpf ok, errors off' });
      expect(lines).toEqual(['bpftrace attached: short-lived processes and their opens from now on']);
      expect(sources.saidGaps()).toEqual([]);
      await until(/restarting/);
      expect(sources.status()[0]).toEqual({ name: 'bpf', level: 'warn', text: 'bpf: bpftrace ended (exit 1): ERROR: gone; restarting (1 of 3)' });
      // The gap the monitor adds to the snapshot is the one the status item says: a status line shows it once.
      expect(sources.saidGaps()).toEqual([started[0]!.gap()]);
      await until(/attaching again/);
      expect(sources.status()[0]!.text).toBe('bpf attaching again (restart 1 of 3)');
    } finally {
      await sources.stop();
    }
  }, 20_000);

  it('hands bpftrace the program without its openat probes with bpfFiles false, and says so', async () => {
    // A stand-in that keeps the program it was given (-f json -B none -e PROGRAM ...) and says hello.
    const bin = path.join(tmp, 'bpftrace-keeps');
    const hello = JSON.stringify({ type: 'printf', data: `${JSON.stringify({ t: 'hello', v: BPF_PROTOCOL_VERSION, mono_ns: 1 })}\n` });
    fs.writeFileSync(bin, `#!/bin/sh\nprintf '%s' "$6" > "$0.$$.bt"\nprintf '%s\\n' '${hello}'\nexec sleep 30\n`, { mode: 0o755 });
    const program = async (choice: Parameters<typeof chooseSources>[0]): Promise<{ text: string; status: string; lines: string[] }> => {
      const sources = chooseSources(choice, { intervalMs: 1000, availability: can(bin) });
      sources.start();
      const lines = said(sources);
      try {
        const end = Date.now() + 10_000;
        while (!sources.status()[0]!.text.startsWith('bpf ok') && Date.now() < end) await sleep(20);
        return { text: fs.readFileSync(`${bin}.${sources.bpf?.pid}.bt`, 'utf8'), status: sources.status()[0]!.text, lines };
      } finally {
        await sources.stop();
      }
    };
    const on = await program({});
    expect(on.text).toContain('tracepoint:syscalls:sys_enter_openat');
    expect(on.text).toContain('tracepoint:raw_syscalls:sys_exit');
    expect(on.status).toBe('bpf ok');
    expect(on.lines).toEqual(['bpftrace attached: short-lived processes and their opens from now on']);
    const off = await program({ bpfFiles: false });
    expect(off.text).not.toContain('tracepoint:syscalls:');
    expect(off.text).toContain('tracepoint:raw_syscalls:sys_exit');
    expect(off.status).toBe('bpf ok, files off');
    expect(off.lines).toEqual(['bpftrace attached: short-lived processes (their opens not: --bpf-files off) from now on']);
    const neither = await program({ bpfFiles: false, bpfErrors: false });
    expect(neither.text).not.toMatch(/tracepoint:(raw_)?syscalls:/);
    expect(neither.status).toBe('bpf ok, errors off, files off');
  }, 40_000);

  it('shows a bpftrace that never attached as off, with its complaint', async () => {
    const bin = path.join(tmp, 'bpftrace-fails');
    fs.writeFileSync(bin, "#!/bin/sh\necho 'ERROR: no BTF' >&2\nexit 1\n", { mode: 0o755 });
    const sources = chooseSources({}, { intervalMs: 1000, availability: can(bin) });
    const [bpf] = sources.start();
    try {
      const end = Date.now() + 10_000;
      while (bpf!.gap() === undefined && Date.now() < end) await sleep(20);
      expect(sources.status()[0]).toEqual({ name: 'bpf', level: 'warn', text: 'bpf off: bpftrace could not attach its probes (exit 1): ERROR: no BTF' });
      expect(sources.saidGaps()).toEqual([bpf!.gap()]);
    } finally {
      await sources.stop();
    }
  });
});

describe('sourceChoice: the flags and the config file, alike for record, top and serve', () => {
  const none = { source: undefined, bpfErrors: undefined, bpfFiles: undefined, bpftraceBin: undefined, sysdigBin: undefined };

  it('--bpf-errors wins over the config file, which wins over the default (on)', () => {
    expect(sourceChoice(none, {}).bpfErrors).toBe(true);
    expect(sourceChoice(none, { bpf: { errors: false } }).bpfErrors).toBe(false);
    expect(sourceChoice({ ...none, bpfErrors: 'on' }, { bpf: { errors: false } }).bpfErrors).toBe(true);
    expect(sourceChoice({ ...none, bpfErrors: 'off' }, {}).bpfErrors).toBe(false);
    expect(() => sourceChoice({ ...none, bpfErrors: 'no' }, {})).toThrow(new UsageError('--bpf-errors: "no" is not on or off'));
  });

  it('--bpf-files wins over the config file, which wins over the default (on); each switch on its own', () => {
    expect(sourceChoice(none, {}).bpfFiles).toBe(true);
    expect(sourceChoice(none, { bpf: { files: false } })).toMatchObject({ bpfFiles: false, bpfErrors: true });
    expect(sourceChoice(none, { bpf: { errors: false } })).toMatchObject({ bpfFiles: true, bpfErrors: false });
    expect(sourceChoice({ ...none, bpfFiles: 'on' }, { bpf: { files: false } }).bpfFiles).toBe(true);
    expect(sourceChoice({ ...none, bpfFiles: 'off' }, {})).toMatchObject({ bpfFiles: false, bpfErrors: true });
    expect(sourceChoice({ ...none, bpfFiles: 'off', bpfErrors: 'off' }, {})).toMatchObject({ bpfFiles: false, bpfErrors: false });
    expect(() => sourceChoice({ ...none, bpfFiles: 'false' }, {})).toThrow(new UsageError('--bpf-files: "false" is not on or off'));
    // What the user typed goes through safeText() before the terminal.
    expect(() => sourceChoice({ ...none, bpfFiles: '\x1b[2J' }, {})).toThrow(/^--bpf-files: "[^\x1b]*\[2J" is not on or off$/);
  });

  it('top and serve take the live sources; record also takes sysdig alone', () => {
    expect(sourceChoice({ ...none, source: 'bpf' }, {}).source).toBe('bpf');
    expect(() => sourceChoice({ ...none, source: 'sysdig' }, {})).toThrow(new UsageError('--source: "sysdig" is not one of procfs+bpf, procfs, bpf, both'));
    expect(sourceChoice({ ...none, source: 'sysdig' }, {}, RECORD_SOURCES).source).toBe('sysdig');
    expect(() => sourceChoice({ ...none, source: 'ebpf' }, {}, RECORD_SOURCES)).toThrow(UsageError);
  });
});
