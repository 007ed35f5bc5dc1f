/**
 * bubble's own health in /metrics, from a real `bubble serve --source both` whose sysdig (BUBBLE_SYSDIG, a script)
 * prints three lines the bridge parser must skip: the skipped count, ticks, tick duration and missed ticks.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startBubble } from '../helpers/cli.js';
import { get, sample, stopServe, type RunningServe } from '../helpers/serve.js';

const dir = mkdtempSync(join(tmpdir(), 'bubble-serve-health-'));
let serve: RunningServe | undefined;

afterAll(async () => {
  await stopServe(serve);
  rmSync(dir, { recursive: true, force: true });
});

describe('bubble serve health metrics', () => {
  it('counts the sysdig lines the bridge skipped, and the ticks taken and missed', async () => {
    const fake = join(dir, 'fake-sysdig');
    writeFileSync(fake, '#!/bin/sh\necho "not json"\necho \'{"v":1}\'\necho garbage\nexec sleep 600\n');
    chmodSync(fake, 0o755);
    const bubble = startBubble(['serve', '--listen', '127.0.0.1:0', '--db', join(dir, 'b.db'), '--source', 'both'], { env: { BUBBLE_SYSDIG: fake } });
    await bubble.waitFor(/serving http:\/\/127\.0\.0\.1:\d+\/metrics/);
    const port = Number(/serving http:\/\/127\.0\.0\.1:(\d+)/.exec(bubble.stderr())![1]);
    serve = { bubble, port, url: `http://127.0.0.1:${port}` };

    // Bounded: the three lines are read within 10 s.
    let text = '';
    for (let i = 0; i < 40; i++) {
      text = (await get(`${serve.url}/metrics`)).body;
      if (sample(text, 'bubble_sysdig_lines_skipped_total ') === 3 && sample(text, 'bubble_ticks_total ')! >= 3) break;
      await sleep(250);
    }
    expect(sample(text, 'bubble_sysdig_lines_skipped_total ')).toBe(3);
    expect(sample(text, 'bubble_ticks_total ')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'bubble_tick_duration_seconds ')).toBeGreaterThan(0);
    expect(sample(text, 'bubble_tick_duration_seconds ')).toBeLessThan(1);
    expect(sample(text, 'bubble_ticks_missed_total ')).toBeLessThanOrEqual(1);
    expect(await stopServe(serve)).toBe(0);
    serve = undefined;
  });
});
