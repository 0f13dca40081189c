// Many concurrent appends from one event loop, and an event loop that keeps
// running while the journal works.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Journal } from 'tidelog'
import { journalLocation, BACKENDS, DURABLE_BACKENDS, tempDir } from './helpers.mjs'

for (const backend of BACKENDS) {
  test(`1,000 concurrent appends from one event loop (${backend})`, async (t) => {
    const journal = await Journal.open(journalLocation(t, backend), { backend })
    t.after(() => journal.close())
    const streams = 10
    const receipts = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => journal.append(`actor-${i % streams}`, Buffer.from(`event-${i}`))),
    )
    // Every stream is gapless and in call order.
    for (let s = 0; s < streams; s++) {
      const mine = receipts.filter((_, i) => i % streams === s)
      assert.deepEqual(mine.map((r) => r.firstSequenceNr), Array.from({ length: 100 }, (_, k) => k + 1))
      const events = await journal.read(`actor-${s}`)
      assert.deepEqual(events.map((e) => e.payload.toString()), Array.from({ length: 100 }, (_, k) => `event-${k * streams + s}`))
    }
    // Global offsets are unique.
    assert.equal(new Set(receipts.map((r) => r.firstGlobalOffset)).size, 1000)
    // Concurrent calls share group commits.
    assert.ok(journal.metrics().batches < 1000, `batches: ${journal.metrics().batches}`)
  })
}

/** Counts timer ticks while `promise` is pending. */
async function ticksWhilePending(promise) {
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  try {
    await promise
  } finally {
    clearInterval(timer)
  }
  return ticks
}

for (const backend of DURABLE_BACKENDS) {
  test(`a timer keeps firing while a large durable batch commits (${backend})`, async (t) => {
    const journal = await Journal.open(journalLocation(t, backend), { backend, sync: 'always', lmdbMapSize: 256 << 20 })
    t.after(() => journal.close())
    const payload = Buffer.alloc(64 << 10, 7)
    // 48 MiB in 768 events, committed as one atomic write with fsync.
    const events = Array.from({ length: 768 }, () => payload)
    const ticks = await ticksWhilePending(journal.append('big', events))
    assert.ok(ticks >= 1, `the event loop was blocked: ${ticks} timer ticks while committing`)
    assert.equal(await journal.highestSequenceNr('big'), 768)
  })

  test(`a timer keeps firing while a large page is read (${backend})`, async (t) => {
    const journal = await Journal.open(journalLocation(t, backend), { backend, sync: 'never', lmdbMapSize: 256 << 20 })
    t.after(() => journal.close())
    const payload = Buffer.alloc(16 << 10, 3)
    for (let i = 0; i < 4; i++) await journal.append('big', Array.from({ length: 768 }, () => payload))
    let events
    const ticks = await ticksWhilePending(journal.read('big').then((e) => (events = e)))
    assert.equal(events.length, 3072)
    assert.ok(ticks >= 1, `the event loop was blocked: ${ticks} timer ticks while reading`)
  })
}

for (const backend of BACKENDS) {
  test(`issue order: a read, a trim and a delete called after an unawaited append observe it, 1,000 rounds (${backend})`, async (t) => {
    const journal = await Journal.open(journalLocation(t, backend), { backend, sync: 'always' })
    t.after(() => journal.close())
    const misses = []
    for (let round = 1; round <= 1000; round++) {
      const appended = journal.append('o', Buffer.from(`e${round}`)) // not awaited before the reads
      const read = await journal.read('o')
      if (read.at(-1)?.sequenceNr !== round) misses.push(`read after append ${round}`)
      if ((await journal.highestSequenceNr('o')) !== round) misses.push(`highest after append ${round}`)
      const trimmed = journal.deleteTo('o', round - 1) // a trim, not awaited either
      const left = await journal.read('o')
      if (left.length !== 1 || left[0].sequenceNr !== round) misses.push(`read after trim ${round}: ${left.length}`)
      await appended
      await trimmed
    }
    const last = journal.append('o', 'last')
    await journal.deleteTo('o', 2 ** 53 - 1)
    await last
    assert.deepEqual(await journal.read('o'), [])
    assert.deepEqual(misses, [])
  })
}
