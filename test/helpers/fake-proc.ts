/**
 * A fake /proc for edge cases the real one cannot be made to show on demand (and for cgroup v2 hosts, which this
 * machine is not): per-pid files written as the kernel formats them.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A stat line with fields 1..52 as the kernel writes them (start_code, end_code and start_stack as root sees them);
 * `over` replaces fields by their 1-based number.
 */
export function statLine(pid: number, comm: string, over: Record<number, string | number> = {}): string {
  const fields: (string | number)[] = [
    pid,
    `(${comm})`,
    'S',
    1,
    pid,
    pid,
    0,
    -1,
    4194304,
    120,
    0,
    3,
    0,
    250,
    50,
    0,
    0,
    20,
    0,
    1,
    0,
    5000,
    10_485_760,
    300,
    '18446744073709551615',
    94000000000000,
    94000000065536,
    140730000000000,
    0,
    0,
    0,
    0,
    4096,
    1256,
    0,
    0,
    0,
    17,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ];
  for (const [n, v] of Object.entries(over)) fields[Number(n) - 1] = v;
  return `${fields.join(' ')}\n`;
}

export interface FixtureProc {
  stat?: string;
  io?: string;
  status?: string;
  cmdline?: string;
  cgroup?: string;
  environ?: string;
  exe?: string;
  netns?: string;
  netdev?: string;
}

export function writeProc(root: string, pid: number, p: FixtureProc): void {
  const dir = path.join(root, String(pid));
  mkdirSync(dir, { recursive: true });
  const files: [string, string | undefined][] = [
    ['stat', p.stat],
    ['io', p.io],
    ['status', p.status],
    ['cmdline', p.cmdline],
    ['cgroup', p.cgroup],
    ['environ', p.environ],
  ];
  for (const [name, text] of files) if (text !== undefined) writeFileSync(path.join(dir, name), text);
  // Rewritable: a test writes a second tick over the first.
  const link = (target: string, at: string): void => {
    rmSync(at, { force: true });
    symlinkSync(target, at);
  };
  if (p.exe !== undefined) link(p.exe, path.join(dir, 'exe'));
  if (p.netns !== undefined) {
    mkdirSync(path.join(dir, 'ns'), { recursive: true });
    link(p.netns, path.join(dir, 'ns', 'net'));
  }
  if (p.netdev !== undefined) {
    mkdirSync(path.join(dir, 'net'), { recursive: true });
    writeFileSync(path.join(dir, 'net', 'dev'), p.netdev);
  }
}
