/**
 * The bubbles running on this host, so one bubble's descriptor pass leaves the others out as it leaves itself out.
 *
 * A bubble holds its /proc/PID/{stat,io,schedstat} files open between ticks: ~3 per process on the host, ~1,200 with a
 * few hundred processes. A process that ran since the last tick has its descriptors read in full, one readlink each,
 * and a bubble runs every tick: reading another bubble's links cost ~6 ms a tick here, so `top` beside `record` paid
 * that each second, and `record` as much for `top`. What those links name is the other bubble's /proc reads.
 *
 * A comm or a command line can be faked by any process, so a container could pose as a bubble to hide its files.
 * Instead each bubble running as root writes `<dir>/<pid>` holding its start time (stat field 22, clock ticks), and a
 * directory is trusted only when root owns it and nobody else may write to it, and an entry only when root owns it.
 * A pid reused after a bubble died without removing its entry has another start time: it does not match.
 */
import fs from 'node:fs';
import path from 'node:path';

/** What an absent or untrusted directory registers: nobody (one object, not a new one each tick). */
const NOBODY: ReadonlySet<string> = new Set();

/** Root owns it and neither group nor others may write it. */
function rootOnly(st: fs.Stats): boolean {
  return st.uid === 0 && (st.mode & 0o022) === 0;
}

export class BubbleInstances {
  private readonly dir: string;
  private own: string | undefined;
  private keys: ReadonlySet<string> = NOBODY;
  private changedMs = Number.NaN;

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Adds this process (`pid`, started at `startTicks`) to the directory, creating it, and drops entries of bubbles that
   * are gone (`alive(pid, startTicks)` false). Quietly does nothing when the directory cannot be made or is not
   * root-only: a bubble that cannot register is read by others as any process is.
   */
  register(pid: number, startTicks: number, alive: (pid: number, startTicks: number) => boolean): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
      if (!rootOnly(fs.lstatSync(this.dir))) return;
      for (const [other, ticks] of this.entries()) {
        if (other !== pid && !alive(other, ticks)) fs.rmSync(path.join(this.dir, String(other)), { force: true });
      }
      const file = path.join(this.dir, String(pid));
      fs.writeFileSync(file, `${startTicks}\n`, { mode: 0o644 });
      this.own = file;
    } catch {
      // Read-only /run, no permission: nothing to register in, nothing lost but the saving.
    }
  }

  /** Removes this process's entry (at close; one left behind by a crash matches no later process). */
  unregister(): void {
    if (this.own === undefined) return;
    try {
      fs.rmSync(this.own, { force: true });
    } catch {
      // Left behind: it matches no later process (see the file comment).
    }
    this.own = undefined;
  }

  /**
   * Keys (`pid:startTicks`, as model/sample.ts keys processes) of the registered bubbles. One stat of the directory per
   * call; its entries are read again only when it changed.
   */
  current(): ReadonlySet<string> {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(this.dir, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (st === undefined || !st.isDirectory() || !rootOnly(st)) {
      this.keys = NOBODY;
      this.changedMs = Number.NaN;
      return this.keys;
    }
    if (st.mtimeMs === this.changedMs) return this.keys;
    this.changedMs = st.mtimeMs;
    const keys = new Set<string>();
    for (const [pid, ticks] of this.entries()) keys.add(`${pid}:${ticks}`);
    this.keys = keys;
    return keys;
  }

  /** The root-owned entries of the directory whose name is a pid and whose text a start time. */
  private entries(): [number, number][] {
    const out: [number, number][] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return out;
    }
    for (const name of names) {
      if (!/^[1-9]\d*$/.test(name)) continue;
      const file = path.join(this.dir, name);
      try {
        const st = fs.lstatSync(file);
        if (!st.isFile() || st.uid !== 0 || st.size > 32) continue;
        const text = fs.readFileSync(file, 'latin1').trim();
        if (!/^\d+$/.test(text)) continue;
        out.push([Number(name), Number(text)]);
      } catch {
        // Removed while listed: that bubble stopped.
      }
    }
    return out;
  }
}
