// ESM consumers get the same types (compiled by test.sh with tsc --noEmit).
import { Journal, TidemarkError, type WriteReceipt } from 'tidemark'
import { TidemarkJournalStore, type JournalStore } from 'tidemark/loom'

export async function esmUsage(): Promise<void> {
  // `await using` closes the journal at the end of the scope (Symbol.asyncDispose).
  await using journal = await Journal.open('./esm-data', { backend: 'memory' })
  const receipt: WriteReceipt = await journal.append('a', 'x')
  const store: JournalStore = await TidemarkJournalStore.open('./esm-loom')
  await store.appendEntry('actor', { type: 'suspended', reason: 'r' })
  if (receipt.firstSequenceNr < 0) throw new TidemarkError('IO', 'impossible')
}
