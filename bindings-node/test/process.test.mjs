// Process-level behaviour: exiting without close, staying alive while work is
// pending, and crash safety (SIGKILL) of acknowledged events.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Journal } from 'tidemark'
import { BACKENDS, DURABLE_BACKENDS, tempDir, runChild } from './helpers.mjs'

for (const backend of BACKENDS) {
  test(`a process that never closes its journal still exits (${backend})`, async (t) => {
    const dir = tempDir(t)
    const out = await runChild({
      script: `
        import { Journal } from 'tidemark'
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
      import { Journal } from 'tidemark'
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
    const dir = tempDir(t)
    const acked = []
    let killed = false
    const out = await runChild({
      script: `
        import { Journal } from 'tidemark'
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
