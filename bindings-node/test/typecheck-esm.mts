// ESM consumers get the same types (compiled by test.sh with tsc --noEmit).
import { Journal, TidelogError, type WriteReceipt } from 'tidelog'
import { TidelogJournalStore, type JournalStore } from 'tidelog/loom'

export async function esmUsage(): Promise<void> {
  // `await using` closes the journal at the end of the scope (Symbol.asyncDispose).
  await using journal = await Journal.open('./esm-data', { backend: 'memory' })
  const receipt: WriteReceipt = await journal.append('a', 'x')
  const store: JournalStore = await TidelogJournalStore.open('./esm-loom')
  await store.appendEntry('actor', { type: 'suspended', reason: 'r' })
  if (receipt.firstSequenceNr < 0) throw new TidelogError('IO', 'impossible')
}
