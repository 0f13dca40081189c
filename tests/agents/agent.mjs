// The Node agent of the cross-language matrix (see tests/run.py); same commands as the Rust agent.
import { readFileSync } from 'node:fs'
import { Journal } from '../../bindings-node/esm/index.mjs'

const b64 = (s) => Buffer.from(s, 'base64')
const payloadOf = (p) => Buffer.concat(Array(p.repeat ?? 1).fill(b64(p.base64)))
const crashPayload = (pid, seq) => Buffer.from(`${pid}:${seq}:`.repeat(1 + (seq % 40)))

function check(ok, what) {
  if (!ok) throw new Error(what)
}

function expectedEvents(fx) {
  const highest = new Map()
  const deleted = new Map(fx.deletions.map((d) => [d.persistence_id, d.to]))
  let offset = 0
  const out = []
  for (const a of fx.appends) {
    for (const e of a.events) {
      offset += 1
      const seq = (highest.get(a.persistence_id) ?? 0) + 1
      highest.set(a.persistence_id, seq)
      if (seq <= (deleted.get(a.persistence_id) ?? 0)) continue
      out.push({ persistenceId: a.persistence_id, sequenceNr: seq, globalOffset: offset, timestamp: e.timestamp, manifest: e.manifest, writerId: e.writer_id, tags: e.tags, metadata: b64(e.metadata), payload: payloadOf(e.payload) })
    }
  }
  return out
}

const same = (got, want) =>
  got.length === want.length &&
  got.every((g, i) => {
    const w = want[i]
    return g.persistenceId === w.persistenceId && g.sequenceNr === w.sequenceNr && g.globalOffset === w.globalOffset && g.timestamp === w.timestamp &&
      g.manifest === w.manifest && g.writerId === w.writerId && JSON.stringify(g.tags) === JSON.stringify(w.tags) &&
      Buffer.compare(g.metadata, w.metadata) === 0 && Buffer.compare(g.payload, w.payload) === 0
  })

async function write(j, fx) {
  for (const a of fx.appends) {
    await j.append(a.persistence_id, a.events.map((e) => ({ payload: payloadOf(e.payload), manifest: e.manifest, writerId: e.writer_id, tags: e.tags, timestamp: e.timestamp, metadata: b64(e.metadata) })))
  }
  for (const d of fx.deletions) await j.deleteTo(d.persistence_id, d.to)
  for (const s of fx.snapshots) {
    await j.snapshots.save({ persistenceId: s.persistence_id, sequenceNr: s.sequence_nr, timestamp: s.timestamp, manifest: s.manifest, metadata: b64(s.metadata), state: b64(s.state) })
  }
}

async function verify(j, fx) {
  const want = expectedEvents(fx)
  check(same(await j.allEvents(), want), 'allEvents differs')
  const ids = [...new Set(fx.appends.map((a) => a.persistence_id))].sort()
  check(JSON.stringify(await j.persistenceIds()) === JSON.stringify(ids), 'persistence ids differ')
  for (const pid of ids) {
    check(same(await j.read(pid), want.filter((e) => e.persistenceId === pid)), `read(${pid}) differs`)
    const appended = fx.appends.filter((a) => a.persistence_id === pid).reduce((n, a) => n + a.events.length, 0)
    check((await j.highestSequenceNr(pid)) === appended, `highest of ${pid}`)
  }
  check(same(await j.eventsByTag('orders'), want.filter((e) => e.tags.includes('orders'))), 'tag query differs')
  for (const s of fx.snapshots) {
    const pid = s.persistence_id
    const latest = fx.snapshots.filter((x) => x.persistence_id === pid).reduce((a, b) => (b.sequence_nr > a.sequence_nr ? b : a))
    for (const [expect, snap] of [[latest, await j.snapshots.load(pid)], [s, await j.snapshots.load(pid, { maxSequenceNr: s.sequence_nr, minTimestamp: s.timestamp })]]) {
      check(snap && snap.sequenceNr === expect.sequence_nr && snap.timestamp === expect.timestamp && snap.manifest === expect.manifest &&
        Buffer.compare(snap.metadata, b64(expect.metadata)) === 0 && Buffer.compare(snap.state, b64(expect.state)) === 0, `snapshot ${pid}@${expect.sequence_nr}`)
    }
  }
}

async function crash(j) {
  for (let i = 0; ; i++) {
    const pid = `crash-node-${i % 3}`
    const next = (await j.highestSequenceNr(pid)) + 1
    const events = []
    for (let s = next; s < next + 1 + (i % 3); s++) events.push(crashPayload(pid, s))
    const r = await j.append(pid, events)
    process.stdout.write(`ack ${pid} ${r.lastSequenceNr}\n`)
  }
}

async function acks(j, ackFile) {
  const acked = new Map()
  for (const line of readFileSync(ackFile, 'utf8').split('\n')) {
    const [tag, pid, seq] = line.trim().split(/\s+/)
    if (tag === 'ack') acked.set(pid, Math.max(acked.get(pid) ?? 0, Number(seq)))
  }
  for (const [pid, highest] of acked) {
    const events = await j.read(pid)
    check(events.length >= highest, `${pid}: ${events.length} events, ${highest} acknowledged`)
    events.forEach((e, i) => check(e.sequenceNr === i + 1 && Buffer.compare(e.payload, crashPayload(pid, e.sequenceNr)) === 0, `${pid}: event ${e.sequenceNr} damaged`))
  }
}

async function readLive(j) {
  let total = 0
  for (const pid of await j.persistenceIds()) {
    const events = await j.read(pid)
    events.forEach((e, i) => check(e.sequenceNr === events[0].sequenceNr + i && Buffer.compare(e.payload, crashPayload(pid, e.sequenceNr)) === 0, `${pid}: inconsistent`))
    total += events.length
  }
  check(total > 0, 'a reader beside the writer saw no events')
  console.log(`read ${total}`)
}

async function main() {
  const [cmd, path, backend, extra] = process.argv.slice(2)
  if (cmd === 'lock') {
    try {
      await (await Journal.open(path, { backend })).close()
      console.log('OPENED')
    } catch (err) {
      if (err.code !== 'LOCKED') throw err
      console.log('LOCKED')
    }
    return
  }
  const j = await Journal.open(path, { backend, readOnly: cmd === 'read' })
  try {
    if (cmd === 'write') await write(j, JSON.parse(readFileSync(extra, 'utf8')))
    else if (cmd === 'verify') await verify(j, JSON.parse(readFileSync(extra, 'utf8')))
    else if (cmd === 'crash') await crash(j)
    else if (cmd === 'acks') await acks(j, extra)
    else if (cmd === 'read') await readLive(j)
    else throw new Error(`unknown command ${cmd}`)
  } finally {
    await j.close()
  }
}

main().catch((err) => {
  console.error(err.code ? `${err.code}: ${err.message}` : (err.stack ?? err))
  process.exit(1)
})
