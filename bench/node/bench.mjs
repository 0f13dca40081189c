// Benchmarks of the `tidelog` Node package. Usage:
//   node bench.mjs overhead | durable | replay | percall | all   [--dir DIR]
// Build the addon in release mode first: (cd ../../bindings-node && npm run build:release).
// Prints one Markdown table row per measurement.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { Journal } from 'tidelog'
import { open as openLmdb } from 'lmdb'

const args = process.argv.slice(2)
const what = args[0] ?? 'all'
const dirArg = args.indexOf('--dir')
const root = dirArg >= 0 ? args[dirArg + 1] : os.tmpdir()
const PAYLOAD = Buffer.alloc(100, 0x61)

const dirs = []
process.on('exit', () => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })))
function freshDir(name) {
  const dir = fs.mkdtempSync(path.join(root, `tidelog-bench-${name}-`))
  dirs.push(dir)
  return dir
}

function row(...cells) {
  console.log(`| ${cells.join(' | ')} |`)
}

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

// ---- 1. per-call overhead, no sync ------------------------------------------------

async function overhead() {
  const N = 200_000
  console.log(`\n### Per-call overhead, no sync (100-byte value; ${fmt(N / 4)} awaited calls, ${fmt(N)} pipelined)\n`)
  row('store', 'mode', 'ns per call', 'calls/s')
  row('---', '---', '---:', '---:')

  const subjects = []
  for (const backend of ['lmdb', 'files', 'memory']) {
    const journal = await Journal.open(freshDir(backend), { backend, sync: 'never', lmdbMapSize: 1 << 30 })
    subjects.push({ name: `tidelog ${backend}`, put: (i) => journal.append('actor-1', PAYLOAD), close: () => journal.close() })
  }
  const db = openLmdb({ path: freshDir('lmdbjs'), noSync: true, encoding: 'binary', mapSize: 1 << 30 })
  subjects.push({ name: 'lmdb-js put (noSync)', put: (i) => db.put(i, PAYLOAD), close: () => db.close() })

  const REPEAT = 3
  for (const s of subjects) {
    // Warm up.
    for (let i = 0; i < 5000; i++) await s.put(i)
    let key = 10_000
    const best = { each: Infinity, pipelined: Infinity, issue: Infinity }
    for (let r = 0; r < REPEAT; r++) {
      // (a) await each call: the full round trip of one operation.
      const seqN = N / 4
      let t0 = performance.now()
      for (let i = 0; i < seqN; i++) await s.put(key++)
      best.each = Math.min(best.each, (performance.now() - t0) / seqN)
      // (b) pipelined: issue windows of 1,000 calls, then await them: amortised cost per call.
      t0 = performance.now()
      const window = new Array(1000)
      let issue = 0
      for (let base = 0; base < N; base += 1000) {
        const a = performance.now()
        for (let k = 0; k < 1000; k++) window[k] = s.put(key++)
        // (c) the synchronous part only: issuing the call and getting its Promise back.
        issue += performance.now() - a
        await Promise.all(window)
      }
      best.pipelined = Math.min(best.pipelined, (performance.now() - t0) / N)
      best.issue = Math.min(best.issue, issue / N)
    }
    row(s.name, 'await each call', fmt(best.each * 1e6), fmt(1000 / best.each))
    row(s.name, 'pipelined (1,000 in flight)', fmt(best.pipelined * 1e6), fmt(1000 / best.pipelined))
    row(s.name, 'issue only (synchronous part of the call)', fmt(best.issue * 1e6), fmt(1000 / best.issue))
    await s.close()
  }
  console.log(`\nBest of ${REPEAT} runs per row (the machine is shared; the best run has the least interference).`)
}

// ---- 1b. per-call figures against lmdb-js, side by side (issue 25) ----------------

/**
 * µs per call of the four per-call figures, tidelog (LMDB backend) ÷ lmdb-js 3.5.6, in one
 * process: durable append (one event, awaited: tidelog `append` with sync 'always' vs lmdb-js
 * `put` with overlappingSync: false, which resolves after the flush), non-durable append
 * (`appendSync`, sync 'never' vs `putSync`, noSync), read one event (`readSync` of one sequence
 * number vs `get`) and read 100 events (`readSync` with max 100 vs `getRange` with limit 100,
 * values collected). Subjects alternate within every round; each keeps its best round.
 */
async function percall() {
  const ROUNDS = Number(process.env.ROUNDS ?? 7)
  const STORED = 10_000
  const N = { durable: Number(process.env.DURABLE_CALLS ?? 200), append: 20_000, one: 50_000, hundred: 5_000 }
  const stream = 'actor-1'
  const tl = await Journal.open(freshDir('percall'), { backend: 'lmdb', sync: 'never', lmdbMapSize: 1 << 30 })
  const tlDurable = await Journal.open(freshDir('percall-durable'), { backend: 'lmdb', sync: 'always', lmdbMapSize: 1 << 30 })
  const db = openLmdb({ path: freshDir('percall-lmdbjs'), noSync: true, encoding: 'binary', mapSize: 1 << 30 })
  // The appends go to stores of their own: the reads then measure the same data every round.
  const tlAppend = await Journal.open(freshDir('percall-append'), { backend: 'lmdb', sync: 'never', lmdbMapSize: 1 << 30 })
  const dbAppend = openLmdb({ path: freshDir('percall-lmdbjs-append'), noSync: true, encoding: 'binary', mapSize: 1 << 30 })
  const dbDurable = openLmdb({ path: freshDir('percall-lmdbjs-durable'), overlappingSync: false, encoding: 'binary', mapSize: 1 << 30 })
  // The read set: STORED events of one stream / STORED keys 1..STORED.
  for (let i = 0; i < STORED; i += 1000) await tl.append(stream, Array.from({ length: 1000 }, () => PAYLOAD))
  for (let i = 1; i <= STORED; i++) db.putSync(i, PAYLOAD)
  // A fixed pseudo-random order of keys, the same for both.
  const keys = new Uint32Array(N.one)
  let x = 12345
  for (let i = 0; i < keys.length; i++) keys[i] = ((x = (x * 1103515245 + 12345) >>> 0) % STORED) + 1
  const starts = keys.map((k) => Math.min(k, STORED - 99))
  let appendKey = STORED + 1
  let sink = 0
  const timed = async (n, body) => {
    const t0 = performance.now()
    await body(n)
    return ((performance.now() - t0) * 1000) / n
  }
  const figures = [
    {
      name: 'durable append (1 event, awaited)',
      tidelog: ['`await append` (sync always)', (n) => timed(n, async (n) => { for (let i = 0; i < n; i++) await tlDurable.append(stream, PAYLOAD) })],
      peer: ['`await put` (overlappingSync false)', (n) => timed(n, async (n) => { for (let i = 0; i < n; i++) await dbDurable.put(appendKey++, PAYLOAD) })],
      n: N.durable,
    },
    {
      name: 'non-durable append (1 event)',
      tidelog: ['`appendSync` (sync never)', (n) => timed(n, (n) => { for (let i = 0; i < n; i++) tlAppend.appendSync('writer', PAYLOAD) })],
      peer: ['`putSync` (noSync)', (n) => timed(n, (n) => { for (let i = 0; i < n; i++) dbAppend.putSync(appendKey++, PAYLOAD) })],
      n: N.append,
    },
    {
      name: 'read one event',
      tidelog: ['`readSync(id, {from: k, to: k})`', (n) => timed(n, (n) => { for (let i = 0; i < n; i++) { const k = keys[i]; sink += tl.readSync(stream, { from: k, to: k })[0].payload.length } })],
      peer: ['`get(k)`', (n) => timed(n, (n) => { for (let i = 0; i < n; i++) sink += db.get(keys[i]).length })],
      n: N.one,
    },
    {
      name: 'read 100 events',
      tidelog: ['`readSync(id, {from: k, max: 100})`', (n) => timed(n, (n) => { for (let i = 0; i < n; i++) sink += tl.readSync(stream, { from: starts[i], max: 100 }).length })],
      peer: ['`getRange({start: k, limit: 100})`, values collected', (n) => timed(n, (n) => { for (let i = 0; i < n; i++) { const vals = []; for (const { value } of db.getRange({ start: starts[i], limit: 100 })) vals.push(value); sink += vals.length } })],
      n: N.hundred,
    },
  ]
  const best = figures.map(() => ({ tidelog: Infinity, peer: Infinity }))
  // Warm-up, then rounds; which side goes first alternates round by round.
  for (const f of figures) { await f.tidelog[1](Math.min(f.n, 1000)); await f.peer[1](Math.min(f.n, 1000)) }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, f] of figures.entries()) {
      const order = r % 2 === 0 ? ['tidelog', 'peer'] : ['peer', 'tidelog']
      for (const side of order) best[i][side] = Math.min(best[i][side], await f[side][1](f.n))
    }
  }
  console.log(`\n### Per-call figures vs lmdb-js ${lmdbVersion()} (LMDB, 100-byte events, best of ${ROUNDS} alternating rounds)\n`)
  row('figure', 'tidelog call', 'tidelog µs', 'lmdb-js call', 'lmdb-js µs', 'ratio', 'target')
  row('---', '---', '---:', '---', '---:', '---:', '---:')
  for (const [i, f] of figures.entries()) {
    const target = f.name === 'read one event' ? 1.5 : 1.0
    const ratio = best[i].tidelog / best[i].peer
    row(f.name, f.tidelog[0], fmt(best[i].tidelog, 2), f.peer[0], fmt(best[i].peer, 2), `${fmt(ratio, 2)}×${ratio <= target ? '' : ' **over**'}`, `≤ ${fmt(target, 1)}×`)
  }
  if (sink < 0) console.log(sink)
  await tl.close()
  await tlDurable.close()
  await tlAppend.close()
  await db.close()
  await dbAppend.close()
  await dbDurable.close()
}

function lmdbVersion() {
  try {
    return JSON.parse(fs.readFileSync(new URL('./node_modules/lmdb/package.json', import.meta.url), 'utf8')).version
  } catch {
    return '?'
  }
}

// ---- 2. durable throughput with 1,000 concurrent appends --------------------------

/** write + fdatasync of 128 bytes, one at a time: the device's sync rate. */
function deviceBound(seconds) {
  const file = path.join(freshDir('device'), 'probe')
  const fd = fs.openSync(file, 'w')
  const buf = Buffer.alloc(128, 1)
  // Pre-extend so the measured syncs do not change the file size (as the segment log does).
  fs.writeSync(fd, Buffer.alloc(16 << 20), 0, 16 << 20, 0)
  fs.fsyncSync(fd)
  const lat = []
  const end = performance.now() + seconds * 1000
  let pos = 0
  while (performance.now() < end) {
    const a = performance.now()
    fs.writeSync(fd, buf, 0, buf.length, pos)
    fs.fdatasyncSync(fd)
    lat.push(performance.now() - a)
    pos = (pos + 128) % (16 << 20)
  }
  fs.closeSync(fd)
  lat.sort((x, y) => x - y)
  return { perSecond: lat.length / seconds, p50: lat[lat.length >> 1] * 1000, p99: lat[Math.floor(lat.length * 0.99)] * 1000 }
}

async function durable() {
  const SECONDS = 5
  const IN_FLIGHT = 1000
  console.log(`\n### Durable throughput, ${fmt(IN_FLIGHT)} appends in flight (sync: 'always', 100-byte events, ${SECONDS} s each)\n`)
  row('subject', 'events/s', 'fsyncs/s', 'events per group commit', 'note')
  row('---', '---:', '---:', '---:', '---')
  for (const backend of ['files', 'lmdb']) {
    // The device bound, measured right before each subject (the disk is shared).
    const device = deviceBound(2)
    row('device: write+fdatasync 128 B, one at a time', fmt(device.perSecond), fmt(device.perSecond), '1', `p50 ${fmt(device.p50)} µs, p99 ${fmt(device.p99)} µs`)
    const journal = await Journal.open(freshDir(backend), { backend, sync: 'always', lmdbMapSize: 1 << 30 })
    let done = 0
    let stop = false
    const t0 = performance.now()
    await new Promise((resolve) => {
      let active = 0
      const one = (i) => {
        active++
        journal.append(`actor-${i % 100}`, PAYLOAD).then(() => {
          done++
          active--
          if (!stop) one(i + IN_FLIGHT)
          else if (active === 0) resolve()
        })
      }
      for (let i = 0; i < IN_FLIGHT; i++) one(i)
      setTimeout(() => (stop = true), SECONDS * 1000)
    })
    const dt = (performance.now() - t0) / 1000
    const m = journal.metrics()
    const perCommit = m.batchEvents.sum / Math.max(1, m.batchEvents.count)
    row(
      `tidelog ${backend}`,
      fmt(done / dt),
      fmt(m.fsyncs / dt),
      fmt(perCommit, 1),
      `${fmt(done)} events acked after fsync; ${fmt((done / dt / device.perSecond), 1)}× the one-at-a-time device bound`,
    )
    await journal.close()
  }
  // lmdb-js: by default (overlappingSync) a put resolves once committed, and the flush follows;
  // with overlappingSync: false the put resolves after a synchronous, durable commit.
  for (const [label, options] of [
    ['lmdb-js put, overlappingSync: false (ack after flush)', { overlappingSync: false }],
    ['lmdb-js put, defaults (ack at commit, flush after)', {}],
  ]) {
    const db = openLmdb({ path: freshDir('lmdbjs-durable'), encoding: 'binary', mapSize: 1 << 30, ...options })
    let done = 0
    let stop = false
    const t0 = performance.now()
    await new Promise((resolve) => {
      let active = 0
      const one = (i) => {
        active++
        db.put(i, PAYLOAD).then(() => {
          done++
          active--
          if (!stop) one(i + IN_FLIGHT)
          else if (active === 0) resolve()
        })
      }
      for (let i = 0; i < IN_FLIGHT; i++) one(i)
      setTimeout(() => (stop = true), SECONDS * 1000)
    })
    await db.flushed
    const dt = (performance.now() - t0) / 1000
    row(label, fmt(done / dt), '', '', 'reference')
    await db.close()
  }
}

// ---- 3. replay ---------------------------------------------------------------------

async function replay() {
  const TOTAL = 1_000_000
  console.log(`\n### Replay of ${fmt(TOTAL)} events of one stream (100-byte payloads)\n`)
  row('backend', 'method', 'events/s (wall)', 'seconds', 'events per CPU-second (all threads)')
  row('---', '---', '---:', '---:', '---:')
  for (const backend of ['lmdb', 'files']) {
    const journal = await Journal.open(freshDir(`replay-${backend}`), { backend, sync: 'never', lmdbMapSize: 1 << 30, maxBatchEvents: 1 << 20, maxBatchBytes: 64 << 20 })
    const batch = Array.from({ length: 1000 }, () => PAYLOAD)
    const writes = []
    for (let i = 0; i < TOTAL / 1000; i++) writes.push(journal.append('actor-1', batch))
    await Promise.all(writes)
    await journal.flush()
    if ((await journal.highestSequenceNr('actor-1')) !== TOTAL) throw new Error('setup failed')

    // Warm the page cache once.
    for await (const _ of journal.replay('actor-1', { pageSize: 4096 }));
    for (const pageSize of [1024, 4096, 16384]) {
      let best = Infinity
      let bestCpu = Infinity
      for (let r = 0; r < 2; r++) {
        let count = 0
        let bytes = 0
        const cpu0 = process.cpuUsage()
        const t0 = performance.now()
        for await (const e of journal.replay('actor-1', { pageSize })) {
          count++
          bytes += e.payload.length
        }
        best = Math.min(best, (performance.now() - t0) / 1000)
        const cpu = process.cpuUsage(cpu0)
        bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1e6)
        if (count !== TOTAL || bytes !== TOTAL * 100) throw new Error(`replayed ${count} events`)
      }
      row(backend, `for await … replay (pageSize ${fmt(pageSize)}), best of 2`, fmt(TOTAL / best), fmt(best, 3), fmt(TOTAL / bestCpu))
    }
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const all = await journal.read('actor-1')
    const dt = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    if (all.length !== TOTAL) throw new Error('short read')
    row(backend, 'read() of the whole stream in one page', fmt(TOTAL / dt), fmt(dt, 3), fmt(TOTAL / ((cpu.user + cpu.system) / 1e6)))
    await journal.close()
  }
}

const runs = { overhead, durable, replay, percall }
console.log(`Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${os.platform()} ${os.release()}, data in ${root}, ${new Date().toISOString()}`)
for (const [name, run] of Object.entries(runs)) {
  if (what === 'all' || what === name) await run()
}
