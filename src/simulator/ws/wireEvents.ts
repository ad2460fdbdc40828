/**
 * WebSocket wire events (§10.3 of polygon-wire.md) and their JSON as bytes: byte for byte what
 * `JSON.stringify` makes of the event objects (same keys, same order, same number texts;
 * byteWriter.ts). Aggregates: ev, sym, v, av, op, vw, o, c, h, l, a, z, s, e (indices: no v, av,
 * vw, a, z); values: ev, val, T, t.
 */
import type { WireAgg, WireIndexAgg } from "../MarketData.js"
import { type ByteWriter, fragment } from "./byteWriter.js"

export type Cluster = "stocks" | "options" | "indices"

export interface AggEvent {
  readonly ev: "A" | "AM"
  readonly sym: string
  readonly v: number
  readonly av: number
  readonly op: number
  readonly vw: number
  readonly o: number
  readonly c: number
  readonly h: number
  readonly l: number
  readonly a: number
  readonly z: number
  readonly s: number
  readonly e: number
}

export interface IndexAggEvent {
  readonly ev: "A" | "AM"
  readonly sym: string
  readonly op: number
  readonly o: number
  readonly c: number
  readonly h: number
  readonly l: number
  readonly s: number
  readonly e: number
}

export interface ValueEvent {
  readonly ev: "V"
  readonly val: number
  readonly T: string
  readonly t: number
}

export type WireEvent = AggEvent | IndexAggEvent | ValueEvent

export type EventType = "A" | "AM" | "V"

export const round4 = (x: number): number => Math.round(x * 1e4) / 1e4
export const isVolumeBar = (b: WireAgg | WireIndexAgg): b is WireAgg => "v" in b

const K = {
  v: fragment(`,"v":`),
  av: fragment(`,"av":`),
  op: fragment(`,"op":`),
  vw: fragment(`,"vw":`),
  o: fragment(`,"o":`),
  c: fragment(`,"c":`),
  h: fragment(`,"h":`),
  l: fragment(`,"l":`),
  a: fragment(`,"a":`),
  z: fragment(`,"z":`),
  s: fragment(`,"s":`),
  e: fragment(`,"e":`),
  T: fragment(`,"T":`),
  t: fragment(`,"t":`),
  val: fragment(`{"ev":"V","val":`)
}
const CLOSE_BRACE = 125

/** `,"c":…,"h":…,"l":…,"s":…,"e":…}` of an index second bar. */
const writeIndexTail = (w: ByteWriter, b: WireIndexAgg): void => {
  w.field(K.c, b.c)
  w.field(K.h, b.h)
  w.field(K.l, b.l)
  w.window(b.t, b.t + 1000)
}

/**
 * The event writers of one ticker-day (`op` = its official open). The constant runs (the head
 * with `sym`, `op` with its value) are bytes made once.
 */
export const eventWriters = (sym: string, op: number) => {
  const symJson = fragment(JSON.stringify(sym))
  const headA = Buffer.concat([fragment(`{"ev":"A","sym":`), symJson])
  const headAM = Buffer.concat([fragment(`{"ev":"AM","sym":`), symJson])
  const headVolume = Buffer.concat([headA, K.v])
  const opVw = fragment(`,"op":${JSON.stringify(op)},"vw":`)
  const headIndex = Buffer.concat([headA, fragment(`,"op":${JSON.stringify(op)},"o":`)])
  return {
    /** A second bar's `A` event; `av`, `a` and `z` derived by the caller. */
    volumeSecond: (w: ByteWriter, b: WireAgg, av: number, a: number, z: number): void => {
      w.bytes(headVolume)
      w.num(b.v)
      w.field(K.av, av)
      w.field(opVw, b.vw)
      w.field(K.o, b.o)
      w.field(K.c, b.c)
      w.field(K.h, b.h)
      w.field(K.l, b.l)
      w.field(K.a, a)
      w.field(K.z, z)
      w.window(b.t, b.t + 1000)
    },
    indexSecond: (w: ByteWriter, b: WireIndexAgg): void => {
      w.bytes(headIndex)
      w.num(b.o)
      writeIndexTail(w, b)
    },
    value: (w: ByteWriter, b: WireIndexAgg): void => {
      w.field(K.val, b.c)
      w.bytes(K.T)
      w.bytes(symJson)
      w.field(K.t, b.t)
      w.byte(CLOSE_BRACE)
    },
    /** An `AM` event (volume fields only when it has them). */
    minute: (w: ByteWriter, e: AggEvent | IndexAggEvent): void => {
      w.bytes(headAM)
      const volume = "v" in e
      if (volume) {
        w.field(K.v, e.v)
        w.field(K.av, e.av)
      }
      w.field(K.op, e.op)
      if (volume) w.field(K.vw, e.vw)
      w.field(K.o, e.o)
      w.field(K.c, e.c)
      w.field(K.h, e.h)
      w.field(K.l, e.l)
      if (volume) {
        w.field(K.a, e.a)
        w.field(K.z, e.z)
      }
      w.window(e.s, e.e)
    }
  }
}
