// The README's first example, run by test/examples.test.mjs.
import { Journal, SequenceConflictError } from 'tidelog'

const journal = await Journal.open('./data/journal', { backend: 'lmdb', sync: 'always' })

// Append: one atomic write, sequence numbers assigned by the journal.
const receipt = await journal.append('cart-7', [
  { payload: Buffer.from('{"item":"apple"}'), manifest: 'ItemAdded', tags: ['cart'] },
  'a string payload is stored as UTF-8',
])
console.log(receipt) // { firstSequenceNr: 1, lastSequenceNr: 2, firstGlobalOffset: 1 }

// Calls you do not await share group commits and keep their call order.
await Promise.all([1, 2, 3].map((i) => journal.append('cart-7', Buffer.from(`event ${i}`))))

// Read a range, or stream a whole history page by page.
const events = await journal.read('cart-7', { from: 1, max: 100 })
console.log(events[0].manifest, events[0].payload.toString()) // ItemAdded {"item":"apple"}
for await (const event of journal.replay('cart-7')) console.log(event.sequenceNr, event.payload.toString())

// Explicit writes: each must continue its stream; a conflicting one fails alone.
const [result] = await journal.write([{ persistenceId: 'cart-7', firstSequenceNr: 1, events: ['stale'] }])
if (result.status === 'rejected' && result.reason instanceof SequenceConflictError) {
  console.log(result.reason.code, result.reason.expected) // SEQUENCE_CONFLICT 6
}

// Snapshots.
await journal.snapshots.save({ persistenceId: 'cart-7', sequenceNr: 5, state: '{"items":5}' })
const snapshot = await journal.snapshots.load('cart-7') // newest, or null
if (snapshot !== null) {
  const rest = await journal.read('cart-7', { from: snapshot.sequenceNr + 1 })
  console.log(snapshot.state.toString(), rest.length) // {"items":5} 0
}

// Projections.
console.log((await journal.eventsByTag('cart')).length, (await journal.allEvents({ fromOffset: 0, max: 10 })).length)

await journal.close() // or: await using journal = await Journal.open(...)
