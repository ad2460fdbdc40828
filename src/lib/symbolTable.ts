/**
 * Interning of short byte strings (tickers) to small integer ids, looked up straight from the
 * bytes of a frame: no JS string is built for a symbol already seen. Open addressing on an FNV-1a
 * hash; each id keeps its UTF-8 bytes (for the comparison) and its string (decoded once).
 */
export class SymbolTable {
  private slots = new Int32Array(1024).fill(-1)
  private readonly bytes: Array<Uint8Array> = []
  private readonly hashes: Array<number> = []
  readonly names: Array<string> = []

  get size(): number {
    return this.names.length
  }

  /** The id of the UTF-8 bytes `buf[from … to)`, adding them when new. */
  intern(buf: Uint8Array, from: number, to: number): number {
    let h = 0x811c9dc5
    for (let p = from; p < to; p++) h = Math.imul(h ^ buf[p]!, 0x01000193)
    h >>>= 0
    const mask = this.slots.length - 1
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const id = this.slots[i]!
      if (id < 0) return this.add(i, h, buf, from, to)
      if (this.hashes[id] === h && equal(this.bytes[id]!, buf, from, to)) return id
    }
  }

  /** The id of a string (adding it when new). */
  internString(name: string): number {
    const b = Buffer.from(name, "utf8")
    return this.intern(b, 0, b.length)
  }

  private add(slot: number, h: number, buf: Uint8Array, from: number, to: number): number {
    const id = this.names.length
    const copy = Uint8Array.prototype.slice.call(buf, from, to)
    this.bytes.push(copy)
    this.hashes.push(h)
    this.names.push(Buffer.from(copy.buffer, copy.byteOffset, copy.length).toString("utf8"))
    this.slots[slot] = id
    if (this.names.length * 2 > this.slots.length) this.rehash()
    return id
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1)
    const mask = slots.length - 1
    this.hashes.forEach((h, id) => {
      let i = h & mask
      while (slots[i]! >= 0) i = (i + 1) & mask
      slots[i] = id
    })
    this.slots = slots
  }
}

const equal = (a: Uint8Array, buf: Uint8Array, from: number, to: number): boolean => {
  if (a.length !== to - from) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[from + i]) return false
  return true
}
