/** What an open menu (F6 sort column, F9 signal, the kill confirmation) says, line by line. */
import { safeText } from '../format.js';
import { KILL_SIGNALS, sortChoices, type Menu, type State } from './state.js';

/** Readable names of the sort orders, for F6's menu. */
const SORT_LABELS: Readonly<Record<string, string>> = {
  cpu: 'CPU%',
  mem: 'memory (MEM / RSS)',
  net: 'network rate (NET/s rx+tx)',
  io: 'disk rate (read + write)',
  pids: 'PROCS',
  name: 'NAME',
  read: 'RD/s',
  write: 'WR/s',
  time: 'CPU time (TIME+)',
  pid: 'PID',
  command: 'COMMAND',
};

/** Signal numbers as `kill -l` prints them on Linux, to show beside the names. */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
  SIGCONT: 18,
  SIGSTOP: 19,
};

export interface MenuLines {
  readonly lines: readonly string[];
  /** Index into lines of the highlighted entry; -1 for none. */
  readonly selected: number;
}

/** `who` names the process a signal menu is for (`4242 nginx`), resolved by the App from the row key. */
export function menuLines(state: State, menu: Menu, who: string): MenuLines {
  const name = safeText(who);
  switch (menu.kind) {
    case 'sort': {
      const current = state.view === 'containers' ? state.containerSort : state.processSort;
      const choices = sortChoices(state);
      const lines = [
        ` sort ${state.view === 'containers' ? 'containers' : 'processes'} by (Enter chooses, Esc closes)`,
        ...choices.map((c, i) => `${i === menu.index ? '>' : ' '} ${SORT_LABELS[c] ?? c}${c === current ? '  (now)' : ''}`),
      ];
      return { lines, selected: menu.index + 1 };
    }
    case 'signal': {
      const lines = [
        ` send a signal to ${name} (Enter chooses, Esc closes)`,
        ...KILL_SIGNALS.map((s, i) => `${i === menu.index ? '>' : ' '} ${String(SIGNAL_NUMBERS[s] ?? '').padStart(2)} ${s}`),
      ];
      return { lines, selected: menu.index + 1 };
    }
    case 'confirm':
      return { lines: [` send ${menu.signal} to ${name}?  y / Enter: send   n / Esc: cancel`], selected: 0 };
  }
}
