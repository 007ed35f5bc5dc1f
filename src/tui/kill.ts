/**
 * F9's effect: sends a signal to the process a row shows. The row's key is `pid:startTicks`, so the start time is
 * checked just before sending: a process that exited and whose pid was reused by another is not signalled.
 */
import fs from 'node:fs';
import { parseStat } from '../collectors/procfs.js';
import { safeText } from '../format.js';
import type { KillSignal } from './state.js';

/** The pid and start time a process key holds, or undefined for a key of another shape. */
function parseKey(processKey: string): { pid: number; startTicks: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(processKey);
  return m === null ? undefined : { pid: Number(m[1]), startTicks: Number(m[2]) };
}

/** Sends `signal` and says what happened, in one line for the status line (name from the process: escaped). */
export function sendSignal(processKey: string, signal: KillSignal, comm: string, procRoot = '/proc'): string {
  const target = parseKey(processKey);
  if (target === undefined) return `${signal} not sent: ${safeText(processKey)} is not a live process`;
  const who = `${target.pid} (${safeText(comm)})`;
  let stat;
  try {
    stat = parseStat(fs.readFileSync(`${procRoot}/${target.pid}/stat`, 'utf8'));
  } catch {
    stat = undefined;
  }
  if (stat === undefined || stat.startTicks !== target.startTicks) return `${signal} not sent: ${who} has exited`;
  try {
    process.kill(target.pid, signal);
    return `${signal} sent to ${who}`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM') return `${signal} not sent to ${who}: permission denied (run bubble as its user or root)`;
    if (code === 'ESRCH') return `${signal} not sent: ${who} has exited`;
    return `${signal} not sent to ${who}: ${safeText(String(code ?? error))}`;
  }
}
