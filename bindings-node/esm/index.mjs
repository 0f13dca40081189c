// ESM entry: re-exports the CommonJS build (one copy of the module state).
import tidelog from '../dist/index.js'

export const {
  Journal,
  SnapshotStore,
  TidelogError,
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
} = tidelog
export default tidelog
