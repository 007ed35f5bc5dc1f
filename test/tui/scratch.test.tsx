process.env.TZ = 'UTC';
import { render } from 'ink-testing-library';
import { it } from 'vitest';
import { App } from '../../src/tui/App.js';
import { source, WEB_KEY } from './world.js';

it('prints', async () => {
  const s = source();
  const r = render(<App source={s} columns={80} rows={24} color={false} />);
  console.log(r.lastFrame());
  const r2 = render(<App source={s} containerKey={WEB_KEY} columns={80} rows={24} color={false} />);
  console.log(r2.lastFrame());
  r2.stdin.write('?');
  await new Promise((r) => setTimeout(r, 50));
  console.log(r2.lastFrame());
});
