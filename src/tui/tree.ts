/**
 * Process lists for the container view, pure. A Snapshot's processes are one flat host-wide array: they are grouped
 * by container once per snapshot (cached), so a frame only ever sorts and walks the processes of the container it
 * shows, and only the visible slice of rows is formatted.
 */
import type { ContainerView, ProcessView, Snapshot } from '../model/snapshot.js';
import { sortContainers, sortProcesses, type ContainerSort, type ProcessSort } from '../model/sort.js';

export interface ProcessRow {
  readonly process: ProcessView;
  /** 0 for roots (and every row of the flat list). */
  readonly depth: number;
  readonly hasChildren: boolean;
  readonly collapsed: boolean;
  /** Descendants folded away under this row. */
  readonly hidden: number;
}

const groups = new WeakMap<Snapshot, ReadonlyMap<string, readonly ProcessView[]>>();

/** The processes of one container; one pass over the snapshot the first time it is asked, a lookup after that. */
export function processesOf(snapshot: Snapshot, containerKey: string): readonly ProcessView[] {
  let byContainer = groups.get(snapshot);
  if (byContainer === undefined) {
    const map = new Map<string, ProcessView[]>();
    for (const p of snapshot.processes) {
      const list = map.get(p.containerKey);
      if (list === undefined) map.set(p.containerKey, [p]);
      else list.push(p);
    }
    byContainer = map;
    groups.set(snapshot, byContainer);
  }
  return byContainer.get(containerKey) ?? [];
}

/** Case-insensitive substring match of a filter against any of the fields; an empty filter matches everything. */
export function matches(filter: string, ...fields: readonly string[]): boolean {
  if (filter === '') return true;
  const needle = filter.toLowerCase();
  return fields.some((f) => f.toLowerCase().includes(needle));
}

export function processMatches(p: ProcessView, filter: string): boolean {
  return matches(filter, p.comm, p.cmdline);
}

export interface Forest {
  /** Processes whose parent is not in the list (outside the container, or exited), in input order. */
  readonly roots: readonly ProcessView[];
  /** Children by parent key, in input order. */
  readonly children: ReadonlyMap<string, readonly ProcessView[]>;
}

/**
 * Parent links by ppid among `processes` (one container's). A process whose parent is elsewhere is a root. Children
 * keep the input order, so sorting the input sorts every level of the tree. A pid/ppid loop (possible in data rebuilt
 * from a store, where pids are reused) is cut: its first member becomes a root.
 */
export function buildForest(processes: readonly ProcessView[]): Forest {
  const byPid = new Map<number, ProcessView>();
  for (const p of processes) byPid.set(p.pid, p);
  const children = new Map<string, ProcessView[]>();
  const roots: ProcessView[] = [];
  for (const p of processes) {
    const parent = p.ppid !== p.pid ? byPid.get(p.ppid) : undefined;
    if (parent === undefined) {
      roots.push(p);
      continue;
    }
    const list = children.get(parent.key);
    if (list === undefined) children.set(parent.key, [p]);
    else list.push(p);
  }
  // Processes on a loop are reachable from no root: find them and promote one per loop.
  let reached = 0;
  const seen = new Set<string>();
  const walk = (from: readonly ProcessView[]): void => {
    const stack = [...from];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (seen.has(p.key)) continue;
      seen.add(p.key);
      reached++;
      const kids = children.get(p.key);
      if (kids !== undefined) stack.push(...kids);
    }
  };
  walk(roots);
  if (reached < processes.length) {
    for (const p of processes) {
      if (seen.has(p.key)) continue;
      // Detach it from its parent's list and make it a root.
      const parent = byPid.get(p.ppid)!;
      const siblings = children.get(parent.key)!;
      children.set(
        parent.key,
        siblings.filter((s) => s.key !== p.key),
      );
      roots.push(p);
      walk([p]);
    }
  }
  return { roots, children };
}

function countDescendants(forest: Forest, key: string): number {
  let n = 0;
  const stack = [...(forest.children.get(key) ?? [])];
  while (stack.length > 0) {
    const p = stack.pop()!;
    n++;
    const kids = forest.children.get(p.key);
    if (kids !== undefined) stack.push(...kids);
  }
  return n;
}

/**
 * The tree in display order (depth first), skipping what folded rows hide. With a filter, only matching processes and
 * their ancestors are kept (so each match is shown where it lives), and folds are ignored.
 */
export function flattenTree(forest: Forest, collapsed: ReadonlySet<string>, keep?: (p: ProcessView) => boolean): ProcessRow[] {
  let kept: Set<string> | undefined;
  if (keep !== undefined) {
    const keeping = new Set<string>();
    kept = keeping;
    // Post-order: a node is kept when it matches or any child is kept.
    const visit = (roots: readonly ProcessView[]): void => {
      const stack: { p: ProcessView; done: boolean }[] = roots.map((p) => ({ p, done: false })).reverse();
      while (stack.length > 0) {
        const top = stack.pop()!;
        const kids = forest.children.get(top.p.key) ?? [];
        if (!top.done) {
          stack.push({ p: top.p, done: true });
          for (let i = kids.length - 1; i >= 0; i--) stack.push({ p: kids[i]!, done: false });
          continue;
        }
        if (keep(top.p) || kids.some((k) => keeping.has(k.key))) keeping.add(top.p.key);
      }
    };
    visit(forest.roots);
  }
  const rows: ProcessRow[] = [];
  const stack: { p: ProcessView; depth: number }[] = [];
  for (let i = forest.roots.length - 1; i >= 0; i--) stack.push({ p: forest.roots[i]!, depth: 0 });
  while (stack.length > 0) {
    const { p, depth } = stack.pop()!;
    if (kept !== undefined && !kept.has(p.key)) continue;
    const kids = forest.children.get(p.key) ?? [];
    const shown = kept === undefined ? kids : kids.filter((k) => kept!.has(k.key));
    const folded = kept === undefined && shown.length > 0 && collapsed.has(p.key);
    rows.push({
      process: p,
      depth,
      hasChildren: shown.length > 0,
      collapsed: folded,
      hidden: folded ? countDescendants(forest, p.key) : 0,
    });
    if (folded) continue;
    for (let i = shown.length - 1; i >= 0; i--) stack.push({ p: shown[i]!, depth: depth + 1 });
  }
  return rows;
}

export interface ProcessListOptions {
  readonly tree: boolean;
  readonly sort: ProcessSort;
  /** The sort's order turned around (`I`). */
  readonly reverse?: boolean;
  readonly filter: string;
  readonly collapsed: ReadonlySet<string>;
  readonly kernelThreads: boolean;
}

export interface ProcessList {
  readonly rows: readonly ProcessRow[];
  /** Row keys in display order (what the reducer moves over). */
  readonly keys: readonly string[];
  /** Processes with children, for "fold all". */
  readonly parents: readonly string[];
  /** Processes of the container before filtering. */
  readonly total: number;
}

export const EMPTY_PROCESS_LIST: ProcessList = { rows: [], keys: [], parents: [], total: 0 };

/** One container's process rows: tree (siblings in sort order) or flat and sorted, filtered by name or command. */
export function processList(snapshot: Snapshot | undefined, containerKey: string | undefined, options: ProcessListOptions): ProcessList {
  if (snapshot === undefined || containerKey === undefined) return EMPTY_PROCESS_LIST;
  const all = processesOf(snapshot, containerKey);
  const visible = options.kernelThreads ? all : all.filter((p) => !p.kernelThread);
  const sorted = sortProcesses(visible, options.sort, options.reverse);
  const filter = options.filter;
  let rows: ProcessRow[];
  const parents: string[] = [];
  if (options.tree) {
    const forest = buildForest(sorted);
    for (const [key, kids] of forest.children) if (kids.length > 0) parents.push(key);
    rows = flattenTree(forest, options.collapsed, filter === '' ? undefined : (p) => processMatches(p, filter));
  } else {
    rows = [];
    for (const p of sorted) {
      if (processMatches(p, filter)) rows.push({ process: p, depth: 0, hasChildren: false, collapsed: false, hidden: 0 });
    }
  }
  return { rows, keys: rows.map((r) => r.process.key), parents, total: visible.length };
}

export interface ContainerListOptions {
  readonly reverse?: boolean;
  /** Exited containers to list after the running ones (ctop's `a`), newest exit first; none that is running. */
  readonly exited?: readonly ContainerView[];
}

/** Containers in sort order (`host` last), then the exited ones asked for, filtered by name or id. */
export function containerList(
  snapshot: Snapshot | undefined,
  sort: ContainerSort,
  filter: string,
  options: ContainerListOptions = {},
): readonly ContainerView[] {
  const running = snapshot === undefined ? [] : sortContainers(snapshot.containers, sort, options.reverse);
  const live = new Set(running.map((c) => c.key));
  const exited = (options.exited ?? []).filter((c) => !live.has(c.key));
  const all = exited.length === 0 ? running : [...running, ...exited];
  return filter === '' ? all : all.filter((c) => matches(filter, c.name, c.id));
}

/** The rows of a window: only these are ever formatted. */
export function visibleSlice<T>(rows: readonly T[], top: number, height: number): readonly T[] {
  return rows.slice(top, top + height);
}
