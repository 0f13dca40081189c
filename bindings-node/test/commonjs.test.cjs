// The package works from CommonJS `require` as well as ESM `import`.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const os = require('node:os')
const fs = require('node:fs')
const path = require('node:path')

test('require("tidemark") and require("tidemark/loom")', async (t) => {
  const { Journal, TidemarkError, SequenceConflictError } = require('tidemark')
  const { TidemarkJournalStore } = require('tidemark/loom')
  assert.equal(typeof Journal.open, 'function')
  assert.ok(SequenceConflictError.prototype instanceof TidemarkError)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-cjs-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const store = await TidemarkJournalStore.open(dir)
  await store.appendEntry('a', { type: 'suspended', reason: 'r' })
  assert.deepEqual(await store.readEntries('a'), [{ type: 'suspended', reason: 'r' }])
  await store.close()
})

test('ESM and CommonJS share one module instance', async () => {
  const cjs = require('tidemark')
  const esm = await import('tidemark')
  assert.equal(esm.Journal, cjs.Journal)
  assert.equal(esm.default, cjs)
  const loomEsm = await import('tidemark/loom')
  assert.equal(loomEsm.TidemarkJournalStore, require('tidemark/loom').TidemarkJournalStore)
})
