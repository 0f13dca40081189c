import fs from 'node:fs'
import { Journal } from 'tidelog'
import { open as openLmdb } from 'lmdb'
const dir = fs.mkdtempSync('/work/wt-rd/target/bench-percall/prof-')
const j = await Journal.open(dir, { backend: 'lmdb', sync: 'never', lmdbMapSize: 1 << 30 })
const P = Buffer.alloc(100, 97)
for (let i = 0; i < 10000; i += 1000) await j.append('actor-1', Array.from({ length: 1000 }, () => P))
const db = openLmdb({ path: dir + '/lj', noSync: true, encoding: 'binary', mapSize: 1 << 30 })
for (let i = 1; i <= 10000; i++) db.putSync(i, P)
let sink = 0
const N = 1000000
const t = (name, f) => { f(10000); const t0 = performance.now(); f(N); console.log(name, ((performance.now() - t0) * 1000 / N).toFixed(3), 'us') }
for (let r = 0; r < 2; r++) {
t('readSync', (n) => { for (let i = 0; i < n; i++) { const k = (i * 7919) % 10000 + 1; sink += j.readSync('actor-1', { from: k, to: k })[0].payload.length } })
t('readSync same key', (n) => { for (let i = 0; i < n; i++) { sink += j.readSync('actor-1', { from: 5, to: 5 })[0].payload.length } })
t('highestSequenceNrSync', (n) => { for (let i = 0; i < n; i++) sink += j.highestSequenceNrSync('actor-1') })
t('lmdb-js get', (n) => { for (let i = 0; i < n; i++) { const k = (i * 7919) % 10000 + 1; sink += db.get(k).length } })
t('Buffer.allocUnsafe(100)+copy', (n) => { const s = Buffer.alloc(1000); for (let i = 0; i < n; i++) { const b = Buffer.allocUnsafe(100); s.copy(b, 0, 200, 300); sink += b.length } })
}
await j.close()
fs.rmSync(dir, { recursive: true })
