/**
 * Seeded pseudo-randomness for the synthetic market. Every stream is derived from
 * (seed, labels…) so a series depends only on what it describes, never on call order.
 */

/** A uniform [0, 1) generator. */
export type Rng = () => number

/** mulberry32: tiny, fast, and good enough for synthetic prices. */
export const mulberry32 = (seed: number): Rng => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** 32-bit FNV-1a hash of a string. */
export const hashString = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A generator whose stream is fixed by the seed and the labels. */
export const rngFor = (seed: number, ...labels: ReadonlyArray<string | number>): Rng =>
  mulberry32(hashString(`${seed}|${labels.join("|")}`))

/** Standard normal draw (Box–Muller; one value per call keeps streams simple). */
export const gaussian = (rng: Rng): number => {
  const u = 1 - rng()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng())
}

/** A stream of standard normals using both Box–Muller outputs (half the draws of `gaussian`). */
export const normals = (rng: Rng): (() => number) => {
  let spare: number | undefined
  return () => {
    if (spare !== undefined) {
      const z = spare
      spare = undefined
      return z
    }
    const r = Math.sqrt(-2 * Math.log(1 - rng()))
    const theta = 2 * Math.PI * rng()
    spare = r * Math.sin(theta)
    return r * Math.cos(theta)
  }
}

/** 32 random bits from one draw, for several cheap low-resolution decisions. */
export const bitsOf = (u: number): number => (u * 4294967296) >>> 0

/** Integer in [lo, hi], inclusive. */
export const intBetween = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1))

export const pick = <A>(rng: Rng, items: ReadonlyArray<A>): A => items[Math.floor(rng() * items.length)]!
