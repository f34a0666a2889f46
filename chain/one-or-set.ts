/**
 * Maps from a key to one value or, from the second distinct value on, a Set of them: most keys
 * hold one value (a payee paid by one pool transaction, a txid sent by one peer), and a Set per
 * key was an allocation each on per-transaction paths (docs/performance.md).
 */
export type OneOrSetMap<K, V> = Map<K, V | Set<V>>;

/** Add `value` under `key`; true when `key` is new. */
export function addOne<K, V>(map: OneOrSetMap<K, V>, key: K, value: V): boolean {
  const had = map.get(key);
  if (had === undefined) {
    map.set(key, value);
    return true;
  }
  if (had instanceof Set) had.add(value);
  else if (had !== value) map.set(key, new Set([had, value]));
  return false;
}

/** Remove `value` from under `key` (the key goes with its last value). */
export function removeOne<K, V>(map: OneOrSetMap<K, V>, key: K, value: V): void {
  const had = map.get(key);
  if (had === value) map.delete(key);
  else if (had instanceof Set && had.delete(value) && had.size === 0) map.delete(key);
}

/** Whether `value` is held under `key`. */
export function hasOne<K, V>(map: OneOrSetMap<K, V>, key: K, value: V): boolean {
  const had = map.get(key);
  return had === value || (had instanceof Set && had.has(value));
}

/** The values under `key`. */
export function valuesOf<K, V>(map: OneOrSetMap<K, V>, key: K): Iterable<V> {
  const had = map.get(key);
  return had === undefined ? [] : had instanceof Set ? had : [had];
}
