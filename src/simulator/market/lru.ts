/** A bounded least-recently-used cache for computed (immutable) series. */
export interface Lru<K, V> {
  readonly getOrCompute: (key: K, compute: () => V) => V
}

export const makeLru = <K, V>(capacity: number): Lru<K, V> => {
  const entries = new Map<K, V>()
  return {
    getOrCompute: (key, compute) => {
      const hit = entries.get(key)
      if (hit !== undefined || entries.has(key)) {
        entries.delete(key)
        entries.set(key, hit as V)
        return hit as V
      }
      const value = compute()
      entries.set(key, value)
      if (entries.size > capacity) entries.delete(entries.keys().next().value as K)
      return value
    }
  }
}
