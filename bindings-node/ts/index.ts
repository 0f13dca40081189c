/**
 * Tidelog for Node.js: an embedded, crash-safe event journal for actor
 * systems. Open a {@link Journal}, `await journal.append(id, events)`, read
 * streams back with `journal.read` or `for await (const e of journal.replay(id))`.
 *
 * @packageDocumentation
 */
import type * as Native from '../native'
import { createError, fromNative, type ErrorDetails, TidelogError } from './errors'
import { loadNative } from './load-native'

export * from './errors'

// A local build at the package root, else the platform package (`load-native.ts`).
const native: typeof Native = loadNative()

// ---- public types -------------------------------------------------------------

/**
 * Storage backend: `lmdb` (default), append-only segment `files`, `memory` (tests), or
 * `postgres`, which a `postgresql://` location chooses by itself.
 */
export type Backend = 'lmdb' | 'files' | 'memory' | 'postgres'

/**
 * When an acknowledged write is durable: `always` (default; the Promise
 * resolves after fsync), `interval` (resolves after the OS has the data; fsync
 * every `syncIntervalMs`), `never` (tests and benchmarks).
 */
export type SyncMode = 'always' | 'interval' | 'never'

/** Options of {@link Journal.open}. Defaults are the core's. */
export interface OpenOptions {
  /** Storage backend (default `'lmdb'`). */
  backend?: Backend
  /** Sync policy (default `'always'`). */
  sync?: SyncMode
  /** Flush period for `sync: 'interval'`, in ms (default 100). */
  syncIntervalMs?: number
  /** Most events in one group commit (default 4096). */
  maxBatchEvents?: number
  /** Most bytes in one group commit (default 4 MiB). */
  maxBatchBytes?: number
  /** How long the writer may wait to grow a batch, in ms (default 0). */
  maxBatchDelayMs?: number
  /** Largest encoded event accepted, in bytes (default 64 MiB). */
  maxEventBytes?: number
  /** Upper bound on `close()`, in ms (default 5000); writes still queued then fail with `CLOSED`. */
  closeTimeoutMs?: number
  /** Initial LMDB map size in bytes (default 64 MiB; grows by itself). */
  lmdbMapSize?: number
  /** Segment size of the `files` backend in bytes (default 64 MiB). */
  segmentBytes?: number
  /** Open without the writer lock; writes fail with `INVALID_ARGUMENT`. */
  readOnly?: boolean
  /** Compress snapshot state with zstd (default false). */
  snapshotCompression?: boolean
  /**
   * Return sequence numbers and global offsets as `bigint` instead of
   * `number` (default false). Without it, a value above
   * `Number.MAX_SAFE_INTEGER` raises a `RangeError` instead of losing precision.
   */
  bigint?: boolean
}

/** A sequence number or offset accepted as input: a safe integer, a `bigint`, or `Infinity` for "no upper bound". */
export type SeqInput = number | bigint

/** An event to write. Only `payload` is required. */
export interface NewEvent {
  /** Payload bytes; a string is stored as UTF-8. */
  payload: Uint8Array | string
  /** Event type name (default empty). */
  manifest?: string
  /** Writer instance id (default empty). */
  writerId?: string
  /** Tags for {@link Journal.eventsByTag} (non-empty strings). */
  tags?: string[]
  /** Unix milliseconds (default: the commit time). */
  timestamp?: number
  /** Small adapter-specific bytes (default empty). */
  metadata?: Uint8Array
}

/** What {@link Journal.append} accepts per event: bytes, a UTF-8 string, or a {@link NewEvent}. */
export type EventInput = Uint8Array | string | NewEvent

/** What a successful write returns. `N` is `number`, or `bigint` with `{ bigint: true }`. */
export interface WriteReceipt<N extends number | bigint = number> {
  /** Sequence number of the first event written. */
  firstSequenceNr: N
  /** Sequence number of the last event written. */
  lastSequenceNr: N
  /** Global offset of the first event; the others follow consecutively. */
  firstGlobalOffset: N
}

/** One explicit atomic write for {@link Journal.write}. */
export interface AtomicWrite {
  /** The stream. */
  persistenceId: string
  /** Must be the stream's highest sequence number + 1, else this write fails with `SEQUENCE_CONFLICT`. */
  firstSequenceNr: SeqInput
  /** The events, in order; at least one. */
  events: EventInput[]
}

/** A stored event. */
export interface Event<N extends number | bigint = number> {
  /** The stream. */
  persistenceId: string
  /** Position in the stream, from 1. */
  sequenceNr: N
  /** Position in the whole journal, strictly increasing in commit order. */
  globalOffset: N
  /** Unix milliseconds. */
  timestamp: number
  /** Event type name. */
  manifest: string
  /** Writer instance id. */
  writerId: string
  /** Tags. */
  tags: string[]
  /** Adapter-specific bytes (a view into the page buffer). */
  metadata: Buffer
  /** Payload bytes (a view into the page buffer the event was read with: no copy). */
  payload: Buffer
}

/** Range of {@link Journal.read}. */
export interface ReadOptions {
  /** First sequence number (default 1). */
  from?: SeqInput
  /** Last sequence number, inclusive (default: no limit). */
  to?: SeqInput
  /** Most events returned (default: no limit). */
  max?: number
}

/** Range of {@link Journal.replay}. */
export interface ReplayOptions {
  /** First sequence number (default 1). */
  from?: SeqInput
  /** Last sequence number, inclusive (default: no limit). */
  to?: SeqInput
  /** Events fetched per native call (default 4096). */
  pageSize?: number
}

/** Range of {@link Journal.eventsByTag} and {@link Journal.allEvents}. */
export interface OffsetOptions {
  /** Smallest global offset returned (default 0). Resume from the last event's `globalOffset + 1`. */
  fromOffset?: SeqInput
  /** Most events returned (default: no limit). */
  max?: number
}

/** Range of {@link Journal.replayByTag} and {@link Journal.replayAll}. */
export interface OffsetReplayOptions {
  /** Smallest global offset returned (default 0). */
  fromOffset?: SeqInput
  /** Events fetched per native call (default 4096). */
  pageSize?: number
}

/** Where a subscription starts, and how it ends ({@link Journal.subscribeAll} and friends). */
export interface SubscribeOptions {
  /**
   * First global offset ({@link Journal.subscribeAll}, {@link Journal.subscribeTag}) or first
   * sequence number ({@link Journal.subscribeStream}); default: from the beginning.
   * Resume from the last event's `globalOffset + 1` (or `sequenceNr + 1`).
   */
  from?: SeqInput
  /** Ends the subscription: the iteration rejects with `signal.reason` (an `AbortError` by default). */
  signal?: AbortSignal
  /** Most events one native crossing delivers (default 1000). */
  batchSize?: number
}

/** Counters and histograms of the journal. */
export interface Metrics {
  /** Successful atomic writes (each `append` is one). */
  appends: number
  /** Events committed. */
  events: number
  /** Encoded bytes committed. */
  bytes: number
  /** Group commits. */
  batches: number
  /** Flushes to stable storage. */
  fsyncs: number
  /** Writes failed by a storage error. */
  failedWrites: number
  /** Writes refused with `SEQUENCE_CONFLICT`. */
  sequenceConflicts: number
  /** Torn log tails truncated when opening. */
  repairedTails: number
  /** Bytes removed by those repairs. */
  repairedBytes: number
  /** Snapshots skipped because their checksum failed. */
  skippedCorruptSnapshots: number
  /** Times the LMDB map was grown. */
  lmdbMapResizes: number
  /** Segment files reclaimed after deletions. */
  segmentsReclaimed: number
  /** Commit latency in microseconds. */
  commitLatencyUs: { count: number; sum: number; max: number }
  /** Events per group commit. */
  batchEvents: { count: number; sum: number; max: number }
}

/** A saved snapshot. */
export interface Snapshot<N extends number | bigint = number> {
  /** The stream the snapshot belongs to. */
  persistenceId: string
  /** Sequence number of the last event folded into the state. */
  sequenceNr: N
  /** Unix milliseconds. */
  timestamp: number
  /** State type name. */
  manifest: string
  /** Adapter-specific bytes. */
  metadata: Buffer
  /** The state bytes. */
  state: Buffer
}

/** A snapshot to save. */
export interface SnapshotInput {
  /** The stream the snapshot belongs to. */
  persistenceId: string
  /** Sequence number of the last event folded into the state. */
  sequenceNr: SeqInput
  /** State bytes; a string is stored as UTF-8. */
  state: Uint8Array | string
  /** Unix milliseconds (default `Date.now()`). */
  timestamp?: number
  /** State type name (default empty). */
  manifest?: string
  /** Adapter-specific bytes (default empty). */
  metadata?: Uint8Array
}

/** Which snapshots a load or delete selects (all bounds inclusive; omitted = unbounded). */
export interface SnapshotCriteria {
  /** Highest selected sequence number. */
  maxSequenceNr?: SeqInput
  /** Latest selected timestamp (Unix ms). */
  maxTimestamp?: number
  /** Lowest selected sequence number. */
  minSequenceNr?: SeqInput
  /** Earliest selected timestamp (Unix ms). */
  minTimestamp?: number
}

/** A snapshot listing entry. */
export interface SnapshotInfo<N extends number | bigint = number> {
  /** Sequence number of the snapshot. */
  sequenceNr: N
  /** Unix milliseconds. */
  timestamp: number
}

// ---- argument checks (TypeError / RangeError before the core sees anything) ----

/** A UTF-16 surrogate without its partner: no UTF-8 string can hold it. */
const WELL_FORMED = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function checkString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`)
  // Converted to UTF-8 a lone surrogate would become U+FFFD, and two different ids one stream.
  // `isWellFormed` (Node 20+) is a flag check on most strings; the regex is the fallback.
  if (WELL_FORMED !== undefined ? !WELL_FORMED.call(value) : LONE_SURROGATE.test(value)) {
    throw createError('INVALID_ARGUMENT', `${name} is not valid Unicode: it holds a lone UTF-16 surrogate`)
  }
  return value
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

function checkBytes(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  throw new TypeError(`${name} must be a Uint8Array, Buffer or string, got ${describe(value)}`)
}

/** A u64 input as a number the native layer takes (`Infinity` = u64::MAX). */
function seqIn(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value === 'bigint') {
    if (value < 0n) throw new RangeError(`${name} must not be negative`)
    if (value === 0xffff_ffff_ffff_ffffn) return Infinity
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${name} ${value} is above Number.MAX_SAFE_INTEGER, which this binding does not accept as input`)
    return Number(value)
  }
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number or bigint, got ${describe(value)}`)
  if (value === Infinity) return Infinity
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative safe integer or Infinity, got ${value}`)
  return value
}

function countIn(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`)
  if (value === Infinity) return Infinity
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer or Infinity, got ${value}`)
  return value
}

function checkObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {}
  if (value === null || typeof value !== 'object') throw new TypeError(`${name} must be an object, got ${describe(value)}`)
  return value as Record<string, unknown>
}

// ---- the wire format (core/docs/wire.md, version 1; implemented in Rust by tidelog-ffi) ----

const TIMESTAMP_NOW = -1 // u64::MAX as the two halves of a little-endian i64

/** An event checked for type, with its strings already encoded (UTF-8). */
interface WireEvent {
  payload: Uint8Array
  manifest: Buffer | undefined
  writerId: Buffer | undefined
  tags: Buffer[]
  timestamp: number
  metadata: Uint8Array | undefined
}

const NO_TAGS: Buffer[] = []

function toWireEvent(input: unknown, name: string): WireEvent {
  if (input instanceof Uint8Array || typeof input === 'string') {
    return { payload: checkBytes(input, name), manifest: undefined, writerId: undefined, tags: NO_TAGS, timestamp: TIMESTAMP_NOW, metadata: undefined }
  }
  if (input === null || typeof input !== 'object') throw new TypeError(`${name} must be a Uint8Array, string or event object, got ${describe(input)}`)
  const e = input as NewEvent
  const out: WireEvent = { payload: checkBytes(e.payload, `${name}.payload`), manifest: undefined, writerId: undefined, tags: NO_TAGS, timestamp: TIMESTAMP_NOW, metadata: undefined }
  if (e.manifest !== undefined) out.manifest = Buffer.from(checkString(e.manifest, `${name}.manifest`), 'utf8')
  if (e.writerId !== undefined) out.writerId = Buffer.from(checkString(e.writerId, `${name}.writerId`), 'utf8')
  if (e.tags !== undefined) {
    if (!Array.isArray(e.tags)) throw new TypeError(`${name}.tags must be an array of strings`)
    out.tags = e.tags.map((t, i) => Buffer.from(checkString(t, `${name}.tags[${i}]`), 'utf8'))
  }
  if (e.timestamp !== undefined) out.timestamp = seqIn(e.timestamp, `${name}.timestamp`, 0)
  if (e.metadata !== undefined) {
    if (!(e.metadata instanceof Uint8Array)) throw new TypeError(`${name}.metadata must be a Uint8Array`)
    out.metadata = e.metadata
  }
  return out
}

function toWireEvents(events: unknown): WireEvent[] {
  if (Array.isArray(events)) return events.map((e, i) => toWireEvent(e, `events[${i}]`))
  return [toWireEvent(events, 'event')]
}

/** Size of an "Event list" (core/docs/wire.md). */
function eventListSize(events: WireEvent[]): number {
  let size = 4
  for (const e of events) {
    size += 8 + 4 + (e.manifest?.length ?? 0) + 4 + (e.writerId?.length ?? 0) + 4 + (e.metadata?.length ?? 0) + 4 + 4 + e.payload.length
    for (const t of e.tags) size += 4 + t.length
  }
  return size
}

/** Little-endian writer over one Buffer of known size. */
class WireWriter {
  readonly buf: Buffer
  pos = 0
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size)
  }
  u32(v: number): void {
    this.pos = this.buf.writeUInt32LE(v, this.pos)
  }
  /** A u64 from a safe integer; `Infinity` and {@link TIMESTAMP_NOW} are u64::MAX. */
  u64(v: number): void {
    if (v === Infinity || v === TIMESTAMP_NOW) {
      this.u32(0xffff_ffff)
      this.u32(0xffff_ffff)
    } else {
      this.u32(v % TWO_32)
      this.u32(Math.floor(v / TWO_32))
    }
  }
  bytes(b: Uint8Array | undefined): void {
    if (b === undefined) return this.u32(0)
    this.u32(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }
  /** An "Event list". */
  events(events: WireEvent[]): void {
    this.u32(events.length)
    for (const e of events) {
      this.u64(e.timestamp)
      this.bytes(e.manifest)
      this.bytes(e.writerId)
      this.bytes(e.metadata)
      this.u32(e.tags.length)
      for (const t of e.tags) this.bytes(t)
      this.bytes(e.payload)
    }
  }
}

/** An "Append request": the persistence id, then an "Event list". */
function encodeAppend(persistenceId: string, events: WireEvent[]): Buffer {
  const pid = Buffer.from(persistenceId, 'utf8')
  const w = new WireWriter(4 + pid.length + eventListSize(events))
  w.bytes(pid)
  w.events(events)
  return w.buf
}

/** A "Write list". */
function encodeWrites(writes: { persistenceId: Buffer; firstSequenceNr: number; events: WireEvent[] }[]): Buffer {
  let size = 4
  for (const w of writes) size += 4 + w.persistenceId.length + 8 + eventListSize(w.events)
  const w = new WireWriter(size)
  w.u32(writes.length)
  for (const x of writes) {
    w.bytes(x.persistenceId)
    w.u64(x.firstSequenceNr)
    w.events(x.events)
  }
  return w.buf
}

/** The "Options record": a mask of the fields present, then twelve values (durations in µs). */
const OPTION_FIELDS = ['backend', 'sync', 'syncIntervalMs', 'maxBatchEvents', 'maxBatchBytes', 'maxBatchDelayMs', 'maxEventBytes', 'closeTimeoutMs', 'lmdbMapSize', 'segmentBytes', 'readOnly', 'snapshotCompression'] as const
const CODES: Record<string, Record<string, number>> = { backend: { lmdb: 0, files: 1, segments: 1, memory: 2, postgres: 3 }, sync: { always: 0, interval: 1, never: 2 } }
const MICROS = new Set(['syncIntervalMs', 'maxBatchDelayMs', 'closeTimeoutMs'])

/** Snapshot criteria as the native layer takes them: `[maxSequenceNr, maxTimestamp, minSequenceNr, minTimestamp]`. */
function toNativeCriteria(c: unknown): Float64Array {
  const o = checkObject(c, 'criteria')
  return Float64Array.of(
    seqIn(o.maxSequenceNr, 'maxSequenceNr', Infinity),
    seqIn(o.maxTimestamp, 'maxTimestamp', Infinity),
    seqIn(o.minSequenceNr, 'minSequenceNr', 0),
    seqIn(o.minTimestamp, 'minTimestamp', 0),
  )
}

const OPTION_KEYS = new Set([
  'backend',
  'sync',
  'syncIntervalMs',
  'maxBatchEvents',
  'maxBatchBytes',
  'maxBatchDelayMs',
  'maxEventBytes',
  'closeTimeoutMs',
  'lmdbMapSize',
  'segmentBytes',
  'readOnly',
  'snapshotCompression',
  'bigint',
])

function toNativeOptions(options: unknown): Float64Array {
  const o = checkObject(options, 'options')
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.has(key)) throw new TypeError(`unknown option ${JSON.stringify(key)}`)
  }
  for (const key of ['readOnly', 'snapshotCompression', 'bigint'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') throw new TypeError(`options.${key} must be a boolean`)
  }
  const record = new Float64Array(OPTION_FIELDS.length + 1)
  let present = 0
  OPTION_FIELDS.forEach((key, i) => {
    const v = o[key]
    if (v === undefined) return
    present += 2 ** (i + 1)
    if (typeof v === 'boolean') record[i + 1] = v ? 1 : 0
    // An unknown name gets a code the native decoder refuses with the core's INVALID_ARGUMENT.
    else if (key in CODES) record[i + 1] = CODES[key][checkString(v, `options.${key}`)] ?? 255
    else record[i + 1] = MICROS.has(key) ? Math.round(countIn(v, `options.${key}`, 0) * 1000) : countIn(v, `options.${key}`, 0)
  })
  record[0] = present
  return record
}

// ---- numbers out --------------------------------------------------------------

const TWO_32 = 0x1_0000_0000

/** @internal A u64 given as two u32 halves, as number (range-checked) or bigint. */
export function u64(lo: number, hi: number, big: boolean): number | bigint {
  if (big) return (BigInt(hi) << 32n) | BigInt(lo)
  if (hi < 0x20_0000) return hi * TWO_32 + lo
  throw new RangeError(`value ${(BigInt(hi) << 32n) | BigInt(lo)} exceeds Number.MAX_SAFE_INTEGER; open the journal with { bigint: true }`)
}

function bigOut(value: bigint, big: boolean): number | bigint {
  if (big) return value
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`value ${value} exceeds Number.MAX_SAFE_INTEGER; open the journal with { bigint: true }`)
  return Number(value)
}

const EMPTY = Buffer.alloc(0)
const NO_OPTIONS: Record<string, unknown> = Object.freeze({})
/** Size of a `readSync` slab (see `Journal#slab`), and the free space below which a new one starts. */
const SLAB_BYTES = 16 << 10
const SLAB_MIN_FREE = 2 << 10

/** A synchronous native call's failure as thrown to the caller: a `TidelogError` for `tidelog:<CODE>:...`, a bad argument's TypeError as is. */
function syncError(err: unknown): unknown {
  return fromNative(err)
}

/** The length that marks a string equal to the previous event's in an "Event page". */
const SAME_AS_PREVIOUS = 0xffffffff

/** The last string decoded at one tag position, reused while the bytes are the same. */
class StringCache {
  bytes: Buffer = EMPTY
  value = ''
  get(page: Buffer, at: number, len: number): string {
    const b = this.bytes
    if (b.length === len) {
      let i = 0
      while (i < len && b[i] === page[at + i]) i++
      if (i === len) return this.value
    }
    this.bytes = page.subarray(at, at + len)
    this.value = len === 0 ? '' : page.toString('utf8', at, at + len)
    return this.value
  }
}

/**
 * @internal Decodes an "Event page" (core/docs/wire.md, version 2): `u32 count`, then per
 * event `u64 sequence nr, u64 global offset, u64 timestamp`, persistence id, manifest,
 * writer id, metadata, `u32 tag count` + tags, payload (each `u32 length` + bytes). A
 * persistence id, manifest or writer id equal to the previous event's is sent once, and the
 * length `0xffffffff` stands for it after that.
 */
export function decodePage<N extends number | bigint>(page: Buffer, big: boolean, stream?: string): Event<N>[] {
  return decodePageAt<N>(page, new DataView(page.buffer, page.byteOffset, page.byteLength), 0, big, stream)
}

/**
 * {@link decodePage} of the page at `start` of `page`, read through `view` (over all of `page`).
 * A stream's page holds only that stream's events: with `stream` given, its id needs no decoding.
 *
 * Each event is decoded by a method of its own, not in this function's loop. V8 deoptimizes an
 * optimized function when it meets what it has not seen (a Buffer of another map, a first
 * tagged event) and may then optimize it again only for its loop (OSR), which a one-event read
 * never enters: with the decoding in the loop, `readSync` of one event ran at 1.4–1.6 µs instead
 * of 0.8 in about a third of the processes. A method called once per event is optimized again
 * as a whole.
 */
function decodePageAt<N extends number | bigint>(page: Buffer, view: DataView, start: number, big: boolean, stream: string | undefined): Event<N>[] {
  const count = view.getUint32(start, true)
  const events: Event<N>[] = new Array(count)
  const reader = new PageReader(page, view, start + 4, big, stream)
  for (let k = 0; k < count; k++) events[k] = reader.next(k) as Event<N>
  return events
}

/** The reading position in an "Event page" and the strings its next event may repeat. */
class PageReader {
  persistenceId: string
  manifest = ''
  writerId = ''
  readonly tagCaches: StringCache[] = []

  constructor(
    readonly page: Buffer,
    readonly view: DataView,
    public p: number,
    readonly big: boolean,
    readonly stream: string | undefined,
  ) {
    this.persistenceId = stream ?? ''
  }

  /** Decodes event `k` of the page (its first is 0) and moves past it. */
  next(k: number): Event<number | bigint> {
    const { page, view, big } = this
    let p = this.p
    const sequenceNr = u64(view.getUint32(p, true), view.getUint32(p + 4, true), big)
    const globalOffset = u64(view.getUint32(p + 8, true), view.getUint32(p + 12, true), big)
    const timestamp = u64(view.getUint32(p + 16, true), view.getUint32(p + 20, true), false) as number
    this.p = p + 24
    if (this.stream === undefined) this.persistenceId = this.repeatable(this.persistenceId, k)
    else this.p += view.getUint32(this.p, true) === SAME_AS_PREVIOUS ? 4 : 4 + view.getUint32(this.p, true)
    const manifest = (this.manifest = this.repeatable(this.manifest, k))
    const writerId = (this.writerId = this.repeatable(this.writerId, k))
    p = this.p
    const metaLen = view.getUint32(p, true)
    const metadata = metaLen === 0 ? EMPTY : page.subarray(p + 4, p + 4 + metaLen)
    p += 4 + metaLen
    const tagCount = view.getUint32(p, true)
    p += 4
    const tags: string[] = new Array(tagCount)
    for (let t = 0; t < tagCount; t++) {
      const len = view.getUint32(p, true)
      tags[t] = (this.tagCaches[t] ??= new StringCache()).get(page, p + 4, len)
      p += 4 + len
    }
    const payloadLen = view.getUint32(p, true)
    const payload = page.subarray(p + 4, p + 4 + payloadLen)
    this.p = p + 4 + payloadLen
    return { persistenceId: this.persistenceId, sequenceNr, globalOffset, timestamp, manifest, writerId, tags, metadata, payload }
  }

  /** A "str" at the position (`u32` length + UTF-8), or the previous event's for the repeat mark. */
  repeatable(previous: string, k: number): string {
    const { page, view } = this
    const len = view.getUint32(this.p, true)
    if (len === SAME_AS_PREVIOUS) {
      if (k === 0) throw new Error('malformed page from the native library (a repeat in its first event)')
      this.p += 4
      return previous
    }
    const at = this.p + 4
    this.p = at + len
    return len === 0 ? '' : page.toString('utf8', at, at + len)
  }
}

// ---- completions: a "Completion batch" (core/docs/wire.md) ----------------------

const COMPLETION_WRITES = 1
/** Scopes of a "Page request". */
const STREAM = 0
const TAG = 1
const ALL = 2
/** Size of a "Result record" before its message. */
const RESULT_HEADER = 32

interface Pending {
  resolve: (value: any) => void
  reject: (reason: unknown) => void
  /** The persistence id (append, deleteTo) or the persistence ids of a write list, for error details. */
  context: string | string[] | undefined
}

const asyncDispose: typeof Symbol.asyncDispose = (Symbol as any).asyncDispose ?? Symbol.for('Symbol.asyncDispose')

/**
 * An open journal. Every operation returns a Promise and none blocks the
 * event loop: writes go to the core's group-commit writer and resolve from its
 * completion; reads and snapshot I/O run on the libuv thread pool. The `...Sync`
 * forms ({@link Journal.readSync}, {@link Journal.highestSequenceNrSync},
 * {@link Journal.appendSync}) run on the calling thread instead, for single
 * events and small ranges.
 *
 * `N` is the type of sequence numbers and offsets: `number` by default,
 * `bigint` when opened with `{ bigint: true }`.
 */
export class Journal<N extends number | bigint = number> {
  readonly #native: Native.NativeJournal
  readonly #big: boolean
  readonly #pending = new Map<number, Pending>()
  /** The native fast path for one payload-only event: `(id, persistenceId, payload) => void`. */
  readonly #appendPayload: (id: number, persistenceId: string, payload: Uint8Array) => void
  /** Keeps the event loop alive while operations are pending. */
  readonly #ref: () => void
  /** Lets the process exit when nothing is pending. */
  readonly #unref: () => void
  /** Synchronous reads and appends on the JS thread (see {@link Journal.readSync}). */
  readonly #pageSync: (scope: number, key: string, from: number, to: number, max: number, slab: Buffer, at: number) => number | Buffer
  readonly #highestSequenceNrSync: (persistenceId: string, out: Uint32Array) => void
  readonly #appendPayloadSync: (persistenceId: string, payload: Uint8Array, out: Uint32Array) => void
  readonly #appendSync: (request: Uint8Array, out: Uint32Array) => void
  /** Where the synchronous calls write their numbers: u64s as (low, high) u32 pairs. */
  readonly #out = new Uint32Array(6)
  /**
   * Where `readSync` has its pages written, one after the other (like Node's Buffer pool): the
   * events are views into it, so a small read allocates nothing but its objects. Pages that do
   * not fit the free space come as a Buffer of their own.
   */
  #slab = EMPTY
  #slabView = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0)
  #slabUsed = SLAB_BYTES
  #nextId = 0
  /** Pending subscription batch requests by id (see {@link Journal.subscribeAll}). */
  readonly #tailRequests = new Map<number, { resolve: (page: Buffer | null) => void; reject: (err: unknown) => void }>()
  #tailsStarted = false
  #nextTailId = 0
  /** The journal's snapshot store. */
  readonly snapshots: SnapshotStore<N>

  private constructor(nativeJournal: Native.NativeJournal, big: boolean) {
    this.#native = nativeJournal
    this.#big = big
    this.snapshots = new SnapshotStore<N>(nativeJournal, big)
    ;[this.#appendPayload, this.#ref, this.#unref, this.#pageSync, this.#highestSequenceNrSync, this.#appendPayloadSync, this.#appendSync] =
      nativeJournal.start((batch) => this.#complete(batch))
  }

  /**
   * Opens (creating if needed) the journal in directory `path`, or in the PostgreSQL
   * database of a `postgresql://user:password@host:port/db` URI (`?tidelog_schema=NAME`
   * picks the schema; the URI chooses the backend). Rejects with `LOCKED` when another writer holds it, `CORRUPT` when damage
   * is found before the tail of the log, `UNSUPPORTED_FORMAT` for a newer format.
   */
  static open(path: string, options: OpenOptions & { bigint: true }): Promise<Journal<bigint>>
  static open(path: string, options?: OpenOptions & { bigint?: false }): Promise<Journal<number>>
  static open(path: string, options?: OpenOptions): Promise<Journal<number> | Journal<bigint>>
  static async open(path: string, options?: OpenOptions): Promise<Journal<any>> {
    checkString(path, 'path')
    const nativeOptions = toNativeOptions(options)
    const big = options?.bigint === true
    let nativeJournal: Native.NativeJournal
    try {
      nativeJournal = await native.openJournal(path, nativeOptions)
    } catch (err) {
      throw fromNative(err)
    }
    return new Journal(nativeJournal, big)
  }

  /** The journal directory, or its PostgreSQL URI without the password. */
  get path(): string {
    return this.#native.path
  }

  /** The backend in use. */
  get backend(): Backend {
    return this.#native.backend as Backend
  }

  /** True once {@link Journal.close} was called. */
  get closed(): boolean {
    return this.#native.closed
  }

  /** Registers a pending operation and returns its id and Promise. */
  #submit<T>(context: string | string[] | undefined, send: (id: number) => void): Promise<T> {
    const id = (this.#nextId = (this.#nextId + 1) >>> 0)
    const promise = new Promise<T>((resolve, reject) => {
      if (this.#pending.size === 0) this.#ref()
      this.#pending.set(id, { resolve, reject, context })
    })
    try {
      send(id)
    } catch (err) {
      this.#pending.delete(id)
      if (this.#pending.size === 0) this.#unref()
      throw err instanceof Error && !(err instanceof TidelogError) ? new TypeError(err.message, { cause: err }) : err
    }
    return promise
  }

  /**
   * Decodes the "Result record" at `p`: a receipt (status 0: a, b, c = first and last
   * sequence nr, first global offset) or an error (a sequence conflict carries a = expected,
   * b = actual). Returns the record's end.
   */
  #result(view: DataView, batch: Buffer, p: number, persistenceId: string | undefined, settle: (ok: boolean, value: unknown) => void): number {
    const status = view.getInt32(p, true)
    const messageLen = view.getUint32(p + 4, true)
    const big = this.#big
    const end = p + RESULT_HEADER + messageLen
    try {
      if (status === 0) {
        settle(true, {
          firstSequenceNr: u64(view.getUint32(p + 8, true), view.getUint32(p + 12, true), big) as N,
          lastSequenceNr: u64(view.getUint32(p + 16, true), view.getUint32(p + 20, true), big) as N,
          firstGlobalOffset: u64(view.getUint32(p + 24, true), view.getUint32(p + 28, true), big) as N,
        })
      } else {
        const code = ERROR_CODES[(status & STATUS_CODE_MASK) - 1] ?? 'INTERNAL'
        const details: ErrorDetails = {}
        if (code === 'SEQUENCE_CONFLICT') {
          details.persistenceId = persistenceId
          details.expected = u64(view.getUint32(p + 8, true), view.getUint32(p + 12, true), big)
          details.actual = u64(view.getUint32(p + 16, true), view.getUint32(p + 20, true), big)
        }
        settle(false, createError(code, batch.toString('utf8', p + RESULT_HEADER, end), details, (status & STATUS_RETRYABLE) !== 0))
      }
    } catch (err) {
      settle(false, err) // a RangeError from an unsafe number
    }
    return end
  }

  /** Settles the Promises of a "Completion batch": `u32 count`, then `u64 token, u32 kind` and a result record (kind 0) or a result list (kind 1) each. */
  #complete(batch: Buffer): void {
    const pending = this.#pending
    const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength)
    const count = view.getUint32(0, true)
    let p = 4
    for (let k = 0; k < count; k++) {
      const id = view.getUint32(p, true) // the token; ids are u32
      const kind = view.getUint32(p + 8, true)
      p += 12
      const pend = pending.get(id)
      pending.delete(id)
      if (kind !== COMPLETION_WRITES) {
        p = this.#result(view, batch, p, pend?.context as string | undefined, (ok, v) => (pend === undefined ? undefined : ok ? pend.resolve(v) : pend.reject(v)))
        continue
      }
      const n = view.getUint32(p, true)
      p += 4
      const results: PromiseSettledResult<WriteReceipt<N>>[] = new Array(n)
      const ids = pend?.context as string[] | undefined
      for (let i = 0; i < n; i++) {
        p = this.#result(view, batch, p, ids?.[i], (ok, v) => {
          results[i] = ok ? { status: 'fulfilled', value: v as WriteReceipt<N> } : { status: 'rejected', reason: v }
        })
      }
      pend?.resolve(results)
    }
    if (pending.size === 0) this.#unref()
  }

  /**
   * Appends events to a stream as one atomic write; the journal assigns
   * sequence numbers `highest + 1 ..`. Resolves once committed (and, with the
   * default `sync: 'always'`, on stable storage). Calls made without awaiting
   * are committed in call order and batched into shared group commits.
   */
  append(persistenceId: string, events: EventInput | EventInput[]): Promise<WriteReceipt<N>> {
    checkString(persistenceId, 'persistenceId')
    if (events instanceof Uint8Array) {
      return this.#submit(persistenceId, (id) => this.#appendPayload(id, persistenceId, events))
    }
    const request = encodeAppend(persistenceId, toWireEvents(events))
    return this.#submit(persistenceId, (id) => this.#native.append(id, request))
  }

  /**
   * {@link Journal.append} on the calling thread: returns the receipt once the write is
   * committed (and, with `sync: 'always'`, on stable storage), blocking the event loop
   * meanwhile. When nothing else is queued the core commits it on this thread, with no
   * hand-off to the writer thread: the cheap form for `sync: 'never'` (like lmdb-js
   * `putSync`). Throws a {@link TidelogError} where `append` would reject.
   */
  appendSync(persistenceId: string, events: EventInput | EventInput[]): WriteReceipt<N> {
    checkString(persistenceId, 'persistenceId')
    const out = this.#out
    try {
      if (events instanceof Uint8Array) this.#appendPayloadSync(persistenceId, events, out)
      else this.#appendSync(encodeAppend(persistenceId, toWireEvents(events)), out)
    } catch (err) {
      throw syncError(err)
    }
    const big = this.#big
    return {
      firstSequenceNr: u64(out[0], out[1], big) as N,
      lastSequenceNr: u64(out[2], out[3], big) as N,
      firstGlobalOffset: u64(out[4], out[5], big) as N,
    }
  }

  /**
   * Commits explicit atomic writes in one group commit. Each write's
   * `firstSequenceNr` must be its stream's highest + 1 (counting earlier
   * writes of the same call). Resolves to one settled result per write, in
   * order, like `Promise.allSettled`: a write that does not fit is
   * `{ status: 'rejected', reason: SequenceConflictError }` and fails alone.
   */
  write(writes: AtomicWrite[]): Promise<PromiseSettledResult<WriteReceipt<N>>[]> {
    if (!Array.isArray(writes)) throw new TypeError(`writes must be an array, got ${describe(writes)}`)
    const ids: string[] = []
    const encoded = encodeWrites(
      writes.map((w, i) => {
        const o = checkObject(w, `writes[${i}]`)
        if (!Array.isArray(o.events)) throw new TypeError(`writes[${i}].events must be an array`)
        ids.push(checkString(o.persistenceId, `writes[${i}].persistenceId`))
        return {
          persistenceId: Buffer.from(ids[i], 'utf8'),
          firstSequenceNr: seqIn(o.firstSequenceNr, `writes[${i}].firstSequenceNr`, 0),
          events: o.events.map((e, k) => toWireEvent(e, `writes[${i}].events[${k}]`)),
        }
      }),
    )
    return this.#submit(ids, (id) => this.#native.write(id, encoded))
  }

  /** Deletes the stream's events up to and including `toSequenceNr`; `highestSequenceNr` is unchanged. */
  deleteTo(persistenceId: string, toSequenceNr: SeqInput): Promise<void> {
    checkString(persistenceId, 'persistenceId')
    const to = seqIn(toSequenceNr, 'toSequenceNr', 0)
    return this.#submit(persistenceId, (id) => this.#native.deleteTo(id, persistenceId, to))
  }

  /** Resolves once everything submitted before it is committed and on stable storage, whatever the sync mode. */
  flush(): Promise<void> {
    return this.#submit(undefined, (id) => this.#native.flush(id))
  }

  /** Events of a stream with `from <= sequenceNr <= to`, oldest first, at most `max`. Deleted events are not returned. */
  async read(persistenceId: string, options?: ReadOptions): Promise<Event<N>[]> {
    checkString(persistenceId, 'persistenceId')
    const o = checkObject(options, 'options')
    const from = seqIn(o.from, 'from', 1)
    const to = seqIn(o.to, 'to', Infinity)
    const max = countIn(o.max, 'max', Infinity)
    let page: Buffer
    try {
      page = await this.#native.page(STREAM, persistenceId, from, to, max)
    } catch (err) {
      throw fromNative(err)
    }
    return decodePage<N>(page, this.#big, persistenceId)
  }

  /**
   * {@link Journal.read} on the calling thread, over one read transaction: for single events
   * and small ranges, where a hop to the thread pool costs more than the read (as lmdb-js
   * `getSync`). It blocks the event loop for the whole read, so keep `max` small and use
   * `read`/`replay` for long ranges. Like every read it observes the writes to the stream
   * issued before it, awaited or not (it waits for their outcome).
   */
  readSync(persistenceId: string, options?: ReadOptions): Event<N>[] {
    checkString(persistenceId, 'persistenceId')
    const o = options === undefined ? NO_OPTIONS : checkObject(options, 'options')
    const from = seqIn(o.from, 'from', 1)
    const to = seqIn(o.to, 'to', Infinity)
    const max = countIn(o.max, 'max', Infinity)
    if (SLAB_BYTES - this.#slabUsed < SLAB_MIN_FREE) this.#newSlab()
    const at = this.#slabUsed
    let read: number | Buffer
    try {
      read = this.#pageSync(STREAM, persistenceId, from, to, max, this.#slab, at)
    } catch (err) {
      throw syncError(err)
    }
    // A page too large for the slab's free space came as a Buffer of its own.
    if (typeof read !== 'number') return decodePage<N>(read, this.#big, persistenceId)
    this.#slabUsed = (at + read + 7) & ~7
    return decodePageAt<N>(this.#slab, this.#slabView, at, this.#big, persistenceId)
  }

  /** Starts a new slab; the old one lives on while events read into it are referenced. */
  #newSlab(): void {
    // Zeroed: an event's `payload.buffer` shows the whole slab, which must hold nothing but pages.
    this.#slab = Buffer.alloc(SLAB_BYTES)
    this.#slabView = new DataView(this.#slab.buffer, this.#slab.byteOffset, SLAB_BYTES)
    this.#slabUsed = 0
  }

  /**
   * Iterates over a stream page by page (one native call per page, off the
   * event loop): `for await (const event of journal.replay(id)) { ... }`.
   */
  async *replay(persistenceId: string, options?: ReplayOptions): AsyncIterableIterator<Event<N>> {
    checkString(persistenceId, 'persistenceId')
    const o = checkObject(options, 'options')
    let from = seqIn(o.from, 'from', 1)
    const to = seqIn(o.to, 'to', Infinity)
    const pageSize = countIn(o.pageSize, 'pageSize', 4096) || 1
    const fetch = (start: number): Promise<Buffer> => {
      const page = this.#native.page(STREAM, persistenceId, start, to, pageSize)
      page.catch(() => {}) // a prefetched page the consumer never asks for must not be an unhandled rejection
      return page
    }
    // The next page is read on the thread pool while the consumer handles this one.
    let next = fetch(from)
    for (;;) {
      let page: Buffer
      try {
        page = await next
      } catch (err) {
        throw fromNative(err)
      }
      const events = decodePage<N>(page, this.#big)
      const done = events.length < pageSize || (from = Number(events[events.length - 1].sequenceNr) + 1) > to
      if (!done) next = fetch(from)
      yield* events
      if (done) return
    }
  }

  /**
   * Iterates over the events carrying `tag`, in commit order, page by page
   * (for projections): `for await (const e of journal.replayByTag('cart')) { ... }`.
   * Ends at the last event committed when each page was read.
   */
  replayByTag(tag: string, options?: OffsetReplayOptions): AsyncIterableIterator<Event<N>> {
    checkString(tag, 'tag')
    return this.#offsetPages(options, (from, max) => this.#native.page(TAG, tag, from, 0, max))
  }

  /** Iterates over every live event in commit order, page by page. */
  replayAll(options?: OffsetReplayOptions): AsyncIterableIterator<Event<N>> {
    return this.#offsetPages(options, (from, max) => this.#native.page(ALL, '', from, 0, max))
  }

  async *#offsetPages(options: OffsetReplayOptions | undefined, read: (from: number, max: number) => Promise<Buffer>): AsyncIterableIterator<Event<N>> {
    const o = checkObject(options, 'options')
    let from = seqIn(o.fromOffset, 'fromOffset', 0)
    const pageSize = countIn(o.pageSize, 'pageSize', 4096) || 1
    const fetch = (start: number): Promise<Buffer> => {
      const page = read(start, pageSize)
      page.catch(() => {}) // see replay()
      return page
    }
    let next = fetch(from)
    for (;;) {
      let page: Buffer
      try {
        page = await next
      } catch (err) {
        throw fromNative(err)
      }
      const events = decodePage<N>(page, this.#big)
      const done = events.length < pageSize
      if (!done) {
        from = Number(events[events.length - 1].globalOffset) + 1
        next = fetch(from)
      }
      yield* events
      if (done) return
    }
  }

  /**
   * Follows every event live, from global offset `from` (default: the beginning):
   * `for await (const event of journal.subscribeAll({ from, signal })) { ... }`.
   *
   * It catches up from storage, then yields each newly committed event, in commit order,
   * exactly once; the journal's writer wakes it after each group commit (no polling), and
   * each batch crosses from native code once. The iteration ends when the journal closes;
   * `break` (or `return()`) ends the subscription and frees it; aborting `signal` ends it
   * with `signal.reason`. While it waits for events it keeps the process alive, like a
   * socket read; an iterator nobody is waiting on does not.
   */
  subscribeAll(options?: SubscribeOptions): AsyncIterableIterator<Event<N>> {
    return this.#subscribe(ALL, '', options)
  }

  /** Follows the events carrying `tag` live, from global offset `from` (see {@link Journal.subscribeAll}). */
  subscribeTag(tag: string, options?: SubscribeOptions): AsyncIterableIterator<Event<N>> {
    checkString(tag, 'tag')
    return this.#subscribe(TAG, tag, options)
  }

  /** Follows one stream live, from sequence number `from` (see {@link Journal.subscribeAll}). */
  subscribeStream(persistenceId: string, options?: SubscribeOptions): AsyncIterableIterator<Event<N>> {
    checkString(persistenceId, 'persistenceId')
    return this.#subscribe(STREAM, persistenceId, options)
  }

  #subscribe(scope: number, key: string, options: SubscribeOptions | undefined): AsyncIterableIterator<Event<N>> {
    const o = checkObject(options, 'options')
    const from = seqIn(o.from, 'from', 0)
    const batchSize = countIn(o.batchSize, 'batchSize', 1000) || 1
    const signal = o.signal as AbortSignal | undefined
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal')
    signal?.throwIfAborted()
    if (!this.#tailsStarted) {
      this.#native.startTails((batch) => this.#tailBatch(batch))
      this.#tailsStarted = true
    }
    let subscription: Native.NativeSubscription
    try {
      subscription = this.#native.subscribe(scope, key, from)
    } catch (err) {
      throw fromNative(err)
    }
    return this.#follow(subscription, batchSize, signal)
  }

  async *#follow(subscription: Native.NativeSubscription, batchSize: number, signal: AbortSignal | undefined): AsyncIterableIterator<Event<N>> {
    const onAbort = (): void => subscription.cancel()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      for (;;) {
        const page = await this.#tailRequest(subscription, batchSize)
        if (page === null) {
          signal?.throwIfAborted()
          return
        }
        yield* decodePage<N>(page, this.#big)
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      subscription.cancel()
    }
  }

  /** One batch: an event page, or `null` at the end of the subscription (`CLOSED`). */
  #tailRequest(subscription: Native.NativeSubscription, max: number): Promise<Buffer | null> {
    const id = (this.#nextTailId = (this.#nextTailId + 1) >>> 0)
    const requests = this.#tailRequests
    const promise = new Promise<Buffer | null>((resolve, reject) => {
      if (requests.size === 0) this.#native.tailsRef()
      requests.set(id, { resolve, reject })
    })
    try {
      subscription.request(id, max)
    } catch (err) {
      requests.delete(id)
      if (requests.size === 0) this.#native.tailsUnref()
      throw fromNative(err)
    }
    return promise
  }

  /** Settles the requests of a "Subscription batch": `u32 count`, then `u64 token, i32 status` and `bytes` page (status 0) or `str` message each. */
  #tailBatch(batch: Buffer): void {
    const requests = this.#tailRequests
    const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength)
    const count = view.getUint32(0, true)
    let p = 4
    for (let k = 0; k < count; k++) {
      const id = view.getUint32(p, true) // the token; ids are u32
      const status = view.getInt32(p + 8, true)
      const len = view.getUint32(p + 12, true)
      const start = p + 16
      p = start + len
      const request = requests.get(id)
      requests.delete(id)
      if (request === undefined) continue
      if (status === 0) {
        request.resolve(batch.subarray(start, p))
      } else {
        const code = ERROR_CODES[(status & STATUS_CODE_MASK) - 1] ?? 'INTERNAL'
        if (code === 'CLOSED') request.resolve(null)
        else request.reject(createError(code, batch.toString('utf8', start, p), {}, (status & STATUS_RETRYABLE) !== 0))
      }
    }
    if (requests.size === 0) this.#native.tailsUnref()
  }

  /** Events carrying `tag` with `globalOffset >= fromOffset`, in commit order, at most `max`. */
  async eventsByTag(tag: string, options?: OffsetOptions): Promise<Event<N>[]> {
    checkString(tag, 'tag')
    const o = checkObject(options, 'options')
    try {
      return decodePage<N>(await this.#native.page(TAG, tag, seqIn(o.fromOffset, 'fromOffset', 0), 0, countIn(o.max, 'max', Infinity)), this.#big)
    } catch (err) {
      throw fromNative(err)
    }
  }

  /** Every live event with `globalOffset >= fromOffset`, in commit order, at most `max`. */
  async allEvents(options?: OffsetOptions): Promise<Event<N>[]> {
    const o = checkObject(options, 'options')
    try {
      return decodePage<N>(await this.#native.page(ALL, '', seqIn(o.fromOffset, 'fromOffset', 0), 0, countIn(o.max, 'max', Infinity)), this.#big)
    } catch (err) {
      throw fromNative(err)
    }
  }

  /** Highest sequence number ever committed for the stream (0 if none); survives `deleteTo` and reopening. */
  async highestSequenceNr(persistenceId: string): Promise<N> {
    checkString(persistenceId, 'persistenceId')
    try {
      return bigOut(await this.#native.highestSequenceNr(persistenceId), this.#big) as N
    } catch (err) {
      throw fromNative(err)
    }
  }

  /** {@link Journal.highestSequenceNr} on the calling thread (see {@link Journal.readSync}). */
  highestSequenceNrSync(persistenceId: string): N {
    checkString(persistenceId, 'persistenceId')
    const out = this.#out
    try {
      this.#highestSequenceNrSync(persistenceId, out)
    } catch (err) {
      throw syncError(err)
    }
    return u64(out[0], out[1], this.#big) as N
  }

  /**
   * The global offset the next committed event will get (1 for an empty journal): where a "current" read of
   * `allEvents` or `eventsByTag` stops while writes continue. Offsets of deleted events are never given out again.
   */
  async nextGlobalOffset(): Promise<N> {
    try {
      return bigOut(await this.#native.nextGlobalOffset(), this.#big) as N
    } catch (err) {
      throw fromNative(err)
    }
  }

  /** Every persistence id ever written, sorted. */
  async persistenceIds(): Promise<string[]> {
    try {
      return await this.#native.persistenceIds()
    } catch (err) {
      throw fromNative(err)
    }
  }

  /** Current metrics (in-memory counters; does not touch storage). */
  metrics(): Metrics {
    const m = this.#native.metrics()
    return {
      appends: m[0],
      events: m[1],
      bytes: m[2],
      batches: m[3],
      fsyncs: m[4],
      failedWrites: m[5],
      sequenceConflicts: m[6],
      repairedTails: m[7],
      repairedBytes: m[8],
      skippedCorruptSnapshots: m[9],
      lmdbMapResizes: m[10],
      segmentsReclaimed: m[11],
      commitLatencyUs: { count: m[12], sum: m[13], max: m[14] },
      batchEvents: { count: m[15], sum: m[16], max: m[17] },
    }
  }

  /** Current metrics in the Prometheus text format. */
  metricsPrometheus(): string {
    return this.#native.metricsPrometheus()
  }

  /**
   * Stops intake, commits what is queued within `closeTimeoutMs`, rejects
   * whatever is left with `CLOSED`, flushes and releases the lock. Idempotent.
   * Any later operation rejects with `ClosedError`.
   */
  async close(): Promise<void> {
    try {
      await this.#native.close()
    } catch (err) {
      throw fromNative(err)
    }
  }

  /** `await using journal = await Journal.open(...)` closes it at the end of the scope. */
  [asyncDispose](): Promise<void> {
    return this.close()
  }
}

/**
 * The snapshots of a journal (`journal.snapshots`). All methods run their
 * file I/O on the libuv thread pool. A snapshot whose checksum fails is never
 * returned: `load` skips it and returns the next older match.
 */
export class SnapshotStore<N extends number | bigint = number> {
  readonly #native: Native.NativeJournal
  readonly #big: boolean

  /** @internal */
  constructor(nativeJournal: Native.NativeJournal, big: boolean) {
    this.#native = nativeJournal
    this.#big = big
  }

  async #call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f()
    } catch (err) {
      throw fromNative(err)
    }
  }

  /** Stores a snapshot atomically and durably; one with the same sequence number is replaced. */
  save(snapshot: SnapshotInput): Promise<void> {
    const s = checkObject(snapshot, 'snapshot')
    const pid = Buffer.from(checkString(s.persistenceId, 'snapshot.persistenceId'), 'utf8')
    const sequenceNr = seqIn(s.sequenceNr, 'snapshot.sequenceNr', 0)
    const timestamp = seqIn(s.timestamp, 'snapshot.timestamp', Date.now())
    const state = checkBytes(s.state, 'snapshot.state')
    if (s.sequenceNr === undefined) throw new TypeError('snapshot.sequenceNr is required')
    const manifest = s.manifest === undefined ? undefined : Buffer.from(checkString(s.manifest, 'snapshot.manifest'), 'utf8')
    const metadata = s.metadata === undefined ? undefined : checkBytes(s.metadata, 'snapshot.metadata')
    // "Snapshot to save" (core/docs/wire.md): the persistence id, then a "Snapshot".
    const w = new WireWriter(4 + pid.length + 16 + 4 + (manifest?.length ?? 0) + 4 + (metadata?.length ?? 0) + 4 + state.length)
    w.bytes(pid)
    w.u64(sequenceNr)
    w.u64(timestamp)
    w.bytes(manifest)
    w.bytes(metadata)
    w.bytes(state)
    return this.#call(() => this.#native.snapshotSave(w.buf))
  }

  /** The newest snapshot (highest sequence number, then latest timestamp) matching `criteria`, or `null`. */
  async load(persistenceId: string, criteria?: SnapshotCriteria): Promise<Snapshot<N> | null> {
    checkString(persistenceId, 'persistenceId')
    const c = toNativeCriteria(criteria)
    const s = await this.#call(() => this.#native.snapshotLoad(persistenceId, c))
    if (s === null || s === undefined) return null
    // A "Snapshot" (core/docs/wire.md): u64 sequence nr, u64 timestamp, str manifest, bytes metadata, bytes state.
    const sequenceNr = u64(s.readUInt32LE(0), s.readUInt32LE(4), this.#big) as N
    const timestamp = u64(s.readUInt32LE(8), s.readUInt32LE(12), false) as number
    let p = 16
    const field = (): Buffer => {
      const len = s.readUInt32LE(p)
      p += 4 + len
      return s.subarray(p - len, p)
    }
    const manifest = field().toString('utf8')
    const metadata = field()
    return { persistenceId, sequenceNr, timestamp, manifest, metadata, state: field() }
  }

  /** The stream's snapshots, oldest first, without their state. */
  async list(persistenceId: string): Promise<SnapshotInfo<N>[]> {
    checkString(persistenceId, 'persistenceId')
    const list = await this.#call(() => this.#native.snapshotList(persistenceId))
    // A "Snapshot list" (core/docs/wire.md): u32 count, then u64 sequence nr, u64 timestamp each.
    const infos: SnapshotInfo<N>[] = new Array(list.readUInt32LE(0))
    for (let i = 0, p = 4; i < infos.length; i++, p += 16) {
      infos[i] = { sequenceNr: u64(list.readUInt32LE(p), list.readUInt32LE(p + 4), this.#big) as N, timestamp: u64(list.readUInt32LE(p + 8), list.readUInt32LE(p + 12), false) as number }
    }
    return infos
  }

  /** Deletes the snapshot with this sequence number; resolves to whether one existed. */
  delete(persistenceId: string, sequenceNr: SeqInput): Promise<boolean> {
    checkString(persistenceId, 'persistenceId')
    const seq = seqIn(sequenceNr, 'sequenceNr', 0)
    return this.#call(() => this.#native.snapshotDelete(persistenceId, seq))
  }

  /** Deletes every snapshot matching `criteria`; resolves to how many. */
  deleteMatching(persistenceId: string, criteria: SnapshotCriteria): Promise<number> {
    checkString(persistenceId, 'persistenceId')
    const c = toNativeCriteria(criteria)
    return this.#call(() => this.#native.snapshotDeleteMatching(persistenceId, c))
  }

  /** Keeps the `keepLastN` newest snapshots of a stream and deletes the rest; resolves to how many were deleted. */
  prune(persistenceId: string, keepLastN: number): Promise<number> {
    checkString(persistenceId, 'persistenceId')
    const keep = countIn(keepLastN, 'keepLastN', 0)
    return this.#call(() => this.#native.snapshotPrune(persistenceId, keep))
  }

  /** Every persistence id that has at least one snapshot. */
  persistenceIds(): Promise<string[]> {
    return this.#call(() => this.#native.snapshotPersistenceIds())
  }
}

/** A failure's status: its code in the low bits, the retryable flag in bit 16 (core/docs/wire.md, "Retryable flag"). */
const STATUS_RETRYABLE = 0x10000
const STATUS_CODE_MASK = 0xffff
/** Error codes by status: status `s` (1..) is `ERROR_CODES[s - 1]` (core/docs/wire.md, "Status codes"). */
const ERROR_CODES: string[] = native.errorCodes()

/** @internal Every error code the native addon can report (for tests). */
export function nativeErrorCodes(): string[] {
  return native.errorCodes()
}
