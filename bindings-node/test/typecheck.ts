// Compiled with `tsc --noEmit -p test/tsconfig.json` by test.sh: the public
// types must accept this code (and reject the lines marked @ts-expect-error).
import { Journal, type Event, type WriteReceipt, TidelogError, SequenceConflictError } from 'tidelog'
import { TidelogJournalStore, type JournalStore, type JournalEntry, type JournalSnapshot } from 'tidelog/loom'
import { LoomActorRuntime, type LoomJournalStore } from './loom-shape'

export async function usage(): Promise<void> {
  const journal = await Journal.open('./data', { backend: 'files', sync: 'always' })
  const receipt: WriteReceipt = await journal.append('cart-1', [{ payload: Buffer.from('x'), tags: ['cart'] }, 'y'])
  const n: number = receipt.lastSequenceNr
  const events: Event[] = await journal.read('cart-1', { from: n })
  for await (const e of journal.replay('cart-1')) e.payload.toString()
  const one: Event[] = journal.readSync('cart-1', { from: n, to: n })
  const highest: number = journal.highestSequenceNrSync('cart-1')
  const syncReceipt: WriteReceipt = journal.appendSync('cart-1', Buffer.from('z'))
  // @ts-expect-error readSync returns events, not a Promise
  void journal.readSync('cart-1').then
  const big = await Journal.open('./data2', { bigint: true })
  const b: bigint = (await big.append('a', 'x')).firstSequenceNr
  const bigHighest: bigint = big.highestSequenceNrSync('a') + big.appendSync('a', 'x').lastSequenceNr
  // @ts-expect-error sequence numbers are bigint in bigint mode
  const wrong: number = (await big.append('a', 'x')).firstSequenceNr
  const results = await journal.write([{ persistenceId: 'a', firstSequenceNr: 1, events: ['x'] }])
  for (const r of results) if (r.status === 'rejected' && r.reason instanceof SequenceConflictError) r.reason.expected
  try {
    await journal.flush()
  } catch (err) {
    if (err instanceof TidelogError && err.code === 'LOCKED') throw err
  }
  // @ts-expect-error unknown backend
  await Journal.open('./x', { backend: 'redis' })
  await journal.snapshots.save({ persistenceId: 'cart-1', sequenceNr: n, state: 'state' })
  const snap = await journal.snapshots.load('cart-1', { maxSequenceNr: 10 })
  snap?.state.toString()
  await journal.close()
  void [events, b, wrong, one, highest, syncReceipt, bigHighest]
}

// The adapter implements Loom's interface as declared from Loom's contract.
export async function loom(): Promise<void> {
  const store: JournalStore = await TidelogJournalStore.open('./loom')
  const entry: JournalEntry = { type: 'activity_scheduled', activityId: 'a', name: 'n', input: {} }
  await store.appendEntry('actor', entry)
  // Assignable to current Loom's own JournalStore without a type argument, and wired as Loom's runtime takes it.
  const loomStore: LoomJournalStore = await TidelogJournalStore.open('./loom')
  await loomStore.appendEntry('actor', { type: 'state_patches', patches: [{ op: 'replace', path: ['count'], value: 1 }], inversePatches: [], timestamp: 1 })
  new LoomActorRuntime({}, {}, {}, undefined, await TidelogJournalStore.open('./loom'))
  const snapshot: JournalSnapshot | null = await store.getLatestSnapshot('actor')
  // @ts-expect-error entries are a discriminated union
  await store.appendEntry('actor', { type: 'nonsense' })
  void snapshot
}

// Subscriptions: for await with an AbortSignal; events typed by the journal's number type.
export async function subscriptions(): Promise<void> {
  const journal = await Journal.open('./sub')
  const controller = new AbortController()
  for await (const event of journal.subscribeAll({ from: 0, signal: controller.signal, batchSize: 100 })) {
    const offset: number = event.globalOffset
    void offset
    break
  }
  const big = await Journal.open('./sub-big', { bigint: true })
  const tagged: AsyncIterableIterator<Event<bigint>> = big.subscribeTag('t', { from: 1n })
  const stream = big.subscribeStream('p', { from: 1 })
  const first = await stream.next()
  if (!first.done) {
    const seq: bigint = first.value.sequenceNr
    void seq
  }
  await tagged.return?.()
  // @ts-expect-error a signal must be an AbortSignal
  journal.subscribeAll({ signal: 'stop' })
}
