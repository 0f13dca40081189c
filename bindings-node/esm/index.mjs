// ESM entry: re-exports the CommonJS build (one copy of the module state).
import tidemark from '../dist/index.js'

export const {
  Journal,
  SnapshotStore,
  TidemarkError,
  ClosedError,
  LockedError,
  SequenceConflictError,
  InvalidArgumentError,
  CorruptError,
  UnsupportedFormatError,
  StorageFullError,
  IoError,
  FailedError,
  errorClasses,
  createError,
} = tidemark
export default tidemark
