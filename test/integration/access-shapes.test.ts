/**
 * One shape for an open file and a socket (model/access.ts), one conversion from the collector's raw descriptors
 * (collectors/descriptors.ts): a real process's files and sockets read live, written through the store's access
 * intervals into a real SQLite file and read back for replay come out the same, FD column and ` (deleted)` included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { fileAccess, observationsFromFds, socketAccess } from '../../src/collectors/descriptors.js';
import { FdCollector } from '../../src/collectors/fds.js';
import { AccessWriter } from '../../src/store/access.js';
import { filesFromStore, netFromStore } from '../../src/store/access-queries.js';
import { openStore } from '../../src/store/database.js';
import { fileLine } from '../../src/tui/rows.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-access-shapes-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A node process holding `file` on two descriptors (write, then read), unlinked, and a TCP listener. */
async function holder(file: string): Promise<{ pid: number; port: number; fds: number[] }> {
  const script = `
    const fs = require('node:fs'); const net = require('node:net');
    const a = fs.openSync(${JSON.stringify(file)}, 'w'); const b = fs.openSync(${JSON.stringify(file)}, 'r');
    fs.unlinkSync(${JSON.stringify(file)});
    const server = net.createServer().listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port, fds: [a, b] }) + '\\n'));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  const line = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
  await sleep(100);
  const { port, fds } = JSON.parse(line) as { port: number; fds: number[] };
  return { pid: child.pid!, port, fds };
}

function processKey(pid: number): string {
  return `${pid}:${fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]}`;
}

describe('open files and sockets: one shape from live to the store and back', () => {
  it('an unlinked file is shown with (deleted) once, on each of its descriptors, live and in replay', async () => {
    const file = path.join(tmp, 'held.log');
    const h = await holder(file);
    const key = processKey(h.pid);
    const raw = new FdCollector().collect([{ key, pid: h.pid }]).get(key)!;
    const files = raw.files.map(fileAccess).filter((f) => f.path === file);
    expect(files).toEqual([
      { fd: h.fds[0], path: file, mode: 'w', deleted: true },
      { fd: h.fds[1], path: file, mode: 'r', deleted: true },
    ]);
    const line = fileLine(files[0]!, 200, false);
    expect(line).toBe(` ${String(h.fds[0]).padStart(3)} w   ${file} (deleted)`);
    expect(line.split(' (deleted)')).toHaveLength(2);
    const sockets = raw.sockets.map(socketAccess);
    expect(sockets).toContainEqual(expect.objectContaining({ protocol: 'tcp', local: `127.0.0.1:${h.port}`, remote: '0.0.0.0:0', state: 'LISTEN' }));
    expect(sockets.every((s) => Number.isInteger(s.fd))).toBe(true);

    // The same reading through the store: every file and socket comes back as live showed it, descriptor included.
    const store = openStore(path.join(tmp, 'access.db'));
    const at = 1_800_000_000_000;
    try {
      const db = store.db;
      const cid = db
        .prepare(`INSERT INTO containers (key, kind, cid, name, cgroup, first_seen, last_seen) VALUES ('host', 'host', 'host', 'host', '/', 0, 0)`)
        .run().lastInsertRowid;
      const [pid, start] = key.split(':').map(Number);
      const rowId = Number(
        // Seen from `at` to `at + 1000`: the panes show a process's files only while the store's alive rule has it.
        db
          .prepare(
            `INSERT INTO processes (container_id, pid, start_time, ppid, comm, exe, cmdline, uid, user, first_seen, last_seen) VALUES (?, ?, ?, 1, 'node', '', '', 0, 'root', ?, ?)`,
          )
          .run(cid, pid, start, at, at + 1000).lastInsertRowid,
      );
      const writer = new AccessWriter(db);
      db.transaction(() => writer.write(at, observationsFromFds(key, raw), true, (k) => (k === key ? rowId : undefined)))();
      db.transaction(() => writer.write(at + 1000, observationsFromFds(key, raw), true, (k) => (k === key ? rowId : undefined)))();
      writer.flush();
      const byFd = (a: { fd?: number }, b: { fd?: number }): number => a.fd! - b.fd!;
      expect(filesFromStore(db, key, at + 1000)).toEqual(raw.files.map(fileAccess).sort(byFd));
      expect(netFromStore(db, key, at + 1000)).toEqual(raw.sockets.map(socketAccess).sort(byFd));
      const stored = filesFromStore(db, key, at).find((f) => f.fd === h.fds[0])!;
      expect(fileLine(stored, 200, false)).toBe(line);
      // Two descriptors on one file are two intervals, as live lists them.
      expect(db.prepare('SELECT count(*) FROM file_access WHERE path = ?').pluck().get(file) as number).toBe(2);
    } finally {
      store.close();
    }
  });
});
