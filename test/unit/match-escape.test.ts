/** matchContainer's messages quote names a container chose and what the user typed: escaped where they are made. */
import { describe, expect, it } from 'vitest';
import { type Matchable, matchContainer } from '../../src/model/match.js';

const lxc = (name: string): Matchable => ({ key: `lxc:${name}`, kind: 'lxc', id: name, name, cgroup: `/lxc.payload.${name}` });

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('no error');
};

describe('matchContainer messages escape control characters', () => {
  const evil = [lxc('web\u001b]0;x\u0007a'), lxc('web\u001b[2Jb')];

  it('ambiguous: both names escaped', () => {
    const message = messageOf(() => matchContainer('web', evil));
    expect(message).not.toMatch(/[\u001b\u0007]/);
    expect(message).toContain('web\\e]0;x\\x07a (lxc web\\e]0;x\\x07a)');
    expect(message).toContain('web\\e[2Jb');
  });

  it('not found: the query and the running names escaped', () => {
    const message = messageOf(() => matchContainer('nope\u0007', evil));
    expect(message).not.toMatch(/[\u001b\u0007]/);
    expect(message).toMatch(/^no container or job "nope\\x07": running: web\\e/);
  });
});
