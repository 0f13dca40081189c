// ESM entry of `tidemark/loom`: re-exports the CommonJS build.
import loom from '../dist/loom.js'

export const { TidemarkJournalStore } = loom
export default loom
