/**
 * Per-process network bytes and per-connection endpoints from `bubble record --source bpf`, against real parts: real
 * bpftrace on native/bpf/bubble.bt, two busybox containers on a user network of their own (a busybox httpd serving a
 * 200 kB page, and a wget loop fetching it, each wget a short process whose connection lasts a few ms), a real
 * SQLite file read back through `bubble export`, and the client's network namespace counters (/proc/PID/net/dev) as
 * the reference.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfAvailability, runBpftrace, type BpfInterval } from '../../src/collectors/bpf.js';
import { bubble, jsonLines, startBubble } from '../helpers/cli.js';
import { docker as dockerCli, dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { needReal } from '../helpers/real.js';
import { netFromStore } from '../../src/store/access-queries.js';
import { openStore } from '../../src/store/database.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-bpf-net-'));
const bpf = bpfAvailability();
const docker = dockerAvailable();
const network = uniqueName('bubble-bpf-net');
const webName = uniqueName('bubble-bpf-web');
const clientName = uniqueName('bubble-bpf-wget');
/** wget runs of the loop, and the page it fetches. */
const RUNS = 60;
const PAGE = 200_000;

/** Bytes received and sent on a namespace's interfaces other than loopback, from the host's /proc/PID/net/dev. */
function netDev(pid: number): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of fs.readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2)) {
    const [name, counters] = line.split(':');
    if (counters === undefined || name!.trim() === 'lo') continue;
    const f = counters.trim().split(/\s+/).map(Number);
    rx += f[0]!;
    tx += f[8]!;
  }
  return { rx, tx };
}

const exists = (name: string, file: string): boolean => {
  try {
    dockerCli(['exec', name, 'test', '-e', file]);
    return true;
  } catch {
    return false;
  }
};

describe('record --source bpf: a wget loop against an httpd in another container', () => {
  const db = path.join(tmp, 'bubble.db');
  let ran = false;
  let clientId = '';
  let webId = '';
  let webIp = '';
  let clientIp = '';
  let counted = { rx: 0, tx: 0 };
  let stderr = '';
  let status = -1;

  beforeAll(async () => {
    if (!bpf.ok || !docker.ok) return;
    ensureTestImage();
    dockerCli(['network', 'create', network]);
    webId = runContainer(webName, ['sh', '-c', `mkdir -p /www && head -c ${PAGE} /dev/urandom > /www/index.html && exec httpd -f -p 80 -h /www`], {
      extra: ['--network', network],
    }).id;
    webIp = dockerCli(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', webId]);
    // By address, not name: no DNS traffic beside the connections. The loop waits for /tmp/go and says when done.
    const loop =
      `while [ ! -e /tmp/go ]; do sleep 0.1; done; i=0; ` +
      `while [ $i -lt ${RUNS} ]; do wget -q -O /dev/null http://${webIp}/; sleep 0.1; i=$((i+1)); done; touch /tmp/done; exec sleep 1000`;
    const client = runContainer(clientName, ['sh', '-c', loop], { extra: ['--network', network] });
    clientId = client.id;
    clientIp = dockerCli(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', clientId]);
    const recorder = startBubble(['record', '--db', db, '--source', 'bpf', '--duration', '120s', '--verbose']);
    try {
      await recorder.waitFor('bpftrace attached', 60_000);
      // Socket bytes count from the second tick after the probes attached.
      await sleep(2500);
      const before = netDev(client.pid);
      dockerCli(['exec', clientName, 'touch', '/tmp/go']);
      const started = Date.now();
      while (!exists(clientName, '/tmp/done') && Date.now() - started < 60_000) await sleep(500);
      const after = netDev(client.pid);
      counted = { rx: after.rx - before.rx, tx: after.tx - before.tx };
      // bpftrace's last intervals must reach the recorder before it stops.
      await sleep(3000);
      ran = true;
    } finally {
      recorder.child.kill('SIGINT');
      status = await recorder.exited();
      stderr = recorder.stderr();
    }
  }, 180_000);

  afterAll(() => {
    removeContainer(clientName);
    removeContainer(webName);
    try {
      dockerCli(['network', 'rm', network]);
    } catch {
      // not created
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const need = (ctx: Parameters<typeof needReal>[0]): void => {
    needReal(ctx, 'bpftrace as root', bpf.ok, bpf.ok ? '' : bpf.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
  };

  it("sums the client processes' received bytes to the client namespace's net/dev counters, within 10 %", async (ctx) => {
    need(ctx);
    expect(ran && status === 0, stderr).toBe(true);
    expect(counted.rx, stderr).toBeGreaterThan(RUNS * PAGE * 0.9);
    // By id: the name comes from Docker's event stream, which a loaded host may deliver late.
    const r = await bubble(['export', '--json', '--what', 'processes', '--tier', 'second', '--container', clientId, '--db', db]);
    expect(r.status, r.stderr).toBe(0);
    const rows = jsonLines(r.stdout);
    const wgets = new Set(rows.filter((x) => x['comm'] === 'wget').map((x) => `${x['pid']}:${x['start_time']}`));
    expect(wgets.size, stderr).toBeGreaterThanOrEqual(RUNS * 0.9);
    const received = rows.reduce((a, x) => a + ((x['net_rx_bytes'] as number | null) ?? 0), 0);
    const sent = rows.reduce((a, x) => a + ((x['net_tx_bytes'] as number | null) ?? 0), 0);
    const byComm = new Map<string, number>();
    for (const x of rows) byComm.set(x['comm'] as string, (byComm.get(x['comm'] as string) ?? 0) + ((x['net_rx_bytes'] as number | null) ?? 0));
    const why = `processes received ${received} (${JSON.stringify([...byComm])}), net/dev ${counted.rx}; ${stderr}`;
    expect(Math.abs(received - counted.rx) / counted.rx, why).toBeLessThan(0.1);
    // Requests are small: what the client sent on the wire is mostly ACKs, so only the direction is checked.
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(counted.tx);
  });

  it('has each connection with both endpoints, on the wget that made it and on the httpd child that served it', async (ctx) => {
    need(ctx);
    expect(ran && status === 0, stderr).toBe(true);
    const client = await bubble(['export', '--json', '--what', 'network', '--container', clientId, '--db', db]);
    expect(client.status, client.stderr).toBe(0);
    const outgoing = jsonLines(client.stdout).filter((x) => x['comm'] === 'wget' && x['source'] === 'bpf' && x['remote'] === `${webIp}:80`);
    // One interval per connection (a new local port each time), with its bytes.
    const ports = new Set(outgoing.map((x) => x['local']));
    expect(ports.size).toBeGreaterThanOrEqual(RUNS * 0.9);
    for (const x of outgoing) {
      expect(x['local']).toMatch(new RegExp(`^${clientIp.replace(/\./g, '\\.')}:\\d+$`));
      expect(x).toMatchObject({ protocol: 'tcp', state: 'connect', opens: 1 });
      expect(x['bytes_in']).toBeGreaterThanOrEqual(PAGE);
    }
    const server = await bubble(['export', '--json', '--what', 'network', '--container', webId, '--db', db]);
    expect(server.status, server.stderr).toBe(0);
    // httpd listens on a v6 socket: its accepted connections are IPv4-mapped, stored as the IPv4 address they map.
    const incoming = jsonLines(server.stdout).filter((x) => x['source'] === 'bpf' && x['local'] === `${webIp}:80`);
    const peers = new Set(incoming.map((x) => x['remote']));
    for (const port of ports) expect(peers.has(port), `${String(port)} among ${[...peers].join(' ')}`).toBe(true);
    for (const x of incoming) expect(x).toMatchObject({ protocol: 'tcp6', state: 'accept' });

    // The network pane of a past moment (replay, or live scrubbed back) shows a wget's connection at its second.
    const store = openStore(db, { readonly: true });
    try {
      const seen = outgoing.slice(0, 10).map((x) => {
        const key = store.db
          .prepare('SELECT key FROM processes WHERE pid = ? AND start_time = ?')
          .pluck()
          .get(x['pid'], Date.parse(x['start_time'] as string));
        return netFromStore(store.db, key as string, Date.parse(x['first_seen'] as string));
      });
      for (const [i, pane] of seen.entries()) {
        expect(pane).toContainEqual(expect.objectContaining({ protocol: 'tcp', local: outgoing[i]!['local'], remote: `${webIp}:80`, state: 'connect' }));
      }
    } finally {
      store.close();
    }
  });
});

describe('the TCP connection probes on this kernel', () => {
  it('give the endpoints of a loopback connection and its bytes on both sides', async (ctx) => {
    needReal(ctx, 'bpftrace as root', bpf.ok, bpf.ok ? '' : bpf.why);
    const intervals: BpfInterval[] = [];
    const run = runBpftrace({ intervalMs: 200 }, (events) => {
      for (const e of events) if (e.t === 'tick') intervals.push(e.interval);
    });
    const started = Date.now();
    while (intervals.length < 2 && Date.now() - started < 60_000) {
      await sleep(100);
      await Promise.race([run.done, sleep(0)]);
    }
    // A child process talks to itself over loopback: 5000 bytes one way, 300 back.
    const script =
      "const net=require('net');const s=net.createServer(c=>{c.on('data',()=>{});c.write(Buffer.alloc(300));c.end()});" +
      "s.listen(0,'127.0.0.1',()=>{let port=0;const c=net.connect(s.address().port,'127.0.0.1',()=>{port=c.localPort;c.end(Buffer.alloc(5000))});" +
      "c.on('data',()=>{});c.on('close',()=>{console.log(port+' '+s.address().port+' '+process.pid);s.close()})})";
    const [localPort, serverPort, pid] = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim().split(' ').map(Number);
    await sleep(700);
    run.stop();
    await run.done;
    const connections = intervals.flatMap((i) => i.connections);
    const client = connections.find((c) => c.localPort === localPort && c.remotePort === serverPort);
    const server = connections.find((c) => c.localPort === serverPort && c.remotePort === localPort);
    expect(client).toMatchObject({ localAddress: '127.0.0.1', remoteAddress: '127.0.0.1', side: 1, state: 7 });
    expect(server).toMatchObject({ localAddress: '127.0.0.1', remoteAddress: '127.0.0.1', side: 2 });
    const bytesOn = (id: string): { rx: number; tx: number } =>
      intervals
        .flatMap((i) => i.socketBytes)
        .filter((b) => b.id === id && b.pid === pid)
        .reduce((a, b) => ({ rx: a.rx + b.rxBytes, tx: a.tx + b.txBytes }), { rx: 0, tx: 0 });
    expect(bytesOn(client!.id)).toEqual({ rx: 300, tx: 5000 });
    expect(bytesOn(server!.id)).toEqual({ rx: 5000, tx: 300 });
  }, 90_000);
});
