// Subscriptions: catch-up, live, cancellation (break, AbortSignal, close) and exit without close.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { Journal, InvalidArgumentError } from 'tidelog'
import { journalLocation, BACKENDS, tempDir, runChild } from './helpers.mjs'

async function open(t, backend, options = {}) {
  const journal = await Journal.open(journalLocation(t, backend), { backend, sync: 'never', ...options })
  t.after(() => journal.close())
  return journal
}

/** The payloads of the first `n` events of `iterator`, leaving it open. */
async function take(iterator, n) {
  const out = []
  while (out.length < n) {
    const { value, done } = await iterator.next()
    assert.equal(done, false, `ended after ${out.length} of ${n} events`)
    out.push(value.payload.toString())
  }
  return out
}

for (const backend of BACKENDS) {
  describe(`subscriptions on ${backend}`, () => {
    test('catch up, then live, for everything, a tag and a stream', async (t) => {
      const journal = await open(t, backend)
      await journal.append('a', [{ payload: 'a1', tags: ['t'] }, 'a2'])
      await journal.append('b', [{ payload: 'b1', tags: ['t'] }])
      const all = journal.subscribeAll()
      const tag = journal.subscribeTag('t')
      const stream = journal.subscribeStream('a', { from: 2 })
      assert.deepEqual(await take(all, 3), ['a1', 'a2', 'b1'])
      assert.deepEqual(await take(tag, 2), ['a1', 'b1'])
      assert.deepEqual(await take(stream, 1), ['a2'])
      // Live: the next events are not committed yet when the requests are made.
      const waiting = [take(all, 3), take(tag, 3), take(stream, 3)]
      for (let i = 3; i <= 5; i++) await journal.append('a', [{ payload: `a${i}`, tags: ['t'] }])
      const live = ['a3', 'a4', 'a5']
      assert.deepEqual(await Promise.all(waiting), [live, live, live])
      for (const it of [all, tag, stream]) await it.return()
    })
  })
}

test('for await delivers many batches exactly once and in order; offsets resume', async (t) => {
  const journal = await open(t, 'lmdb')
  const writes = []
  for (let i = 0; i < 300; i++) writes.push(journal.append('w', String(i)))
  const seen = []
  for await (const event of journal.subscribeAll({ batchSize: 7 })) {
    seen.push(event.payload.toString())
    if (seen.length === 300) break
  }
  await Promise.all(writes)
  assert.deepEqual(seen, Array.from({ length: 300 }, (_, i) => String(i)))
  const resumed = journal.subscribeAll({ from: 299 })
  assert.deepEqual(await take(resumed, 2), ['298', '299'])
  await resumed.return()
})

test('break ends the subscription; an AbortSignal rejects a waiting iteration with its reason', async (t) => {
  const journal = await open(t, 'memory')
  await journal.append('p', 'x')
  for await (const event of journal.subscribeAll()) {
    assert.equal(event.payload.toString(), 'x')
    break
  }
  const controller = new AbortController()
  const waiting = (async () => {
    for await (const _ of journal.subscribeTag('never', { signal: controller.signal })) assert.fail('no event carries the tag')
  })()
  setTimeout(() => controller.abort(), 10)
  await assert.rejects(waiting, { name: 'AbortError' })
  assert.throws(() => journal.subscribeAll({ signal: controller.signal }), { name: 'AbortError' })
})

test('closing the journal ends a waiting iteration quietly', async (t) => {
  const journal = await Journal.open(tempDir(t), { backend: 'lmdb' })
  const seen = []
  const consumer = (async () => {
    for await (const event of journal.subscribeAll()) seen.push(event.payload.toString())
  })()
  await journal.append('p', 'one')
  await new Promise((resolve) => setTimeout(resolve, 20))
  await journal.close()
  await consumer
  assert.deepEqual(seen, ['one'])
})

test('bad arguments are typed errors, thrown when subscribing', async (t) => {
  const journal = await open(t, 'memory')
  assert.throws(() => journal.subscribeTag(''), InvalidArgumentError)
  assert.throws(() => journal.subscribeStream(''), InvalidArgumentError)
  assert.throws(() => journal.subscribeAll({ from: -1 }), RangeError)
  assert.throws(() => journal.subscribeAll({ signal: 'no' }), TypeError)
})

test('a process that subscribes and never closes anything exits', async (t) => {
  const dir = tempDir(t)
  const out = await runChild({
    script: `
      import { Journal } from 'tidelog'
      const journal = await Journal.open(${JSON.stringify(dir)}, { backend: 'lmdb' })
      await journal.append('p', 'x')
      const all = journal.subscribeAll()
      const first = await all.next()
      journal.subscribeTag('t') // never iterated
      console.log(first.value.payload.toString())
      // no return(), no close(): neither the subscription nor the journal may keep the process alive
    `,
  })
  assert.equal(out.code, 0, out.stderr)
  assert.equal(out.stdout.trim(), 'x')
})

test('a waiting iteration keeps the process alive until an event arrives', async (t) => {
  const dir = tempDir(t)
  const out = await runChild({
    script: `
      import { Journal } from 'tidelog'
      const journal = await Journal.open(${JSON.stringify(dir)}, { backend: 'lmdb' })
      const all = journal.subscribeAll()
      all.next().then((r) => console.log('got', r.value.payload.toString()))
      // A native thread (not the event loop) commits later: only the pending request keeps the process up.
      setTimeout(() => journal.append('p', 'late'), 50).unref()
    `,
  })
  assert.equal(out.code, 0, out.stderr)
  assert.equal(out.stdout.trim(), 'got late')
})
