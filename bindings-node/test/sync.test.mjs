// The synchronous calls: readSync, highestSequenceNrSync and appendSync, on every backend.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { Journal, ClosedError, InvalidArgumentError, TidelogError } from 'tidelog'
import { BACKENDS, journalLocation } from './helpers.mjs'

async function open(t, backend, options = {}) {
  const journal = await Journal.open(journalLocation(t, backend), { backend, ...options })
  t.after(() => journal.close())
  return journal
}

for (const backend of BACKENDS) {
  describe(`synchronous calls on ${backend}`, () => {
    test('readSync returns what read returns, for single events, ranges and long pages', async (t) => {
      const journal = await open(t, backend, { sync: 'never' })
      await journal.append('s', [
        { payload: 'a', manifest: 'M', writerId: 'w', tags: ['t1', 't2'], metadata: Uint8Array.of(1, 2), timestamp: 77 },
        'b',
        'c',
      ])
      await journal.append('other', 'x')
      await journal.append('s', Array.from({ length: 200 }, (_, i) => `e${i + 4}`))
      for (const options of [undefined, { from: 1, to: 1 }, { from: 2, to: 2 }, { from: 3, max: 4 }, { from: 150, to: 170 }, { from: 1, max: 3 }, { from: 300 }, { max: 0 }]) {
        const sync = journal.readSync('s', options)
        const viaPool = await journal.read('s', options)
        assert.deepEqual(sync, viaPool, JSON.stringify(options))
      }
      const [first] = journal.readSync('s', { from: 1, to: 1 })
      assert.equal(first.persistenceId, 's')
      assert.equal(first.manifest, 'M')
      assert.equal(first.writerId, 'w')
      assert.deepEqual(first.tags, ['t1', 't2'])
      assert.deepEqual([...first.metadata], [1, 2])
      assert.equal(first.timestamp, 77)
      assert.equal(first.payload.toString(), 'a')
      assert.deepEqual(journal.readSync('unknown'), [])
    })

    test('events read synchronously keep their bytes after later reads', async (t) => {
      const journal = await open(t, backend, { sync: 'never' })
      await journal.append('s', ['one', 'two'])
      const [one] = journal.readSync('s', { from: 1, to: 1 })
      const [two] = journal.readSync('s', { from: 2, to: 2 })
      const both = journal.readSync('s')
      assert.equal(one.payload.toString(), 'one')
      assert.equal(two.payload.toString(), 'two')
      assert.deepEqual(both.map((e) => e.payload.toString()), ['one', 'two'])
    })

    test('a page larger than the scratch buffer reads whole', async (t) => {
      const journal = await open(t, backend, { sync: 'never' })
      const big = Buffer.alloc(50_000, 0x61)
      await journal.append('big', [big, big, 'tail'])
      const events = journal.readSync('big')
      assert.deepEqual(events.map((e) => e.payload.length), [50_000, 50_000, 4])
      assert.ok(events[1].payload.equals(big))
    })

    test('appendSync returns the receipt once committed; the next operations see it', async (t) => {
      const journal = await open(t, backend, { sync: backend === 'memory' ? 'always' : 'never' })
      const r1 = journal.appendSync('s', Buffer.from('p1'))
      assert.deepEqual([r1.firstSequenceNr, r1.lastSequenceNr], [1, 1])
      const r2 = journal.appendSync('s', ['p2', { payload: 'p3', tags: ['t'] }])
      assert.deepEqual([r2.firstSequenceNr, r2.lastSequenceNr], [2, 3])
      assert.ok(r2.firstGlobalOffset > r1.firstGlobalOffset)
      assert.equal(journal.highestSequenceNrSync('s'), 3)
      assert.deepEqual(journal.readSync('s').map((e) => e.payload.toString()), ['p1', 'p2', 'p3'])
      const r3 = await journal.append('s', 'p4')
      assert.equal(r3.firstSequenceNr, 4)
    })

    test('a synchronous read issued after an un-awaited append observes it', async (t) => {
      const journal = await open(t, backend, { sync: backend === 'memory' ? 'always' : 'never' })
      for (let round = 1; round <= 50; round++) {
        const pending = journal.append('order', Buffer.from(`e${round}`)) // not awaited
        assert.equal(journal.highestSequenceNrSync('order'), round)
        const [last] = journal.readSync('order', { from: round, to: round })
        assert.equal(last?.payload.toString(), `e${round}`)
        await pending
      }
      // Many in flight, then one synchronous read.
      const pending = Array.from({ length: 100 }, (_, i) => journal.append('burst', `b${i}`))
      assert.equal(journal.readSync('burst').length, 100)
      await Promise.all(pending)
    })

    test('appendSync after un-awaited appends keeps issue order', async (t) => {
      const journal = await open(t, backend, { sync: 'never' })
      const pending = [journal.append('mix', 'a1'), journal.append('mix', ['a2', 'a3'])]
      const r = journal.appendSync('mix', 'a4')
      assert.equal(r.firstSequenceNr, 4)
      assert.deepEqual((await Promise.all(pending)).map((x) => x.firstSequenceNr), [1, 2])
    })

    test('bigint journals return bigints', async (t) => {
      const journal = await open(t, backend, { bigint: true, sync: 'never' })
      const r = journal.appendSync('s', 'x')
      assert.equal(r.firstSequenceNr, 1n)
      assert.equal(journal.highestSequenceNrSync('s'), 1n)
      assert.equal(journal.readSync('s', { from: 1n, to: 1n })[0].sequenceNr, 1n)
    })

    test('bad input is a typed error', async (t) => {
      const journal = await open(t, backend, { sync: 'never' })
      assert.throws(() => journal.readSync(42), TypeError)
      assert.throws(() => journal.readSync('s', { from: -1 }), RangeError)
      assert.throws(() => journal.readSync('s', { max: 'ten' }), TypeError)
      assert.throws(() => journal.readSync('s', 'options'), TypeError)
      assert.throws(() => journal.highestSequenceNrSync(null), TypeError)
      assert.throws(() => journal.appendSync('s', 42), TypeError)
      assert.throws(() => journal.appendSync(undefined, 'x'), TypeError)
      for (const call of [() => journal.readSync('a\uD800b'), () => journal.highestSequenceNrSync('\uDC00'), () => journal.appendSync('x\uD800', 'p')]) {
        assert.throws(call, (err) => err instanceof InvalidArgumentError && err.code === 'INVALID_ARGUMENT')
      }
      assert.throws(() => journal.readSync(''), (err) => err instanceof TidelogError && err.code === 'INVALID_ARGUMENT')
      assert.throws(() => journal.appendSync('s', []), (err) => err instanceof TidelogError && err.code === 'INVALID_ARGUMENT')
      assert.equal(journal.highestSequenceNrSync('s'), 0, 'nothing was written')
    })

    test('after close every synchronous call throws ClosedError', async (t) => {
      const journal = await Journal.open(journalLocation(t, backend), { backend })
      await journal.append('s', 'x')
      await journal.close()
      assert.throws(() => journal.readSync('s'), ClosedError)
      assert.throws(() => journal.highestSequenceNrSync('s'), ClosedError)
      assert.throws(() => journal.appendSync('s', 'y'), ClosedError)
    })
  })
}
