/**
 * A column batch as one durable file: how a backfill stages a finished unit (one option contract)
 * until its day's Parquet file is assembled. Written like every state file here (temporary name,
 * fsync, rename), so after a crash it is either whole or absent.
 *
 * Layout: `SPYCOLS1` · header length (uint32 LE) · header JSON (`length`, column names, shared
 * values), padded to a multiple of 8 · each column's `length` doubles (little-endian).
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { ColumnBatch } from "../domain/columnBatch.js"
import { tempPath } from "./atomicFile.js"

const MAGIC = "SPYCOLS1"

export class ColumnFileError extends Error {}

export const writeColumnFile = async (target: string, batch: ColumnBatch): Promise<void> => {
  if (os.endianness() !== "LE") throw new ColumnFileError("column files are little-endian only")
  const json = JSON.stringify({
    length: batch.length,
    doubles: batch.doubles.map(([name]) => name),
    constants: batch.constants
  })
  const body = Buffer.from(json, "utf8")
  const padded = Math.ceil((12 + body.length) / 8) * 8
  const head = Buffer.alloc(padded, 32)
  head.write(MAGIC, 0, "latin1")
  head.writeUInt32LE(body.length, 8)
  body.copy(head, 12)
  const parts = [
    head,
    ...batch.doubles.map(([, values]) => Buffer.from(values.buffer, values.byteOffset, batch.length * 8))
  ]
  const tmp = tempPath(target)
  const handle = await fs.open(tmp, "w").catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== "ENOENT") throw e
    await fs.mkdir(path.dirname(target), { recursive: true })
    return fs.open(tmp, "w")
  })
  try {
    await handle.writev(parts)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(tmp, target)
}

export const readColumnFile = async (file: string): Promise<ColumnBatch> => {
  const bytes = await fs.readFile(file)
  if (bytes.length < 12 || bytes.toString("latin1", 0, 8) !== MAGIC)
    throw new ColumnFileError(`${file} is not a column file`)
  const headerLength = bytes.readUInt32LE(8)
  const header = JSON.parse(bytes.toString("utf8", 12, 12 + headerLength)) as {
    length: number
    doubles: Array<string>
    constants: ColumnBatch["constants"]
  }
  let offset = Math.ceil((12 + headerLength) / 8) * 8
  if (bytes.length !== offset + header.doubles.length * header.length * 8)
    throw new ColumnFileError(`${file} has the wrong size`)
  const doubles = header.doubles.map((name) => {
    const values = new Float64Array(header.length)
    new Uint8Array(values.buffer).set(bytes.subarray(offset, offset + header.length * 8))
    offset += header.length * 8
    return [name, values] as const
  })
  return { length: header.length, doubles, constants: header.constants }
}
