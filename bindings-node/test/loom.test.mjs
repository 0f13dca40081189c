// The Loom JournalStore contract (the behaviours Loom's in-memory and Redis
// stores satisfy), on every backend, plus durability across reopen.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { Journal } from 'tidelog'
import { TidelogJournalStore } from 'tidelog/loom'
import { journalLocation, BACKENDS, DURABLE_BACKENDS, FILE_BACKENDS, tempDir } from './helpers.mjs'

const entries = [
  { type: 'state_patches', patches: [{ op: 'replace', path: ['count'], value: 1 }], inversePatches: [{ op: 'replace', path: ['count'], value: 0 }], timestamp: 1 },
  { type: 'activity_scheduled', activityId: 'a1', name: 'charge', input: { amount: 5 } },
  { type: 'activity_completed', activityId: 'a1', result: { ok: true } },
  { type: 'activity_failed', activityId: 'a2', error: 'timeout' },
  { type: 'child_spawned', childId: 'c1', actorType: 'Worker', input: null },
  { type: 'event_received', eventType: 'ping', data: [1, 'two', { three: 3 }] },
  { type: 'suspended', reason: 'waiting' },
]

async function openStore(t, backend, options = {}) {
  const store = await TidelogJournalStore.open(journalLocation(t, backend), { backend, ...options })
  t.after(() => store.close())
  return store
}

for (const backend of BACKENDS) {
  describe(`Loom JournalStore contract on ${backend}`, () => {
    test('appendEntry then readEntries returns structurally equal entries, oldest first', async (t) => {
      const store = await openStore(t, backend)
      for (const entry of entries) await store.appendEntry('actor-1', entry)
      assert.deepEqual(await store.readEntries('actor-1'), entries)
      assert.deepEqual(await store.readEntries('actor-2'), [], 'an actor without entries reads []')
    })

    test('many un-awaited appends keep per-actor call order', async (t) => {
      const store = await openStore(t, backend)
      const calls = []
      for (let i = 0; i < 300; i++) calls.push(store.appendEntry(`actor-${i % 3}`, { type: 'event_received', eventType: 'n', data: i }))
      await Promise.all(calls)
      for (let a = 0; a < 3; a++) {
        const data = (await store.readEntries(`actor-${a}`)).map((e) => e.data)
        assert.deepEqual(data, Array.from({ length: 100 }, (_, k) => k * 3 + a))
      }
    })

    test('returned arrays and entries are fresh copies', async (t) => {
      const store = await openStore(t, backend)
      await store.appendEntry('a', entries[0])
      assert.notEqual(await store.readEntries('a'), await store.readEntries('a'))
      const first = await store.readEntries('a')
      first.push({ type: 'suspended', reason: 'injected' })
      first[0].patches[0].value = 99
      assert.deepEqual(await store.readEntries('a'), [entries[0]])
    })

    test('an empty or whitespace actor id is rejected by every method', async (t) => {
      const store = await openStore(t, backend)
      const required = { message: 'actorId is required' } // Loom's RedisJournalStore message
      for (const id of ['', '   ', '\t\n', undefined]) {
        await assert.rejects(store.appendEntry(id, entries[0]), required)
        await assert.rejects(store.readEntries(id), required)
        await assert.rejects(store.saveSnapshot(id, { state: {}, cursor: 0, timestamp: 1 }), required)
        await assert.rejects(store.getLatestSnapshot(id), required)
        await assert.rejects(store.trimEntries(id, 1), required)
        await assert.rejects(store.deleteJournal(id), required)
      }
    })

    test('snapshots: null when absent, one per actor (a new one replaces the old), deep copies', async (t) => {
      const store = await openStore(t, backend)
      assert.equal(await store.getLatestSnapshot('a'), null)
      const state = { items: [{ id: 1 }], total: 3 }
      await store.appendEntry('a', entries[0])
      await store.saveSnapshot('a', { state, cursor: 1, timestamp: 1000 })
      state.total = 42 // what was saved is not aliased
      const loaded = await store.getLatestSnapshot('a')
      assert.deepEqual(loaded, { state: { items: [{ id: 1 }], total: 3 }, cursor: 1, timestamp: 1000 })
      loaded.state.items.push('mutated')
      assert.deepEqual((await store.getLatestSnapshot('a')).state.items, [{ id: 1 }], 'returned snapshots are copies')

      await store.appendEntry('a', entries[1])
      await store.saveSnapshot('a', { state: { total: 4 }, cursor: 2, timestamp: 2000 })
      assert.deepEqual(await store.getLatestSnapshot('a'), { state: { total: 4 }, cursor: 2, timestamp: 2000 })
      // Saving again without new entries still replaces it.
      await store.saveSnapshot('a', { state: { total: 5 }, cursor: 2, timestamp: 1500 })
      assert.deepEqual(await store.getLatestSnapshot('a'), { state: { total: 5 }, cursor: 2, timestamp: 1500 })
      assert.equal((await store.journal.snapshots.list('a')).length, 1, 'one snapshot per actor')
      // A snapshot of an actor without entries works too.
      await store.saveSnapshot('fresh', { state: {}, cursor: 0, timestamp: 1 })
      assert.deepEqual(await store.getLatestSnapshot('fresh'), { state: {}, cursor: 0, timestamp: 1 })
    })

    test('trimEntries drops the first N retained entries, relative to what is retained now', async (t) => {
      const store = await openStore(t, backend)
      for (let i = 0; i < 6; i++) await store.appendEntry('a', { type: 'event_received', eventType: 'n', data: i })
      await store.trimEntries('a', 0)
      assert.equal((await store.readEntries('a')).length, 6, '0 drops nothing')
      await store.trimEntries('a', 2)
      assert.deepEqual((await store.readEntries('a')).map((e) => e.data), [2, 3, 4, 5])
      await store.trimEntries('a', 2) // relative: drops 2 and 3 now
      assert.deepEqual((await store.readEntries('a')).map((e) => e.data), [4, 5])
      await assert.rejects(store.trimEntries('a', -1), { message: 'beforeCursor must be non-negative' })
      assert.equal((await store.readEntries('a')).length, 2)
      await store.trimEntries('a', 50) // past the end drops all
      assert.deepEqual(await store.readEntries('a'), [])
      await store.trimEntries('a', 3) // trimming an empty journal is a no-op
      await store.trimEntries('never-written', 3)
      await store.appendEntry('a', { type: 'suspended', reason: 'later' })
      assert.deepEqual(await store.readEntries('a'), [{ type: 'suspended', reason: 'later' }])
    })

    test('deleteJournal removes entries and snapshot, and the actor can start over', async (t) => {
      const store = await openStore(t, backend)
      await store.appendEntry('a', entries[0])
      await store.appendEntry('b', entries[1])
      await store.saveSnapshot('a', { state: { x: 1 }, cursor: 1, timestamp: 5 })
      await store.deleteJournal('a')
      assert.deepEqual(await store.readEntries('a'), [])
      assert.equal(await store.getLatestSnapshot('a'), null)
      assert.deepEqual(await store.readEntries('b'), [entries[1]], 'other actors are untouched')
      await store.deleteJournal('never-written')
      await store.appendEntry('a', entries[2])
      assert.deepEqual(await store.readEntries('a'), [entries[2]])
    })

    test("driven as Loom's actor drives it: a fire-and-forget append is seen by the read, trim and delete that follow, 1,000 times", async (t) => {
      const store = await openStore(t, backend)
      const misses = []
      let retainedFrom = 0 // index of the oldest entry still retained
      for (let i = 0; i < 1000; i++) {
        const appended = store.appendEntry('actor', { type: 'event_received', eventType: 'n', data: i }) // not awaited
        const read = await store.readEntries('actor')
        if (read.at(-1)?.data !== i) misses.push(`read ${i}: last ${read.at(-1)?.data}`)
        if (i % 10 === 9) {
          // Compaction, as Loom's actor does it: a snapshot covering what was applied, then a trim of the entries
          // it covers, right after the latest append (again not awaited).
          const last = store.appendEntry('actor', { type: 'event_received', eventType: 'n', data: `extra-${i}` })
          await store.saveSnapshot('actor', { state: { upTo: i }, cursor: i, timestamp: i })
          const retained = i - retainedFrom + 2 // entries retainedFrom..i plus the extra one
          await store.trimEntries('actor', retained - 1)
          const left = await store.readEntries('actor')
          if (left.length !== 1 || left[0].data !== `extra-${i}`) misses.push(`trim ${i}: ${left.length} left`)
          retainedFrom = i + 1
          await last
          await store.trimEntries('actor', 1)
        }
        await appended
      }
      // A deletion right after a fire-and-forget append removes that entry too.
      for (let i = 0; i < 20; i++) {
        const appended = store.appendEntry('gone', { type: 'suspended', reason: String(i) })
        await store.deleteJournal('gone')
        await appended
        const left = await store.readEntries('gone')
        if (left.length !== 0) misses.push(`delete ${i}: ${left.length} left`)
      }
      assert.deepEqual(misses, [])
    })

    test('entry types of newer Loom versions are stored too', async (t) => {
      const store = await openStore(t, backend)
      const newer = [
        { type: 'state_patches', patches: [{ op: 'replace', path: ['a'], value: 1 }], inversePatches: [], timestamp: 5 },
        { type: 'invocation', messageId: 'm1', timestamp: '2026-11-24T00:00:00Z', payload: { x: 1 }, metadata: { k: 'v' } },
      ]
      for (const e of newer) await store.appendEntry('a', e)
      assert.deepEqual(await store.readEntries('a'), newer)
      await assert.rejects(store.appendEntry('a', { notype: true }), TypeError)
    })

    test('a prefix namespaces actors; getStats counts them', async (t) => {
      const journal = await Journal.open(journalLocation(t, backend), { backend })
      t.after(() => journal.close())
      const store = new TidelogJournalStore(journal, { prefix: 'loom:' })
      await store.appendEntry('a', entries[0])
      await store.saveSnapshot('a', { state: {}, cursor: 1, timestamp: 1 })
      await journal.append('other-stream', 'x')
      assert.deepEqual(await journal.persistenceIds(), ['loom:a', 'other-stream'])
      await store.appendEntry('a', entries[1])
      await store.appendEntry('b', entries[2])
      await store.trimEntries('b', 1)
      assert.deepEqual(await store.getStats(), { totalStreams: 2, totalSnapshots: 1, actors: 1, totalEntries: 2, snapshots: 1 })
      await store.close() // does not close a journal it did not open
      assert.equal(journal.closed, false)
    })
  })
}

for (const backend of DURABLE_BACKENDS) {
  test(`Loom store: acknowledged entries, trims and snapshots survive reopen (${backend})`, async (t) => {
    const dir = journalLocation(t, backend)
    let store = await TidelogJournalStore.open(dir, { backend })
    await Promise.all(Array.from({ length: 150 }, (_, i) => store.appendEntry('actor', { type: 'event_received', eventType: 'n', data: i })))
    // Compaction as Loom does it: snapshot the state, trim the entries it covers.
    await store.saveSnapshot('actor', { state: { sum: 4950 }, cursor: 100, timestamp: 1234 })
    await store.trimEntries('actor', 100)
    await store.close()

    store = await TidelogJournalStore.open(dir, { backend })
    t.after(() => store.close())
    assert.deepEqual(await store.getLatestSnapshot('actor'), { state: { sum: 4950 }, cursor: 100, timestamp: 1234 })
    assert.deepEqual((await store.readEntries('actor')).map((e) => e.data), Array.from({ length: 50 }, (_, k) => k + 100))
  })
}

// Not postgres: this damages a snapshot file on disk.
for (const backend of FILE_BACKENDS) {
  test(`Loom store: a corrupt snapshot is treated as absent (${backend})`, async (t) => {
    const dir = tempDir(t)
    let store = await TidelogJournalStore.open(dir, { backend })
    await store.appendEntry('actor', entries[0])
    await store.saveSnapshot('actor', { state: { precious: true }, cursor: 1, timestamp: 1 })
    await store.close()
    const files = fs.readdirSync(path.join(dir, 'snapshots'), { recursive: true }).map((f) => path.join(dir, 'snapshots', f)).filter((f) => fs.statSync(f).isFile() && f.endsWith('.snap'))
    assert.equal(files.length, 1)
    const bytes = fs.readFileSync(files[0])
    bytes[bytes.length - 3] ^= 0xff
    fs.writeFileSync(files[0], bytes)

    store = await TidelogJournalStore.open(dir, { backend })
    t.after(() => store.close())
    assert.equal(await store.getLatestSnapshot('actor'), null)
    assert.deepEqual(await store.readEntries('actor'), [entries[0]], 'the entries are still there for a full replay')
  })
}
