/**
 * A Map-shaped cache that holds at most about 2 x `limit` entries: two generations, the older dropped when the newer
 * fills up; a hit in the older one is carried into the newer. Installed by the bundler (scripts/bundle.mjs) in place
 * of Ink's text caches (measure-text.js, wrap-text.js), which keep every distinct text forever: `bubble top` draws new
 * numbers every second into one list text of about 5 kB (120x40), kept as key and value, so by estimate those caches
 * grew by some 50 MB an hour.
 */
export interface TextCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  readonly size: number;
}

export function boundedCache<V>(limit = 2048): TextCache<V> {
  let current = new Map<string, V>();
  let previous = new Map<string, V>();
  const set = (key: string, value: V): void => {
    current.set(key, value);
    if (current.size >= limit) {
      previous = current;
      current = new Map();
    }
  };
  return {
    get(key) {
      const hit = current.get(key);
      if (hit !== undefined) return hit;
      const old = previous.get(key);
      if (old !== undefined) set(key, old);
      return old;
    },
    set,
    get size() {
      return current.size + previous.size;
    },
  };
}
