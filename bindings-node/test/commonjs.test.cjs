// The package works from CommonJS `require` as well as ESM `import`.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const os = require('node:os')
const fs = require('node:fs')
const path = require('node:path')

test('require("tidelog") and require("tidelog/loom")', async (t) => {
  const { Journal, TidelogError, SequenceConflictError } = require('tidelog')
  const { TidelogJournalStore } = require('tidelog/loom')
  assert.equal(typeof Journal.open, 'function')
  assert.ok(SequenceConflictError.prototype instanceof TidelogError)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidelog-cjs-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const store = await TidelogJournalStore.open(dir)
  await store.appendEntry('a', { type: 'suspended', reason: 'r' })
  assert.deepEqual(await store.readEntries('a'), [{ type: 'suspended', reason: 'r' }])
  await store.close()
})

test('ESM and CommonJS share one module instance', async () => {
  const cjs = require('tidelog')
  const esm = await import('tidelog')
  assert.equal(esm.Journal, cjs.Journal)
  assert.equal(esm.default, cjs)
  const loomEsm = await import('tidelog/loom')
  assert.equal(loomEsm.TidelogJournalStore, require('tidelog/loom').TidelogJournalStore)
})
