// Process-level behaviour: exiting without close, staying alive while work is
// pending, and crash safety (SIGKILL) of acknowledged events.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Journal } from 'tidelog'
import { journalLocation, BACKENDS, DURABLE_BACKENDS, tempDir, runChild } from './helpers.mjs'

for (const backend of BACKENDS) {
  test(`a process that never closes its journal still exits (${backend})`, async (t) => {
    const dir = journalLocation(t, backend)
    const out = await runChild({
      script: `
        import { Journal } from 'tidelog'
        const journal = await Journal.open(${JSON.stringify(dir)}, { backend: ${JSON.stringify(backend)} })
        await journal.append('p', 'x')
        await journal.read('p')
        await journal.snapshots.save({ persistenceId: 'p', sequenceNr: 1, state: 's' })
        console.log('done')
        // no close(): the threadsafe function and the writer thread must not keep the process alive
      `,
    })
    assert.equal(out.code, 0, out.stderr)
    assert.equal(out.stdout.trim(), 'done')
  })
}

test('pending operations keep the process alive until they settle', async (t) => {
  const dir = tempDir(t)
  const out = await runChild({
    script: `
      import { Journal } from 'tidelog'
      Journal.open(${JSON.stringify(dir)}, { backend: 'files' }).then((journal) => {
        // Not awaited, and nothing else keeps the event loop alive.
        for (let i = 0; i < 100; i++) journal.append('p', 'x' + i).then((r) => { if (r.firstSequenceNr === 100) console.log('all acknowledged') })
      })
    `,
  })
  assert.equal(out.code, 0, out.stderr)
  assert.equal(out.stdout.trim(), 'all acknowledged')
})

for (const backend of DURABLE_BACKENDS) {
  test(`acknowledged events survive SIGKILL (${backend})`, async (t) => {
    const dir = journalLocation(t, backend)
    const acked = []
    let killed = false
    const out = await runChild({
      script: `
        import { Journal } from 'tidelog'
        const journal = await Journal.open(${JSON.stringify(dir)}, { backend: ${JSON.stringify(backend)}, sync: 'always' })
        let n = 0
        // Keep 32 appends in flight across 4 streams; report each acknowledgement.
        const one = () => {
          const i = n++
          const pid = 'actor-' + (i % 4)
          journal.append(pid, Buffer.from('payload-' + i)).then((r) => {
            process.stdout.write(pid + ' ' + r.firstSequenceNr + ' ' + i + '\\n')
            one()
          })
        }
        for (let k = 0; k < 32; k++) one()
      `,
      onLine: (line, child) => {
        acked.push(line.split(' '))
        if (acked.length >= 400 && !killed) {
          killed = true
          child.kill('SIGKILL')
        }
      },
    })
    assert.equal(out.signal, 'SIGKILL', `child ended on its own: ${out.stderr}`)
    assert.ok(acked.length >= 400)

    const journal = await Journal.open(dir, { backend })
    t.after(() => journal.close())
    const streams = new Map()
    for (const pid of new Set(acked.map(([pid]) => pid))) {
      streams.set(pid, new Map((await journal.read(pid)).map((e) => [e.sequenceNr, e.payload.toString()])))
    }
    for (const [pid, seq, i] of acked) {
      assert.equal(streams.get(pid).get(Number(seq)), `payload-${i}`, `acknowledged event ${pid}#${seq} lost`)
    }
    // Streams stay gapless after recovery, and the journal accepts writes again.
    for (const [pid, events] of streams) {
      const seqs = [...events.keys()]
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, k) => k + 1))
      assert.equal((await journal.append(pid, 'after')).firstSequenceNr, seqs.length + 1)
    }
  })
}

test('journals in worker threads: terminate with operations pending, and a worker that exits by itself', async (t) => {
  const { Worker } = await import('node:worker_threads')
  const dir = tempDir(t)
  const code = `
    const { Journal } = require(${JSON.stringify(new URL('../dist/index.js', import.meta.url).pathname)})
    const { parentPort, workerData } = require('node:worker_threads')
    ;(async () => {
      const journal = await Journal.open(workerData.dir + '/' + workerData.n, { backend: 'files' })
      const receipt = await journal.append('w', Buffer.from('x'))
      for (let i = 0; i < 100; i++) journal.append('w', Buffer.from('y')).catch(() => {}) // left pending
      parentPort.postMessage(receipt.firstSequenceNr)
    })()
  `
  for (let n = 0; n < 3; n++) {
    const worker = new Worker(code, { eval: true, workerData: { dir, n } })
    const acked = await new Promise((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
    assert.equal(acked, 1)
    await worker.terminate() // completions arriving after the worker's environment is gone must be harmless
  }
  const worker = new Worker(code, { eval: true, workerData: { dir, n: 9 } })
  const [acked, exitCode] = await Promise.all([
    new Promise((resolve) => worker.once('message', resolve)),
    new Promise((resolve) => worker.once('exit', resolve)),
  ])
  assert.equal(acked, 1)
  assert.equal(exitCode, 0, 'a worker that never closes its journal exits by itself')
  // What the worker acknowledged is readable from the main thread (read-only: its writer may still hold the lock).
  const journal = await Journal.open(`${dir}/9`, { backend: 'files', readOnly: true })
  t.after(() => journal.close())
  assert.ok((await journal.highestSequenceNr('w')) >= 1)
})
