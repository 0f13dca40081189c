// Every journal operation on every backend.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { Journal, ClosedError, SequenceConflictError, TidelogError, InvalidArgumentError } from 'tidelog'
import { journalLocation, BACKENDS, tempDir } from './helpers.mjs'

async function open(t, backend, options = {}) {
  const journal = await Journal.open(journalLocation(t, backend), { backend, ...options })
  t.after(() => journal.close())
  return journal
}

for (const backend of BACKENDS) {
  describe(`journal on ${backend}`, () => {
    test('append assigns gapless sequence numbers and increasing offsets; read returns the events', async (t) => {
      const journal = await open(t, backend)
      assert.equal(journal.backend, backend)
      const r1 = await journal.append('cart-1', [
        Buffer.from('first'),
        { payload: 'second', manifest: 'ItemAdded', writerId: 'w-1', tags: ['cart', 'shop'], timestamp: 1234, metadata: Uint8Array.of(7, 8) },
      ])
      assert.deepEqual(r1, { firstSequenceNr: 1, lastSequenceNr: 2, firstGlobalOffset: r1.firstGlobalOffset })
      const r2 = await journal.append('cart-1', 'third')
      assert.equal(r2.firstSequenceNr, 3)
      assert.ok(r2.firstGlobalOffset > r1.firstGlobalOffset + 1)

      const events = await journal.read('cart-1')
      assert.deepEqual(events.map((e) => e.sequenceNr), [1, 2, 3])
      assert.deepEqual(events.map((e) => e.payload.toString()), ['first', 'second', 'third'])
      const second = events[1]
      assert.equal(second.persistenceId, 'cart-1')
      assert.equal(second.manifest, 'ItemAdded')
      assert.equal(second.writerId, 'w-1')
      assert.deepEqual(second.tags, ['cart', 'shop'])
      assert.equal(second.timestamp, 1234)
      assert.deepEqual([...second.metadata], [7, 8])
      assert.ok(Buffer.isBuffer(second.payload))
      assert.equal(events[0].manifest, '')
      assert.deepEqual(events[0].tags, [])
      assert.ok(events[0].timestamp > 0, 'timestamp defaults to the commit time')

      assert.deepEqual((await journal.read('cart-1', { from: 2, to: 2 })).map((e) => e.sequenceNr), [2])
      assert.deepEqual((await journal.read('cart-1', { from: 2, max: 1 })).map((e) => e.sequenceNr), [2])
      assert.deepEqual(await journal.read('nobody'), [])
    })

    test('persistence ids of any length and script round-trip through the fast path', async (t) => {
      const journal = await open(t, backend)
      const ids = ['é-ünïcødé-流-🌊', 'x'.repeat(254), 'y'.repeat(255), 'z'.repeat(256), 'é'.repeat(512)]
      for (const id of ids) {
        assert.equal((await journal.append(id, Buffer.from(id))).firstSequenceNr, 1)
        const [event] = await journal.read(id)
        assert.equal(event.persistenceId, id)
        assert.equal(event.payload.toString(), id)
      }
      await assert.rejects(journal.append('q'.repeat(1025), Buffer.from('x')), InvalidArgumentError)
      assert.equal((await journal.append('empty', new Uint8Array(0))).firstSequenceNr, 1)
      assert.equal((await journal.read('empty'))[0].payload.length, 0)
    })

    test('write commits explicit atomic writes and fails a conflicting one alone', async (t) => {
      const journal = await open(t, backend)
      await journal.append('a', 'a1')
      const results = await journal.write([
        { persistenceId: 'a', firstSequenceNr: 2, events: ['a2', 'a3'] },
        { persistenceId: 'b', firstSequenceNr: 7, events: ['b?'] },
        { persistenceId: 'a', firstSequenceNr: 4, events: [{ payload: 'a4' }] },
      ])
      assert.equal(results[0].status, 'fulfilled')
      assert.deepEqual([results[0].value.firstSequenceNr, results[0].value.lastSequenceNr], [2, 3])
      assert.equal(results[1].status, 'rejected')
      assert.ok(results[1].reason instanceof SequenceConflictError)
      assert.equal(results[1].reason.code, 'SEQUENCE_CONFLICT')
      assert.equal(results[1].reason.persistenceId, 'b')
      assert.equal(results[1].reason.expected, 1)
      assert.equal(results[1].reason.actual, 7)
      assert.equal(results[2].status, 'fulfilled')
      assert.equal(results[2].value.firstSequenceNr, 4)
      assert.deepEqual((await journal.read('a')).map((e) => e.payload.toString()), ['a1', 'a2', 'a3', 'a4'])
      assert.deepEqual(await journal.read('b'), [])
    })

    test('deleteTo removes a prefix and keeps highestSequenceNr', async (t) => {
      const journal = await open(t, backend)
      await journal.append('s', ['1', '2', '3', '4'])
      assert.equal(await journal.highestSequenceNr('s'), 4)
      await journal.deleteTo('s', 2)
      assert.deepEqual((await journal.read('s')).map((e) => e.sequenceNr), [3, 4])
      await journal.deleteTo('s', 4)
      assert.deepEqual(await journal.read('s'), [])
      assert.equal(await journal.highestSequenceNr('s'), 4)
      assert.equal(await journal.highestSequenceNr('unknown'), 0)
      assert.equal((await journal.append('s', '5')).firstSequenceNr, 5)
    })

    test('nextGlobalOffset bounds a current read and is never given out twice', async (t) => {
      const journal = await open(t, backend)
      assert.equal(await journal.nextGlobalOffset(), 1)
      await journal.append('a', ['a1', 'a2'])
      const end = await journal.nextGlobalOffset()
      assert.equal(end, 3)
      await journal.append('b', 'b1') // written after the current read began
      const current = (await journal.allEvents()).filter((e) => e.globalOffset < end)
      assert.deepEqual(current.map((e) => e.payload.toString()), ['a1', 'a2'])
      await journal.deleteTo('b', 1)
      assert.equal(await journal.nextGlobalOffset(), 4)
    })

    test('persistenceIds, eventsByTag, allEvents, replay, flush, metrics', async (t) => {
      const journal = await open(t, backend)
      await journal.append('x', [{ payload: 'x1', tags: ['red'] }, { payload: 'x2' }])
      await journal.append('y', { payload: 'y1', tags: ['red', 'blue'] })
      await journal.flush()
      assert.deepEqual(await journal.persistenceIds(), ['x', 'y'])

      const red = await journal.eventsByTag('red')
      assert.deepEqual(red.map((e) => e.payload.toString()), ['x1', 'y1'])
      const after = await journal.eventsByTag('red', { fromOffset: red[0].globalOffset + 1 })
      assert.deepEqual(after.map((e) => e.payload.toString()), ['y1'])
      assert.deepEqual((await journal.eventsByTag('red', { max: 1 })).length, 1)

      const all = await journal.allEvents()
      assert.deepEqual(all.map((e) => e.payload.toString()), ['x1', 'x2', 'y1'])
      for (let i = 1; i < all.length; i++) assert.ok(all[i].globalOffset > all[i - 1].globalOffset)
      assert.deepEqual((await journal.allEvents({ fromOffset: all[1].globalOffset })).map((e) => e.persistenceId), ['x', 'y'])

      await journal.append('long', Array.from({ length: 25 }, (_, i) => `e${i + 1}`))
      const seen = []
      for await (const event of journal.replay('long', { pageSize: 7, from: 3 })) seen.push(event.sequenceNr)
      assert.deepEqual(seen, Array.from({ length: 23 }, (_, i) => i + 3))
      const bounded = []
      for await (const event of journal.replay('long', { pageSize: 4, to: 10 })) bounded.push(event.sequenceNr)
      assert.deepEqual(bounded, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])

      const tagged = []
      for await (const e of journal.replayByTag('red', { pageSize: 1 })) tagged.push(e.payload.toString())
      assert.deepEqual(tagged, ['x1', 'y1'])
      const everything = []
      for await (const e of journal.replayAll({ pageSize: 4, fromOffset: all[1].globalOffset })) everything.push(e.globalOffset)
      assert.equal(everything.length, 27)
      for (let i = 1; i < everything.length; i++) assert.ok(everything[i] > everything[i - 1])

      const m = journal.metrics()
      assert.equal(m.events, 28)
      assert.equal(m.appends, 3)
      assert.ok(m.batches >= 1)
      assert.match(journal.metricsPrometheus(), /tidelog/)
    })

    test('snapshots: save, load with criteria, list, delete, deleteMatching, prune', async (t) => {
      const journal = await open(t, backend)
      const s = journal.snapshots
      await s.save({ persistenceId: 'p', sequenceNr: 5, state: 'five', timestamp: 100, manifest: 'State', metadata: Uint8Array.of(1) })
      await s.save({ persistenceId: 'p', sequenceNr: 10, state: Buffer.from('ten'), timestamp: 200 })
      await s.save({ persistenceId: 'p', sequenceNr: 15, state: 'fifteen', timestamp: 300 })
      const latest = await s.load('p')
      assert.equal(latest.sequenceNr, 15)
      assert.equal(latest.state.toString(), 'fifteen')
      assert.equal(latest.timestamp, 300)
      const five = await s.load('p', { maxSequenceNr: 9 })
      assert.deepEqual([five.sequenceNr, five.manifest, [...five.metadata], five.state.toString()], [5, 'State', [1], 'five'])
      assert.equal((await s.load('p', { maxTimestamp: 250 })).sequenceNr, 10)
      assert.equal((await s.load('p', { minSequenceNr: 6, maxSequenceNr: 12 })).sequenceNr, 10)
      assert.equal(await s.load('p', { minTimestamp: 301 }), null)
      assert.equal(await s.load('nobody'), null)
      assert.deepEqual(await s.list('p'), [
        { sequenceNr: 5, timestamp: 100 },
        { sequenceNr: 10, timestamp: 200 },
        { sequenceNr: 15, timestamp: 300 },
      ])
      assert.deepEqual(await s.persistenceIds(), ['p'])

      assert.equal(await s.delete('p', 10), true)
      assert.equal(await s.delete('p', 10), false)
      await s.save({ persistenceId: 'p', sequenceNr: 20, state: 'twenty', timestamp: 400 })
      await s.save({ persistenceId: 'p', sequenceNr: 25, state: 'twenty-five', timestamp: 500 })
      assert.equal(await s.prune('p', 2), 2)
      assert.deepEqual((await s.list('p')).map((i) => i.sequenceNr), [20, 25])
      assert.equal(await s.deleteMatching('p', { maxSequenceNr: 22 }), 1)
      assert.equal(await s.deleteMatching('p', {}), 1)
      assert.equal(await s.load('p'), null)
    })

    test('bigint mode returns bigint sequence numbers and offsets', async (t) => {
      const journal = await open(t, backend, { bigint: true })
      const r = await journal.append('b', ['1', '2'])
      assert.equal(r.firstSequenceNr, 1n)
      assert.equal(r.lastSequenceNr, 2n)
      assert.equal(typeof r.firstGlobalOffset, 'bigint')
      const events = await journal.read('b', { from: 2n })
      assert.deepEqual(events.map((e) => e.sequenceNr), [2n])
      assert.equal(typeof events[0].timestamp, 'number')
      assert.equal(await journal.highestSequenceNr('b'), 2n)
      await journal.snapshots.save({ persistenceId: 'b', sequenceNr: 2n, state: 's' })
      assert.equal((await journal.snapshots.load('b', { maxSequenceNr: 2n })).sequenceNr, 2n)
      const [w] = await journal.write([{ persistenceId: 'b', firstSequenceNr: 9n, events: ['x'] }])
      assert.equal(w.reason.expected, 3n)
    })

    test('use after close rejects every operation with ClosedError', async (t) => {
      const journal = await Journal.open(journalLocation(t, backend), { backend })
      await journal.append('c', 'x')
      await journal.close()
      await journal.close() // idempotent
      assert.equal(journal.closed, true)
      const ops = {
        append: () => journal.append('c', 'y'),
        write: () => journal.write([{ persistenceId: 'c', firstSequenceNr: 2, events: ['y'] }]).then((r) => Promise.reject(r[0].reason)),
        deleteTo: () => journal.deleteTo('c', 1),
        flush: () => journal.flush(),
        read: () => journal.read('c'),
        replay: async () => {
          for await (const _ of journal.replay('c'));
        },
        replayByTag: async () => {
          for await (const _ of journal.replayByTag('t'));
        },
        replayAll: async () => {
          for await (const _ of journal.replayAll());
        },
        eventsByTag: () => journal.eventsByTag('t'),
        allEvents: () => journal.allEvents(),
        highestSequenceNr: () => journal.highestSequenceNr('c'),
        persistenceIds: () => journal.persistenceIds(),
        'snapshots.save': () => journal.snapshots.save({ persistenceId: 'c', sequenceNr: 1, state: 's' }),
        'snapshots.load': () => journal.snapshots.load('c'),
        'snapshots.list': () => journal.snapshots.list('c'),
        'snapshots.delete': () => journal.snapshots.delete('c', 1),
        'snapshots.deleteMatching': () => journal.snapshots.deleteMatching('c', {}),
        'snapshots.prune': () => journal.snapshots.prune('c', 1),
        'snapshots.persistenceIds': () => journal.snapshots.persistenceIds(),
      }
      for (const [name, op] of Object.entries(ops)) {
        await assert.rejects(op(), (err) => {
          assert.ok(err instanceof ClosedError, `${name}: ${err}`)
          assert.ok(err instanceof TidelogError)
          assert.equal(err.code, 'CLOSED')
          return true
        })
      }
      assert.equal(typeof journal.metrics().events, 'number', 'metrics stay readable')
    })

    test('Symbol.asyncDispose closes the journal', async (t) => {
      const journal = await Journal.open(journalLocation(t, backend), { backend })
      assert.equal(typeof journal[Symbol.asyncDispose], 'function')
      await journal[Symbol.asyncDispose]()
      assert.equal(journal.closed, true)
    })
  })
}

test('argument type errors are TypeErrors (or RangeErrors), thrown before the core', async (t) => {
  const journal = await open(t, 'memory')
  assert.throws(() => journal.append(42, 'x'), TypeError)
  assert.throws(() => journal.append('p', 42), TypeError)
  assert.throws(() => journal.append('p', [{ payload: 1 }]), TypeError)
  assert.throws(() => journal.append('p', [{ payload: 'x', tags: 'red' }]), TypeError)
  assert.throws(() => journal.append('p', [{ payload: 'x', metadata: 'm' }]), TypeError)
  assert.throws(() => journal.write('nope'), TypeError)
  assert.throws(() => journal.deleteTo('p', -1), RangeError)
  assert.throws(() => journal.deleteTo('p', 1.5), RangeError)
  assert.throws(() => journal.deleteTo('p', 2n ** 60n), RangeError)
  assert.throws(() => journal.deleteTo('p', '3'), TypeError)
  await assert.rejects(journal.read('p', { max: -1 }), RangeError)
  await assert.rejects(journal.read(undefined), TypeError)
  assert.throws(() => journal.snapshots.save({ persistenceId: 'p', state: 's' }), TypeError)
  await assert.rejects(Journal.open(tempDir(t), { backend: 'memory', syncEvery: 3 }), TypeError)
  await assert.rejects(Journal.open(tempDir(t), { backend: 'memory', readOnly: 'yes' }), TypeError)
  await assert.rejects(Journal.open(123), TypeError)
  // A value the core refuses (not a type error) is an InvalidArgumentError.
  await assert.rejects(journal.append('', 'x'), InvalidArgumentError)
})

test('numbers above Number.MAX_SAFE_INTEGER never lose precision: RangeError, or exact with bigint', async () => {
  const { u64 } = await import('../dist/index.js')
  assert.equal(u64(0xffff_ffff, 0x1f_ffff, false), Number.MAX_SAFE_INTEGER)
  assert.throws(() => u64(0, 0x20_0000, false), RangeError) // 2^53
  assert.equal(u64(0, 0x20_0000, true), 2n ** 53n)
  assert.equal(u64(0xffff_ffff, 0xffff_ffff, true), 2n ** 64n - 1n)
})

test('completions are delivered in batches, not one threadsafe call per operation', async (t) => {
  const { createRequire } = await import('node:module')
  const { NativeJournal } = createRequire(import.meta.url)('../tidelog.node')
  const start = NativeJournal.prototype.start
  let wakeups = 0
  NativeJournal.prototype.start = function (onComplete) {
    return start.call(this, (records, errors) => {
      wakeups++
      onComplete(records, errors)
    })
  }
  t.after(() => (NativeJournal.prototype.start = start))
  const journal = await open(t, 'memory')
  await Promise.all(Array.from({ length: 1000 }, (_, i) => journal.append(`p${i % 7}`, Buffer.from('x'))))
  assert.ok(wakeups > 0)
  assert.ok(wakeups < 1000, `${wakeups} JS wake-ups for 1,000 appends`)
})
