/**
 * The bridge parser on real bridge output (test/fixtures/sysdig/*.jsonl: `sysdig -r <capture> -c bubble.lua` over the
 * six captures in ../shared/fixtures/scap; the integration test checks they still match the bridge) and on corrupted
 * variants of it: cut lines, garbage bytes, other versions, wrong field types, lines split across chunks, blank, huge
 * and truncated lines. None of them may stop the stream; each is counted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveMembership } from '../../src/collectors/identity.js';
import {
  BRIDGE_PROTOCOL_VERSION,
  BridgeParser,
  MAX_LINE_LENGTH,
  bridgeMembership,
  bridgeProcessKey,
  describeParseStats,
  isLineFailure,
  parseBridgeLine,
  skippedLines,
  type BridgeRecord,
  type IoRecord,
} from '../../src/collectors/sysdig.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/sysdig');
const SAMPLES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.jsonl'))
  .sort()
  .map((f) => ({ name: f.replace(/\.jsonl$/, ''), text: readFileSync(path.join(FIXTURES, f), 'utf8') }));
const ALL_LINES = SAMPLES.flatMap((s) => s.text.split('\n').filter((l) => l !== ''));

function sampleText(name: string): string {
  const s = SAMPLES.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no fixture ${name}.jsonl`);
  return s.text;
}

/** A real line of the given type (and matching `where`), from the fixtures. */
function realLine(type: string, where: (r: Record<string, unknown>) => boolean = () => true): string {
  const line = ALL_LINES.find((l) => {
    const r = JSON.parse(l) as Record<string, unknown>;
    return r['t'] === type && where(r);
  });
  if (line === undefined) throw new Error(`no ${type} line in the fixtures`);
  return line;
}

function parseAll(chunks: readonly (string | Buffer)[]): { records: BridgeRecord[]; parser: BridgeParser } {
  const parser = new BridgeParser();
  const records: BridgeRecord[] = [];
  for (const c of chunks) records.push(...parser.push(c));
  records.push(...parser.end());
  return { records, parser };
}

describe('real bridge output', () => {
  it('has a sample of every capture', () => {
    expect(SAMPLES.map((s) => s.name)).toEqual(['cat_write', 'connect_localhost', 'curl_google', 'open-multiple-files', 'ping_sendto', 'syscall']);
  });

  for (const sample of SAMPLES) {
    it(`${sample.name}: every line parses, hello first, end last with the right count`, () => {
      const { records, parser } = parseAll([sample.text]);
      const lines = sample.text.split('\n').length - 1;
      expect(parser.stats).toEqual({
        lines,
        records: lines,
        malformed: 0,
        unknownVersion: 0,
        unknownType: 0,
        truncated: 0,
        tooLong: 0,
        outOfRange: 0,
        empty: 0,
      });
      expect(records[0]?.t).toBe('hello');
      const end = records.at(-1);
      expect(end?.t).toBe('end');
      if (end?.t === 'end') expect(end.records).toBe(records.length - 1);
      expect(records.every((r) => r.v === BRIDGE_PROTOCOL_VERSION && Number.isFinite(r.ts))).toBe(true);
      expect(describeParseStats(parser.stats)).toBeUndefined();
    });
  }

  it('covers every record type and returns the fields as written', () => {
    const types = new Set(ALL_LINES.map((l) => (JSON.parse(l) as { t: string }).t));
    expect([...types].sort()).toEqual(['cpu', 'end', 'err', 'exec', 'exit', 'hello', 'io', 'proc', 'tick']);
    for (const line of ALL_LINES) {
      const r = parseBridgeLine(line);
      expect(isLineFailure(r)).toBe(false);
      expect(r).toEqual(JSON.parse(line));
    }
  });

  it('gives typed records the consumer can narrow', () => {
    const { records } = parseAll([sampleText('curl_google')]);
    const tcp = records.find((r): r is IoRecord => r.t === 'io' && r.l4proto === 'tcp');
    expect(tcp).toMatchObject({ kind: 'net', sip: '2607:f8b0:4004:802::2004', sport: 80, bytes_in: 11502, bytes_out: 78 });
    const exec = records.find((r) => r.t === 'exec');
    expect(exec?.t === 'exec' && exec.cmdline).toBe('curl -6 http://www.google.com');
    if (exec?.t === 'exec' && tcp !== undefined) expect(bridgeProcessKey(exec)).toBe(bridgeProcessKey(tcp));
  });
});

describe('corrupted lines are counted and skipped', () => {
  const io = realLine('io', (r) => r['kind'] === 'file');
  const netLine = realLine('io', (r) => r['kind'] === 'net' && r['l4proto'] === 'tcp');
  const procLine = realLine('proc');

  it('a cut line is malformed', () => {
    for (const at of [1, 10, Math.floor(io.length / 2), io.length - 1]) {
      expect(parseBridgeLine(io.slice(0, at))).toEqual({ error: 'malformed' });
    }
  });

  it('garbage bytes are malformed, and the lines around them still parse', () => {
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0xc3, 0x28, 0x1b, 0x5b, 0x32, 0x4a, 0x80, 0x0d]);
    const { records, parser } = parseAll([`${procLine}\n`, garbage, Buffer.from(`\n${io}\n`)]);
    expect(records.map((r) => r.t)).toEqual(['proc', 'io']);
    expect(parser.stats).toMatchObject({ lines: 3, records: 2, malformed: 1 });
    expect(parseBridgeLine('not json at all')).toEqual({ error: 'malformed' });
    expect(parseBridgeLine('{"v":1,"t":"io"')).toEqual({ error: 'malformed' });
  });

  it('another protocol version is unknown-version; a missing or non-numeric version is malformed', () => {
    expect(parseBridgeLine(io.replace('"v":1', '"v":2'))).toEqual({ error: 'unknown-version' });
    expect(parseBridgeLine(io.replace('"v":1', '"v":0'))).toEqual({ error: 'unknown-version' });
    expect(parseBridgeLine(io.replace('"v":1', '"v":"1"'))).toEqual({ error: 'malformed' });
    expect(parseBridgeLine(io.replace('"v":1,', ''))).toEqual({ error: 'malformed' });
    const { parser } = parseAll([`${io.replace('"v":1', '"v":2')}\n${io}\n`]);
    expect(parser.stats).toMatchObject({ lines: 2, records: 1, unknownVersion: 1, malformed: 0 });
  });

  it('an unknown record type of this version is counted apart', () => {
    expect(parseBridgeLine('{"v":1,"t":"gpu","ts":1,"pid":1}')).toEqual({ error: 'unknown-type' });
    expect(parseBridgeLine('{"v":1,"t":"__proto__","ts":1}')).toEqual({ error: 'unknown-type' });
    expect(parseBridgeLine('{"v":1,"t":"toString","ts":1}')).toEqual({ error: 'unknown-type' });
  });

  it('fields of the wrong type are malformed', () => {
    const wrong = [
      io.replace(/"pid":(\d+)/, '"pid":"$1"'),
      io.replace(/"ts":[\d.]+/, '"ts":"soon"'),
      io.replace('"t":"io"', '"t":7'),
      io.replace('"kind":"file"', '"kind":"socket"'),
      io.replace(/"bytes_in":\d+/, '"bytes_in":null'),
      io.replace(/,"opens":\d+/, ''),
      netLine.replace(/"sport":80/, '"sport":"80"'),
      netLine.replace(/"server":false/, '"server":0'),
      procLine.replace(/"comm":"[^"]*"/, '"comm":42'),
      procLine.replace(/"start_exact":(true|false)/, '"start_exact":"no"'),
      '[1,2,3]',
      'null',
      '{}',
      '{"v":1}',
    ];
    for (const line of wrong) expect(parseBridgeLine(line), line).toEqual({ error: 'malformed' });
  });

  it('extra fields are allowed (a v1 bridge may add some)', () => {
    const r = parseBridgeLine(io.replace('"v":1,', '"v":1,"new_field":[1],'));
    expect(isLineFailure(r)).toBe(false);
  });

  it('a line split across chunks, even inside a UTF-8 character, parses as if whole', () => {
    const text = sampleText('curl_google');
    const whole = parseAll([text]).records;
    const bytes = Buffer.from(text);
    const byByte: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) byByte.push(bytes.subarray(i, i + 1));
    expect(parseAll(byByte).records).toEqual(whole);
    const odd: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) odd.push(bytes.subarray(i, i + 7));
    expect(parseAll(odd).records).toEqual(whole);

    const accented = procLine.replace(/"comm":"[^"]*"/, '"comm":"pythön€😀"');
    const buf = Buffer.from(`${accented}\n`);
    const cut = buf.indexOf(Buffer.from('ö')) + 1; // between the two bytes of ö
    const { records, parser } = parseAll([buf.subarray(0, cut), buf.subarray(cut)]);
    expect(parser.stats.malformed).toBe(0);
    expect(records[0]?.t === 'proc' && records[0].comm).toBe('pythön€😀');
  });

  it('blank lines and CRLF line ends are not errors', () => {
    const { records, parser } = parseAll([`\n${io}\r\n\n   \n${procLine}\n`]);
    expect(records.map((r) => r.t)).toEqual(['io', 'proc']);
    expect(parser.stats).toMatchObject({ lines: 5, records: 2, empty: 3, malformed: 0 });
    expect(skippedLines(parser.stats)).toBe(0);
  });

  it('a huge line is dropped without being kept whole, and the next line parses', () => {
    const parser = new BridgeParser();
    const out: BridgeRecord[] = [];
    const block = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 8; i++) out.push(...parser.push(block)); // 2 MiB, no newline yet
    expect(parser.stats).toMatchObject({ lines: 1, tooLong: 1 });
    out.push(...parser.push(`${block}\n${io}\n`));
    out.push(...parser.end());
    expect(out.map((r) => r.t)).toEqual(['io']);
    expect(parser.stats).toMatchObject({ lines: 2, records: 1, tooLong: 1, malformed: 0, truncated: 0 });

    // Valid JSON that is too long arrives in one chunk with its newline: too-long as well.
    const big = procLine.replace(/"cmdline":"[^"]*"/, `"cmdline":"${'a'.repeat(MAX_LINE_LENGTH)}"`);
    expect(parseBridgeLine(big)).toEqual({ error: 'too-long' });
    const small = new BridgeParser({ maxLineLength: 100 });
    small.push(`${procLine}\n${'{}'}\n`);
    expect(small.stats).toMatchObject({ lines: 2, tooLong: 1, malformed: 1 });
  });

  it('a partial last line is counted as truncated at end()', () => {
    const parser = new BridgeParser();
    const got = [...parser.push(`${procLine}\n${io.slice(0, 40)}`), ...parser.end()];
    expect(got.map((r) => r.t)).toEqual(['proc']);
    expect(parser.stats).toMatchObject({ lines: 2, records: 1, truncated: 1, malformed: 0 });
    // Even a complete-looking last line: its newline never came, so its end is not known.
    const p2 = new BridgeParser();
    p2.push(io);
    expect(p2.end()).toEqual([]);
    expect(p2.stats.truncated).toBe(1);
    const p3 = new BridgeParser();
    p3.push(`${io}\n`);
    p3.end();
    expect(p3.stats.truncated).toBe(0);
  });

  it('the count is visible as one status line', () => {
    const { parser } = parseAll([`${io}\n{oops\n${io.replace('"v":1', '"v":9')}\n${io.slice(0, 20)}`]);
    expect(describeParseStats(parser.stats)).toBe('sysdig bridge: skipped 3 of 4 lines (1 malformed, 1 of an unknown protocol version, 1 truncated)');
  });
});

describe('bridgeMembership', () => {
  it('files the captures’ processes where sysdig does: host, or the Docker container falco ran in', () => {
    const { records } = parseAll(SAMPLES.map((s) => s.text));
    const identities = records.filter((r) => r.t === 'proc' || r.t === 'exec');
    expect(identities.length).toBeGreaterThan(10);
    let inDocker = 0;
    for (const r of identities) {
      if (r.t !== 'proc' && r.t !== 'exec') continue;
      const { identity } = resolveMembership(bridgeMembership(r.cgroups));
      if (r.container === 'host') {
        expect(identity.kind, r.cgroups).toBe('host');
      } else {
        inDocker++;
        expect(identity.kind, r.cgroups).toBe('docker');
        expect(identity.id.slice(0, 12)).toBe(r.container);
      }
    }
    // open-multiple-files.scap was taken next to falco running in a Docker container.
    expect(inDocker).toBeGreaterThan(0);
    expect(identities.find((r) => r.comm === 'falco')).toMatchObject({ container: '5ea733068030', vpid: 1 });
    const cat = identities.find((r) => r.t === 'exec' && r.comm === 'cat');
    const catMemory = cat?.t === 'exec' && bridgeMembership(cat.cgroups).v1['memory'];
    expect(catMemory).toBe('/user.slice/user-1000.slice/session-1.scope');
  });

  // Shapes of sysdig's thread.cgroups this host cannot produce (no driver, no containers in the captures).
  const ID = 'a41c19d070f84f4678ae0bd24213556fa7aa0ce082f8092367bb5ebf2de76729';

  it('a Docker container (cgroupfs driver)', () => {
    const m = bridgeMembership(`cpuset=/docker/${ID} cpu=/docker/${ID} cpuacct=/docker/${ID} memory=/docker/${ID} name=systemd=/docker/${ID}`);
    expect(m.v1['name=systemd']).toBe(`/docker/${ID}`);
    const { identity } = resolveMembership(m);
    expect(identity).toMatchObject({ kind: 'docker', id: ID });
  });

  it('a Slurm v1 job that leaves cpu at the root', () => {
    const m = bridgeMembership('cpu=/ cpuacct=/ memory=/slurm/uid_1000/job_4242/step_batch/task_0 pids=/slurm/uid_1000/job_4242/step_batch');
    expect(resolveMembership(m).identity).toMatchObject({ kind: 'slurm', id: '4242', step: 'batch' });
  });

  it('the unified hierarchy, comma lists and spaces inside a path', () => {
    const m = bridgeMembership(`=/system.slice/docker-${ID}.scope cpu,cpuacct=/user.slice/my app.scope memory=/a b/c`);
    expect(m.v2).toBe(`/system.slice/docker-${ID}.scope`);
    expect(m.v1).toEqual({ cpu: '/user.slice/my app.scope', cpuacct: '/user.slice/my app.scope', memory: '/a b/c' });
    expect(resolveMembership(m).identity).toMatchObject({ kind: 'docker', id: ID });
    expect(bridgeMembership('')).toEqual({ v1: {}, deleted: false });
  });
});
