package dev.tidelog;

/**
 * Base class of every error the journal reports. Unchecked; each core error kind has
 * one subclass, and {@link #code()} gives its stable code (for example
 * {@code "SEQUENCE_CONFLICT"}), the same in every Tidelog binding.
 */
public class TidelogException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The stable error code. */
    private final String code;

    /** Whether a retry may succeed. */
    private boolean retryable;

    /**
     * Creates an exception with a stable code and a message.
     *
     * @param code the stable error code
     * @param message what went wrong
     */
    public TidelogException(String code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * Whether retrying the failed call may succeed: a lost PostgreSQL connection, a server
     * restarting. Nothing of the failed call was acknowledged, and the journal reconnects by
     * itself.
     *
     * @return true for a retryable failure
     */
    public boolean isRetryable() {
        return retryable;
    }

    /**
     * The stable error code, for example {@code "CLOSED"} or {@code "SEQUENCE_CONFLICT"}.
     *
     * @return the code
     */
    public String code() {
        return code;
    }

    /**
     * The one mapping from a core error code to its Java exception. Called by the native
     * library (and only there); a code this version does not know becomes a plain
     * {@code TidelogException}, which the exhaustiveness test rules out for known codes.
     */
    static TidelogException fromNative(String code, String message, String persistenceId, long expected, long actual, boolean retryable) {
        TidelogException e = ofCode(code, message, persistenceId, expected, actual);
        e.retryable = retryable;
        return e;
    }

    private static TidelogException ofCode(String code, String message, String persistenceId, long expected, long actual) {
        switch (code) {
            case "CLOSED":
                return new ClosedException(message);
            case "LOCKED":
                return new LockedException(message);
            case "SEQUENCE_CONFLICT":
                return new SequenceConflictException(message, persistenceId, expected, actual);
            case "INVALID_ARGUMENT":
                return new InvalidArgumentException(message);
            case "CORRUPT":
                return new CorruptDataException(message);
            case "UNSUPPORTED_FORMAT":
                return new UnsupportedFormatException(message);
            case "STORAGE_FULL":
                return new StorageFullException(message);
            case "IO":
                return new StorageIOException(message);
            case "FAILED":
                return new JournalFailedException(message);
            default:
                return new TidelogException(code, message);
        }
    }
}
