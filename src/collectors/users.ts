/**
 * uid -> user name from a passwd file, parsed lazily. An unknown uid re-reads the file at most once per minute, so a
 * user added while bubble runs is named soon without re-reading the file for every nameless uid on every tick.
 */
import fs from 'node:fs';

const REREAD_MS = 60_000;

/** Parses passwd text (`name:pw:uid:gid:gecos:home:shell`); the first line for a uid wins, like getpwuid. */
export function parsePasswd(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    // NIS compat lines (`+`, `-`) and comments name nobody.
    const first = line.charCodeAt(0);
    if (line.length === 0 || first === 0x2b || first === 0x2d || first === 0x23) continue;
    const nameEnd = line.indexOf(':');
    const pwEnd = nameEnd < 0 ? -1 : line.indexOf(':', nameEnd + 1);
    const uidEnd = pwEnd < 0 ? -1 : line.indexOf(':', pwEnd + 1);
    if (nameEnd <= 0 || uidEnd < 0) continue;
    const uidText = line.slice(pwEnd + 1, uidEnd);
    if (!/^\d+$/.test(uidText)) continue;
    const uid = Number(uidText);
    if (!names.has(uid)) names.set(uid, line.slice(0, nameEnd));
  }
  return names;
}

export class UserNames {
  readonly passwdPath: string;
  private readonly now: () => number;
  private names: Map<number, string> | undefined;
  private readAtMs = 0;

  /** @param now clock for the re-read interval, for tests. */
  constructor(passwdPath = '/etc/passwd', now: () => number = Date.now) {
    this.passwdPath = passwdPath;
    this.now = now;
  }

  /** The user name of `uid`, or the uid as a string when the passwd file does not name it. */
  name(uid: number): string {
    if (this.names === undefined) this.load();
    let name = this.names?.get(uid);
    if (name === undefined && this.now() - this.readAtMs >= REREAD_MS) {
      this.load();
      name = this.names?.get(uid);
    }
    return name ?? String(uid);
  }

  private load(): void {
    this.readAtMs = this.now();
    try {
      this.names = parsePasswd(fs.readFileSync(this.passwdPath, 'utf8'));
    } catch {
      // No passwd (a minimal container image): numeric names, retried after the interval.
      this.names ??= new Map();
    }
  }
}
