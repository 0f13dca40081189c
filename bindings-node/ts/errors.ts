/**
 * Errors raised by Tidelog. Every failure the core reports is a
 * {@link TidelogError} with a stable string {@link TidelogError.code}; each
 * code also has its own subclass, so both `err.code === 'SEQUENCE_CONFLICT'`
 * and `err instanceof SequenceConflictError` work. Arguments of the wrong
 * JavaScript type are rejected with a plain `TypeError` (or `RangeError` for
 * numbers out of range) before anything reaches the core.
 */

/** Stable error codes, one per core error kind. */
export type ErrorCode =
  | 'CLOSED'
  | 'LOCKED'
  | 'SEQUENCE_CONFLICT'
  | 'INVALID_ARGUMENT'
  | 'CORRUPT'
  | 'UNSUPPORTED_FORMAT'
  | 'STORAGE_FULL'
  | 'IO'
  | 'FAILED'

/** Options of every error's constructor. */
export interface TidelogErrorOptions {
  cause?: unknown
  /** Whether retrying the call may succeed (default false); see {@link TidelogError.retryable}. */
  retryable?: boolean
}

/** Base class of every error the journal reports. */
export class TidelogError extends Error {
  /** Stable, machine-readable code; switch on this. */
  readonly code: ErrorCode
  /**
   * True when retrying the call may succeed: a lost PostgreSQL connection, a
   * server restarting. Nothing of the failed call was acknowledged, and the
   * journal reconnects by itself.
   */
  readonly retryable: boolean

  constructor(code: ErrorCode, message: string, options?: TidelogErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.retryable = options?.retryable === true
    this.name = new.target.name
  }
}

/** The journal (or its snapshot store) was closed. */
export class ClosedError extends TidelogError {
  constructor(message = 'journal is closed', options?: TidelogErrorOptions) {
    super('CLOSED', message, options)
  }
}

/** Another writer (process or open handle) holds the journal's lock. */
export class LockedError extends TidelogError {
  constructor(message: string, options?: TidelogErrorOptions) {
    super('LOCKED', message, options)
  }
}

/** An explicit write did not continue its stream (first sequence nr must be highest + 1). */
export class SequenceConflictError extends TidelogError {
  /** The stream the write was for. */
  readonly persistenceId: string | undefined
  /** The sequence number the journal expected (highest + 1). */
  readonly expected: number | bigint | undefined
  /** The first sequence number the write carried. */
  readonly actual: number | bigint | undefined

  constructor(
    message: string,
    details: { persistenceId?: string; expected?: number | bigint; actual?: number | bigint } = {},
    options?: TidelogErrorOptions,
  ) {
    super('SEQUENCE_CONFLICT', message, options)
    this.persistenceId = details.persistenceId
    this.expected = details.expected
    this.actual = details.actual
  }
}

/** The journal refused an argument (empty persistence id, empty write, bad option, read-only journal, ...). */
export class InvalidArgumentError extends TidelogError {
  constructor(message: string, options?: TidelogErrorOptions) {
    super('INVALID_ARGUMENT', message, options)
  }
}

/** Stored data failed a checksum or could not be decoded. */
export class CorruptError extends TidelogError {
  constructor(message: string, options?: TidelogErrorOptions) {
    super('CORRUPT', message, options)
  }
}

/** The journal was written by a newer on-disk format. */
export class UnsupportedFormatError extends TidelogError {
  constructor(message: string, options?: TidelogErrorOptions) {
    super('UNSUPPORTED_FORMAT', message, options)
  }
}

/** The device is full (or a file-size limit was hit); nothing of the failed operation was acknowledged. */
export class StorageFullError extends TidelogError {
  constructor(message: string, options?: TidelogErrorOptions) {
    super('STORAGE_FULL', message, options)
  }
}

/** An operating-system, LMDB or PostgreSQL I/O error (`retryable` marks those worth retrying). */
export class IoError extends TidelogError {
  constructor(message: string, options?: TidelogErrorOptions) {
    super('IO', message, options)
  }
}

/** An earlier storage failure (a failed fsync) poisoned the journal: reopen it. */
export class FailedError extends TidelogError {
  constructor(message: string, options?: TidelogErrorOptions) {
    super('FAILED', message, options)
  }
}

/** Details the native layer may attach to an error. */
export interface ErrorDetails {
  persistenceId?: string
  expected?: number | bigint
  actual?: number | bigint
}

/**
 * The one table from error code to error class. A code the native layer
 * reports but this table lacks is a bug caught by the test suite.
 */
export const errorClasses: { readonly [C in ErrorCode]: new (message: string, ...rest: never[]) => TidelogError } = {
  CLOSED: ClosedError,
  LOCKED: LockedError,
  SEQUENCE_CONFLICT: SequenceConflictError,
  INVALID_ARGUMENT: InvalidArgumentError,
  CORRUPT: CorruptError,
  UNSUPPORTED_FORMAT: UnsupportedFormatError,
  STORAGE_FULL: StorageFullError,
  IO: IoError,
  FAILED: FailedError,
}

/** Builds the error for a code reported by the native layer. */
export function createError(code: string, message: string, details?: ErrorDetails, retryable = false): TidelogError {
  const options: TidelogErrorOptions = { retryable }
  switch (code as ErrorCode) {
    case 'CLOSED':
      return new ClosedError(message, options)
    case 'LOCKED':
      return new LockedError(message, options)
    case 'SEQUENCE_CONFLICT':
      return new SequenceConflictError(message, details, options)
    case 'INVALID_ARGUMENT':
      return new InvalidArgumentError(message, options)
    case 'CORRUPT':
      return new CorruptError(message, options)
    case 'UNSUPPORTED_FORMAT':
      return new UnsupportedFormatError(message, options)
    case 'STORAGE_FULL':
      return new StorageFullError(message, options)
    case 'IO':
      return new IoError(message, options)
    case 'FAILED':
      return new FailedError(message, options)
    default:
      // Unknown to this JS layer (a newer native addon): still a TidelogError.
      return new TidelogError(code as ErrorCode, message, options)
  }
}

const NATIVE_PREFIX = /^tidelog:([A-Z_]+)(\+retryable)?:([\s\S]*)$/

/** @internal Converts an error thrown or rejected by the native addon. */
export function fromNative(err: unknown): unknown {
  if (err instanceof Error) {
    const m = NATIVE_PREFIX.exec(err.message)
    if (m) return createError(m[1], m[3], undefined, m[2] !== undefined)
  }
  return err
}
