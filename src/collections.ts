/**
 * Items by `key`, each list in the items' order; with `value`, what is kept of each item instead of the
 * item itself.
 */
export function groupBy<T, K>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]>;
export function groupBy<T, K, V>(items: Iterable<T>, key: (item: T) => K, value: (item: T) => V): Map<K, V[]>;
export function groupBy<T, K, V>(items: Iterable<T>, key: (item: T) => K, value?: (item: T) => V): Map<K, (T | V)[]> {
  const groups = new Map<K, (T | V)[]>();
  for (const item of items) {
    const kept = value ? value(item) : item;
    const list = groups.get(key(item));
    if (list) list.push(kept);
    else groups.set(key(item), [kept]);
  }
  return groups;
}
