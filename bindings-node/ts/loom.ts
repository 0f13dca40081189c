/**
 * `tidelog/loom`: a durable, embedded `JournalStore` for Loom actors.
 *
 * Loom (`@certo-ventures/loom`) is not published on the npm registry, so it
 * cannot be a dependency: the types below are declared from Loom's current
 * public shape (its `JournalStore` with six async methods, its `JournalEntry`
 * union and `JournalSnapshot`), and the tests check that a
 * {@link TidelogJournalStore} is assignable to a separately declared copy of
 * Loom's interface without a type argument. TypeScript's structural typing
 * makes it assignable wherever Loom expects its own `JournalStore`.
 *
 * Mapping: each actor is a persistence id (`prefix + actorId`); each entry one
 * event (manifest = the entry's `type`, payload = its JSON); the actor's
 * snapshot is a Tidelog snapshot at the stream's highest sequence number whose
 * state bytes are the JSON of `{ state, cursor, timestamp }`.
 *
 * @packageDocumentation
 */
import { Journal, type OpenOptions } from './index'

// ---- Loom's types, declared from its current public shape ---------------------

/** One change of an immer patch, as Loom journals state changes (`op` and `path`, `value` for add and replace). */
export interface StatePatch {
  op: 'replace' | 'remove' | 'add'
  path: (string | number)[]
  value?: any
}
/** Loom: the actor's state changed, as immer patches and their inverses. */
export interface StatePatchesEntry {
  type: 'state_patches'
  patches: StatePatch[]
  inversePatches: StatePatch[]
  timestamp: number
}
/** Loom: an activity was scheduled. */
export interface ActivityScheduledEntry {
  type: 'activity_scheduled'
  activityId: string
  name: string
  input: unknown
}
/** Loom: an activity completed. */
export interface ActivityCompletedEntry {
  type: 'activity_completed'
  activityId: string
  result: unknown
}
/** Loom: an activity failed. */
export interface ActivityFailedEntry {
  type: 'activity_failed'
  activityId: string
  error: string
}
/** Loom: a child actor was spawned. */
export interface ChildSpawnedEntry {
  type: 'child_spawned'
  childId: string
  actorType: string
  input: unknown
}
/** Loom: an event was received. */
export interface EventReceivedEntry {
  type: 'event_received'
  eventType: string
  data: unknown
}
/** Loom: the actor suspended. */
export interface SuspendedEntry {
  type: 'suspended'
  reason: string
}
/** Loom: a message invoked the actor. */
export interface InvocationJournalEntry {
  type: 'invocation'
  messageId: string
  timestamp: string
  payload: unknown
  metadata?: Record<string, unknown>
}
/** Loom: a decision and the reasons for it. */
export interface DecisionJournalEntry {
  type: 'decision_made'
  decisionId: string
  timestamp: number
  decisionType: 'exception' | 'approval' | 'escalation' | 'override' | 'policy_application' | 'synthesis'
  rationale: string
  reasoning?: string[]
  inputs: Array<{ system: string; entity: string; query: string; result: any; relevance: string; retrievedAt: number }>
  outcome: any
  policy?: { id: string; version: string; rule: string }
  precedents?: string[]
  isException: boolean
  exceptionReason?: string
  approvers?: Array<{ userId: string; role: string; approvedAt: number; comment?: string }>
  context: Record<string, any>
}
/** Loom: a system was consulted for a decision. */
export interface ContextGatheredEntry {
  type: 'context_gathered'
  decisionId: string
  system: string
  entity: string
  query: string
  result: any
  relevance: string
  retrievedAt: number
}
/** Loom: a past decision informed this one. */
export interface PrecedentReferencedEntry {
  type: 'precedent_referenced'
  decisionId: string
  precedentId: string
  relevance: string
  retrievedAt: number
}
/** Loom: what a decision actually led to. */
export interface DecisionOutcomeEntry {
  type: 'decision_outcome_tracked'
  decisionId: string
  wasCorrect: boolean
  actualResult?: any
  feedback?: string
  trackedAt: number
  trackedBy: string
}

/**
 * One entry of an actor's journal, as current Loom defines it: a
 * JSON-serialisable union discriminated on `type`.
 */
export type JournalEntry =
  | StatePatchesEntry
  | ActivityScheduledEntry
  | ActivityCompletedEntry
  | ActivityFailedEntry
  | ChildSpawnedEntry
  | EventReceivedEntry
  | SuspendedEntry
  | InvocationJournalEntry
  | DecisionJournalEntry
  | ContextGatheredEntry
  | PrecedentReferencedEntry
  | DecisionOutcomeEntry

/** An actor's snapshot: its state, the journal position the state covers, and when it was taken. */
export interface JournalSnapshot {
  /** A JSON object. */
  state: Record<string, unknown>
  /** The journal position the state covers. */
  cursor: number
  /** Epoch milliseconds. */
  timestamp: number
}

/** Any JSON entry with a string `type`: what the store can persist. */
export interface EntryLike {
  type: string
}

/**
 * Loom's storage interface for actor journals. `E` is the entry type; it
 * defaults to current Loom's entry union above, so a store is assignable to
 * Loom's own `JournalStore` without a type argument. For another entry union
 * (an older Loom's, or your own) use `TidelogJournalStore<YourEntryUnion>`: any
 * JSON entry with a string `type` is stored.
 */
export interface JournalStore<E extends EntryLike = JournalEntry> {
  /** Appends one entry to the actor's journal; resolves once stored. */
  appendEntry(actorId: string, entry: E): Promise<void>
  /** Every retained entry of the actor, oldest first; `[]` when none. */
  readEntries(actorId: string): Promise<E[]>
  /** Stores the actor's snapshot, replacing the previous one. */
  saveSnapshot(actorId: string, snapshot: JournalSnapshot): Promise<void>
  /** The actor's snapshot, or `null`. */
  getLatestSnapshot(actorId: string): Promise<JournalSnapshot | null>
  /** Drops the first `beforeCursor` of the currently retained entries. */
  trimEntries(actorId: string, beforeCursor: number): Promise<void>
  /** Removes the actor's entries and its snapshot. */
  deleteJournal(actorId: string): Promise<void>
}

// ---- the adapter ----------------------------------------------------------------

/** Options of {@link TidelogJournalStore}. */
export interface TidelogJournalStoreOptions {
  /**
   * Prepended to every actor id to form the persistence id (default `''`),
   * so one journal can hold Loom actors beside other streams.
   */
  prefix?: string
}

/** Options of {@link TidelogJournalStore.open}: journal options plus store options. */
export type TidelogJournalStoreOpenOptions = Omit<OpenOptions, 'bigint'> & TidelogJournalStoreOptions

/**
 * Counts for monitoring: the fields of `RedisJournalStore.getStats()`
 * (`totalStreams`, `totalSnapshots`) and of `InMemoryJournalStore.getStats()`
 * (`actors`, `totalEntries`, `snapshots`).
 */
export interface JournalStoreStats {
  /** Actors (under the prefix) that ever had entries. */
  totalStreams: number
  /** Actors (under the prefix) that have a snapshot. */
  totalSnapshots: number
  /** Actors (under the prefix) with at least one retained entry. */
  actors: number
  /** Retained entries over all those actors. */
  totalEntries: number
  /** Same as `totalSnapshots`. */
  snapshots: number
}

const SNAPSHOT_MANIFEST = 'loom.snapshot'

/** Stores whose journal they opened themselves, and so close. */
const ownedJournals = new WeakSet<object>()

const asyncDispose: typeof Symbol.asyncDispose = (Symbol as any).asyncDispose ?? Symbol.for('Symbol.asyncDispose')

function checkActorId(actorId: unknown): string {
  // Same check and message as Loom's RedisJournalStore.
  if (typeof actorId !== 'string' || actorId.trim() === '') throw new Error('actorId is required')
  return actorId
}

/**
 * A Loom `JournalStore` on a Tidelog journal: embedded, durable (with the
 * default `sync: 'always'`, an `appendEntry` that resolved survives a crash),
 * and cheap under many concurrent un-awaited appends (they share group
 * commits and keep per-actor call order).
 *
 * ```ts
 * const journalStore = await TidelogJournalStore.open('./loom-journal')
 * // Loom's ActorRuntime takes the journal store as its fifth argument:
 * // new ActorRuntime(stateStore, messageQueue, lockManager, tracer, journalStore)
 * ```
 *
 * Issue order: like Loom's own stores, a call observes every earlier call for
 * the same actor even when that call was not awaited (an `appendEntry` fired
 * and forgotten is seen by the `readEntries`, `trimEntries`, `saveSnapshot` or
 * `deleteJournal` that follows it).
 */
export class TidelogJournalStore<E extends EntryLike = JournalEntry> implements JournalStore<E> {
  /** The underlying journal. */
  readonly journal: Journal<number>
  readonly #prefix: string

  /**
   * Wraps an open journal. The store does not close a journal passed in;
   * use {@link TidelogJournalStore.open} for one it owns.
   */
  constructor(journal: Journal<number>, options: TidelogJournalStoreOptions = {}) {
    if (!(journal instanceof Journal)) throw new TypeError('journal must be a tidelog Journal')
    const prefix = options.prefix ?? ''
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string')
    this.journal = journal
    this.#prefix = prefix
  }

  /** Opens (creating if needed) a journal in directory `path` (or at a `postgresql://` URI) and a store that owns it. */
  static async open<E extends EntryLike = JournalEntry>(path: string, options: TidelogJournalStoreOpenOptions = {}): Promise<TidelogJournalStore<E>> {
    const { prefix, ...journalOptions } = options
    const journal = await Journal.open(path, journalOptions)
    const store = new TidelogJournalStore<E>(journal, { prefix })
    ownedJournals.add(store)
    return store
  }

  #pid(actorId: unknown): string {
    return this.#prefix + checkActorId(actorId)
  }

  async appendEntry(actorId: string, entry: E): Promise<void> {
    const pid = this.#pid(actorId)
    if (entry === null || typeof entry !== 'object' || typeof (entry as { type?: unknown }).type !== 'string') {
      throw new TypeError('entry must be an object with a string type')
    }
    const payload = Buffer.from(JSON.stringify(entry), 'utf8')
    await this.journal.append(pid, { payload, manifest: entry.type })
  }

  async readEntries(actorId: string): Promise<E[]> {
    const events = await this.journal.read(this.#pid(actorId))
    return events.map((e) => {
      try {
        return JSON.parse(e.payload.toString('utf8')) as E
      } catch {
        // Checksums make this unreachable for entries this store wrote; same message as Loom's Redis store.
        throw new Error(`Invalid journal entry data for actor ${actorId}`)
      }
    })
  }

  async saveSnapshot(actorId: string, snapshot: JournalSnapshot): Promise<void> {
    const pid = this.#pid(actorId)
    if (snapshot === null || typeof snapshot !== 'object') throw new TypeError('snapshot must be an object')
    const sequenceNr = await this.journal.highestSequenceNr(pid)
    const ts = snapshot.timestamp
    const timestamp = Number.isSafeInteger(ts) && ts >= 0 ? ts : Date.now()
    const state = Buffer.from(JSON.stringify({ state: snapshot.state, cursor: snapshot.cursor, timestamp: snapshot.timestamp }), 'utf8')
    await this.journal.snapshots.save({ persistenceId: pid, sequenceNr, timestamp, state, manifest: SNAPSHOT_MANIFEST })
    // One snapshot per actor: the one just saved is the newest (its sequence
    // number is the stream's highest, which never decreases), keep only it.
    await this.journal.snapshots.prune(pid, 1)
  }

  async getLatestSnapshot(actorId: string): Promise<JournalSnapshot | null> {
    const s = await this.journal.snapshots.load(this.#pid(actorId))
    if (s === null) return null
    try {
      const parsed = JSON.parse(s.state.toString('utf8')) as JournalSnapshot
      if (parsed === null || typeof parsed !== 'object') return null
      return parsed
    } catch {
      return null // unreadable: treated as absent, forcing a full replay
    }
  }

  async trimEntries(actorId: string, beforeCursor: number): Promise<void> {
    const pid = this.#pid(actorId)
    if (typeof beforeCursor !== 'number' || Number.isNaN(beforeCursor)) throw new TypeError('beforeCursor must be a number')
    if (beforeCursor < 0) throw new Error('beforeCursor must be non-negative')
    const count = Math.floor(beforeCursor)
    if (count === 0) return
    const [first] = await this.journal.read(pid, { max: 1 })
    if (first === undefined) return
    const highest = await this.journal.highestSequenceNr(pid)
    // Retained entries are first.sequenceNr ..= highest (deletion only removes a prefix).
    const to = Math.min(first.sequenceNr - 1 + count, highest)
    await this.journal.deleteTo(pid, to)
  }

  async deleteJournal(actorId: string): Promise<void> {
    const pid = this.#pid(actorId)
    const highest = await this.journal.highestSequenceNr(pid)
    if (highest > 0) await this.journal.deleteTo(pid, highest)
    await this.journal.snapshots.deleteMatching(pid, {})
  }

  /** Counts for monitoring (reads one event per actor: meant for dashboards, not hot paths). */
  async getStats(): Promise<JournalStoreStats> {
    const [allStreams, allSnapshots] = await Promise.all([this.journal.persistenceIds(), this.journal.snapshots.persistenceIds()])
    const streams = allStreams.filter((id) => id.startsWith(this.#prefix))
    const snapshots = allSnapshots.filter((id) => id.startsWith(this.#prefix)).length
    let actors = 0
    let totalEntries = 0
    for (const pid of streams) {
      const [first] = await this.journal.read(pid, { max: 1 })
      if (first === undefined) continue
      actors++
      totalEntries += (await this.journal.highestSequenceNr(pid)) - first.sequenceNr + 1
    }
    return { totalStreams: streams.length, totalSnapshots: snapshots, actors, totalEntries, snapshots }
  }

  /** Closes the journal if this store opened it (see {@link TidelogJournalStore.open}). */
  async close(): Promise<void> {
    if (ownedJournals.has(this)) await this.journal.close()
  }

  /** `await using store = await TidelogJournalStore.open(...)`. */
  [asyncDispose](): Promise<void> {
    return this.close()
  }
}
