// Every error code, each produced by a real trigger where one exists, and the
// exhaustiveness of the code -> class table.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import * as tidelog from 'tidelog'
import { nativeErrorCodes } from '../dist/index.js'
import { tempDir, runChild, ownPostgresServer } from './helpers.mjs'

const { Journal, TidelogError, errorClasses, createError } = tidelog

function expectCode(code, Class) {
  return (err) => {
    assert.ok(err instanceof TidelogError, `not a TidelogError: ${err}`)
    assert.ok(err instanceof Class, `${err.name} is not a ${Class.name}`)
    assert.equal(err.code, code)
    assert.equal(err.name, Class.name)
    assert.ok(err.message.length > 0)
    return true
  }
}

test('every native error code has a class, and every class round-trips its code', () => {
  const codes = nativeErrorCodes()
  assert.equal(codes.length, Object.keys(errorClasses).length, 'the JS table and the core kinds differ in size')
  for (const code of codes) {
    const Class = errorClasses[code]
    assert.ok(Class, `no error class for native code ${code}`)
    const err = createError(code, 'message')
    assert.ok(err instanceof Class)
    assert.ok(err instanceof TidelogError)
    assert.ok(err instanceof Error)
    assert.equal(err.code, code)
    assert.equal(tidelog[Class.name], Class, `${Class.name} is exported`)
  }
})

test('CLOSED: an operation after close', async (t) => {
  const journal = await Journal.open(tempDir(t), { backend: 'files' })
  await journal.close()
  await assert.rejects(journal.append('p', 'x'), expectCode('CLOSED', tidelog.ClosedError))
  await assert.rejects(journal.nextGlobalOffset(), expectCode('CLOSED', tidelog.ClosedError))
})

test('LOCKED: a second writer on the same directory', async (t) => {
  const dir = tempDir(t)
  const first = await Journal.open(dir)
  t.after(() => first.close())
  await assert.rejects(Journal.open(dir), expectCode('LOCKED', tidelog.LockedError))
})

test('SEQUENCE_CONFLICT: an explicit write that does not continue its stream', async (t) => {
  const journal = await Journal.open(tempDir(t), { backend: 'lmdb' })
  t.after(() => journal.close())
  await journal.append('p', 'x')
  const [result] = await journal.write([{ persistenceId: 'p', firstSequenceNr: 1, events: ['again'] }])
  expectCode('SEQUENCE_CONFLICT', tidelog.SequenceConflictError)(result.reason)
  assert.deepEqual([result.reason.persistenceId, result.reason.expected, result.reason.actual], ['p', 2, 1])
})

test('INVALID_ARGUMENT: values the core refuses', async (t) => {
  const journal = await Journal.open(tempDir(t), { backend: 'memory' })
  t.after(() => journal.close())
  const invalid = expectCode('INVALID_ARGUMENT', tidelog.InvalidArgumentError)
  await assert.rejects(journal.append('', 'x'), invalid)
  await assert.rejects(journal.append('p', []), invalid)
  await assert.rejects(journal.append('p\0q', 'x'), invalid)
  await assert.rejects(journal.append('p', { payload: 'x', tags: [''] }), invalid)
  await assert.rejects(journal.eventsByTag(''), invalid)
  await assert.rejects(Journal.open(tempDir(t), { sync: 'sometimes' }), invalid)
  await assert.rejects(Journal.open(tempDir(t), { backend: 'tape' }), invalid)
  await assert.rejects(Journal.open(tempDir(t), { maxBatchEvents: 0 }), invalid)
})

test('CORRUPT: a damaged FORMAT marker', async (t) => {
  const dir = tempDir(t)
  const journal = await Journal.open(dir, { backend: 'files' })
  await journal.close()
  fs.writeFileSync(path.join(dir, 'FORMAT'), 'tidelog journal\ngarbage\n')
  await assert.rejects(Journal.open(dir, { backend: 'files' }), expectCode('CORRUPT', tidelog.CorruptError))
})

test('UNSUPPORTED_FORMAT: a journal from a newer format version', async (t) => {
  const dir = tempDir(t)
  const journal = await Journal.open(dir, { backend: 'lmdb' })
  await journal.close()
  const file = path.join(dir, 'FORMAT')
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/format = \d+/, 'format = 999'))
  await assert.rejects(Journal.open(dir, { backend: 'lmdb' }), expectCode('UNSUPPORTED_FORMAT', tidelog.UnsupportedFormatError))
})

test('IO: a journal path below a regular file', async (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'plain-file')
  fs.writeFileSync(file, 'not a directory')
  await assert.rejects(Journal.open(path.join(file, 'journal'), { backend: 'files' }), expectCode('IO', tidelog.IoError))
})

test('STORAGE_FULL: a write beyond the file-size limit (ulimit -f), and the journal keeps working', async (t) => {
  const dir = tempDir(t)
  const script = `
    import { Journal } from 'tidelog'
    const journal = await Journal.open(${JSON.stringify(dir)}, { backend: 'files' })
    try {
      await journal.append('p', Buffer.alloc(16 << 20))
      console.log('no error')
    } catch (err) {
      console.log(JSON.stringify({ code: err.code, name: err.name }))
    }
    const r = await journal.append('p', 'small')
    console.log(JSON.stringify({ after: r.firstSequenceNr }))
    await journal.close()
  `
  // bash's ulimit -f counts 1 KiB blocks; Node ignores SIGXFSZ, so the write fails with EFBIG.
  const out = await runChild({ shell: `ulimit -f 8192 && exec "${process.execPath}" --input-type=module -e "$SCRIPT"`, env: { SCRIPT: script } })
  assert.equal(out.code, 0, out.stderr)
  const [first, second] = out.stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.deepEqual(first, { code: 'STORAGE_FULL', name: 'StorageFullError' })
  assert.deepEqual(second, { after: 1 })
})

test('FAILED: after a flush fails, the journal refuses writes until reopened', async (t) => {
  // A preloaded shim (tests/faults/failsync.c) makes fdatasync fail with EIO once 20 calls succeeded.
  const shim = path.join(tempDir(t), 'libfailsync.so')
  const source = path.resolve(import.meta.dirname, '../../tests/faults/failsync.c')
  const cc = await runChild({ shell: `gcc -shared -fPIC -O2 -o "${shim}" "${source}" -ldl` })
  assert.equal(cc.code, 0, cc.stderr)
  const dir = tempDir(t)
  const script = `
    import { Journal } from 'tidelog'
    const journal = await Journal.open(${JSON.stringify(dir)}, { backend: 'files' })
    let first
    for (let i = 0; i < 200 && !first; i++) {
      try { await journal.append('p', 'x') } catch (err) { first = err }
    }
    console.log(JSON.stringify({ code: first?.code }))
    try { await journal.append('p', 'after'); console.log('{}') } catch (err) { console.log(JSON.stringify({ code: err.code, name: err.name })) }
    await journal.close()
  `
  const out = await runChild({ script, env: { LD_PRELOAD: shim, TIDELOG_FAIL_SYNC_AFTER: '20' } })
  assert.equal(out.code, 0, out.stderr)
  const [first, second] = out.stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(first.code, 'IO', 'the failed flush itself is an I/O error')
  assert.deepEqual(second, { code: 'FAILED', name: 'FailedError' })
  expectCode('FAILED', tidelog.FailedError)(createError('FAILED', 'journal failed earlier and must be reopened'))
})

test('a string holding a lone UTF-16 surrogate is an InvalidArgumentError, not a lossy conversion', async (t) => {
  const dir = tempDir(t)
  const journal = await Journal.open(dir)
  t.after(() => journal.close())
  for (const bad of ['a\uD800', 'a\uDC00b', '\uDBFF']) {
    assert.throws(() => journal.append(bad, 'x'), expectCode('INVALID_ARGUMENT', tidelog.InvalidArgumentError))
    assert.throws(() => journal.append('p', [{ payload: 'x', tags: [bad] }]), expectCode('INVALID_ARGUMENT', tidelog.InvalidArgumentError))
  }
  // A surrogate pair is a real character and fine.
  await journal.append('a\uD83D\uDE00', 'x')
  assert.equal((await journal.read('a\uD83D\uDE00')).length, 1)
  assert.equal((await journal.read('a\uFFFD')).length, 0)
})

test('IO with retryable: a stopped PostgreSQL server fails appends (awaited and in a write list) and opening', async (t) => {
  const server = ownPostgresServer()
  if (server === undefined) {
    if (process.env.CI === 'true') assert.fail('CI=true but TIDELOG_TEST_POSTGRES_CTL is unset: run the tests through tests/postgres.sh')
    t.skip('needs tests/postgres.sh (TIDELOG_TEST_POSTGRES_CTL)')
    return
  }
  let stopped = false
  t.after(() => stopped || server.stop())
  const location = `${server.uri}?tidelog_schema=retry`
  const journal = await Journal.open(location, { sync: 'always' })
  assert.equal(journal.backend, 'postgres')
  const password = server.uri.split('://')[1].split('@')[0].split(':')[1]
  assert.ok(password && !journal.path.includes(password), 'the path shows no password')
  await journal.append('p', 'stored')
  server.stop()
  stopped = true
  const retryable = (err) => {
    expectCode('IO', tidelog.IoError)(err)
    assert.equal(err.retryable, true, err.message)
    assert.ok(!err.message.includes(password))
    return true
  }
  // A result record (the completion queue) and a result list both carry the flag.
  await assert.rejects(journal.append('p', 'lost'), retryable)
  const [result] = await journal.write([{ persistenceId: 'q', firstSequenceNr: 1, events: ['lost'] }])
  assert.equal(result.status, 'rejected')
  retryable(result.reason)
  await journal.close()
  // A rejected task (the native open) too.
  await assert.rejects(Journal.open(location), retryable)
})

test('errors a retry cannot cure are not retryable', async (t) => {
  const journal = await Journal.open(tempDir(t), { backend: 'memory' })
  await journal.append('p', 'x')
  const [conflict] = await journal.write([{ persistenceId: 'p', firstSequenceNr: 5, events: ['y'] }])
  assert.equal(conflict.reason.code, 'SEQUENCE_CONFLICT')
  assert.equal(conflict.reason.retryable, false)
  await journal.close()
  await assert.rejects(journal.append('p', 'z'), (err) => err.code === 'CLOSED' && err.retryable === false)
  assert.equal(createError('IO', 'm', undefined, true).retryable, true)
  assert.equal(createError('IO', 'm').retryable, false)
})
