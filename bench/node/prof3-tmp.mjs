import fs from 'node:fs'
import { Journal } from 'tidelog'
const dir = fs.mkdtempSync('/work/wt-rd/target/bench-percall/prof-')
const j = await Journal.open(dir, { backend: 'lmdb', sync: 'never', lmdbMapSize: 1 << 30 })
const P = Buffer.alloc(100, 97)
for (let i = 0; i < 10000; i += 1000) await j.append('actor-1', Array.from({ length: 1000 }, () => P))
let sink = 0
const N = 2000000
for (let i = 0; i < N; i++) { const k = (i * 7919) % 10000 + 1; sink += j.readSync('actor-1', { from: k, to: k })[0].payload.length }
await j.close()
