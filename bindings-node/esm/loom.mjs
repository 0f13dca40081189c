// ESM entry of `tidelog/loom`: re-exports the CommonJS build.
import loom from '../dist/loom.js'

export const { TidelogJournalStore } = loom
export default loom
