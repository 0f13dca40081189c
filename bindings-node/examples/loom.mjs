// The README's Loom example, run by test/examples.test.mjs.
import { TidelogJournalStore } from 'tidelog/loom'

const journalStore = await TidelogJournalStore.open('./data/loom', { backend: 'lmdb' })
// was: const journalStore = new RedisJournalStore(redis)
// Loom's ActorRuntime takes the journal store as its fifth, positional argument:
// const runtime = new ActorRuntime(stateStore, messageQueue, lockManager, tracer, journalStore)

await journalStore.appendEntry('order-42', { type: 'state_patches', patches: [{ op: 'replace', path: ['status'], value: 'paid' }], inversePatches: [], timestamp: Date.now() })
await journalStore.appendEntry('order-42', { type: 'activity_scheduled', activityId: 'a1', name: 'ship', input: { to: 'Lyon' } })
await journalStore.saveSnapshot('order-42', { state: { status: 'paid' }, cursor: 2, timestamp: Date.now() })
await journalStore.trimEntries('order-42', 2)                   // drop the 2 entries the snapshot covers
console.log(await journalStore.getLatestSnapshot('order-42'))   // { state: { status: 'paid' }, cursor: 2, timestamp: ... }
console.log(await journalStore.readEntries('order-42'))         // []
await journalStore.close()
