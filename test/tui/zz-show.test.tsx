process.env.TZ = 'UTC';
import { it } from 'vitest';
import { App } from '../../src/tui/App.js';
import { renderSized, settle } from './harness.js';
import { source, WEB_KEY } from './world.js';
it('show', async () => {
  for (const [w, h] of [[60, 24], [80, 24], [160, 48]] as const) {
    for (const key of [undefined, WEB_KEY]) {
      const r = renderSized(<App source={source()} color={false} {...(key !== undefined && { containerKey: key })} />, w, h);
      await settle();
      console.log(`=== ${w}x${h} ${key ?? 'list'}\n` + r.lastFrame());
      r.instance.unmount();
    }
  }
});
