process.env.TZ = 'UTC';
import { render } from 'ink-testing-library';
import { it } from 'vitest';
import { App } from '../../src/tui/App.js';
import { source, WEB_KEY, JOB_KEY } from './world.js';
import { renderSized, settle } from './harness.js';
import { BYTES } from './keys.js';

it('prints', async () => {
  const s = source();
  const r2 = render(<App source={s} containerKey={WEB_KEY} columns={80} rows={24} color={false} />);
  r2.stdin.write('\t'); await settle();
  r2.stdin.write(BYTES.down); await settle();
  console.log(r2.lastFrame());
  r2.stdin.write('\t'); await settle();
  r2.stdin.write(BYTES.left); await settle();
  r2.stdin.write(BYTES.left); await settle();
  console.log(r2.lastFrame());
  const r3 = renderSized(<App source={s} containerKey={JOB_KEY} color={false} />, 120, 40);
  await settle();
  console.log(r3.lastFrame());
  r3.stdin.write('t'); await settle();
  r3.stdout.resize(60, 12); await settle();
  console.log(r3.lastFrame());
});
