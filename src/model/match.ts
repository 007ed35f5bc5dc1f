/**
 * Finds the container a user means: a name, an id or id prefix, a Slurm job id (`4242` or `job 4242`), a cgroup
 * path, or `host`. Pure: it takes the containers to choose from.
 */
import { ContainerNotFoundError } from '../errors/container-not-found-error.js';
import { safeText } from '../format.js';

export interface Matchable {
  readonly key: string;
  readonly kind: string;
  readonly id: string;
  readonly name: string;
  readonly cgroup: string;
}

const HEX = /^[0-9a-f]+$/;

/** Names and ids come from cgroup paths a container may choose: escaped, as every message that quotes them. */
function describe(c: Matchable): string {
  return c.kind === 'host' ? 'host' : safeText(`${c.name} (${c.kind} ${c.kind === 'slurm' ? c.id : c.id.slice(0, 12)})`);
}

function exactMatches<T extends Matchable>(query: string, containers: readonly T[]): T[] {
  const job = /^(?:job[ _:]?)?(\d+|s[0-9A-HJKMNP-TV-Z]{13})$/.exec(query)?.[1];
  const path = query.startsWith('/') ? query.replace(/\/+$/, '') || '/' : undefined;
  return containers.filter((c) => {
    if (c.name === query || c.id === query || c.key === query) return true;
    if (c.kind === 'slurm' && job !== undefined && c.id === job) return true;
    if (path !== undefined && c.kind !== 'host' && (path === c.cgroup || path.startsWith(c.cgroup + '/'))) return true;
    return false;
  });
}

/** What the containers matched against are, for the message when nothing matches. */
export interface MatchContext {
  /** Running now (a live snapshot: the default), or recorded in a store. */
  readonly seen?: 'running' | 'recorded';
  /** Where they were looked up: `in the store /var/lib/bubble/bubble.db`. */
  readonly where?: string;
  /** Why a name may be missing (no Docker socket), said when nothing matches. */
  readonly missing?: string;
}

/**
 * The one container `query` names. Throws ContainerNotFoundError naming the candidates when it names none or several.
 */
export function matchContainer<T extends Matchable>(query: string, containers: readonly T[], context: MatchContext = {}): T {
  const trimmed = query.trim();
  const exact = exactMatches(trimmed, containers);
  if (exact.length === 1) return exact[0]!;
  const candidates =
    exact.length > 1
      ? exact
      : HEX.test(trimmed)
        ? containers.filter((c) => c.kind !== 'host' && c.kind !== 'slurm' && c.id.startsWith(trimmed))
        : containers.filter((c) => c.name.startsWith(trimmed));
  if (candidates.length === 1 && exact.length === 0 && HEX.test(trimmed)) return candidates[0]!;
  if (candidates.length > 1) {
    const names = candidates.map(describe);
    throw new ContainerNotFoundError(query, names, `"${safeText(query)}" is ambiguous: it matches ${names.join(', ')}; give more of the id or the full name`);
  }
  const known = containers.filter((c) => c.kind !== 'host').map(describe);
  const seen = context.seen ?? 'running';
  const none = seen === 'running' ? 'no containers or jobs are running (`bubble ls --all` lists what is seen)' : 'it records no containers or jobs';
  const hint =
    candidates.length === 1
      ? `did you mean ${describe(candidates[0]!)}?`
      : known.length > 0
        ? `${seen}: ${known.slice(0, 8).join(', ')}${known.length > 8 ? `, and ${known.length - 8} more` : ''}`
        : none;
  const where = context.where === undefined ? '' : ` ${context.where}`;
  const missing = context.missing === undefined || candidates.length === 1 ? '' : `; ${context.missing}`;
  throw new ContainerNotFoundError(query, known, `no container or job "${safeText(query)}"${where}: ${hint}${missing}`);
}
