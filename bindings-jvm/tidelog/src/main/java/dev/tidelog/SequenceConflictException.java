package dev.tidelog;

/**
 * An explicit {@link AtomicWrite} did not continue its stream: its first sequence number
 * must be the stream's highest sequence number + 1. Only that write fails.
 */
public class SequenceConflictException extends TidelogException {
    private static final long serialVersionUID = 1L;

    /** The stream the write was for. */
    private final String persistenceId;
    /** The sequence number the journal expected. */
    private final long expectedSequenceNr;
    /** The first sequence number the write carried. */
    private final long actualSequenceNr;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     * @param persistenceId the stream written to
     * @param expectedSequenceNr the sequence number the journal expected
     * @param actualSequenceNr the first sequence number the write carried
     */
    public SequenceConflictException(String message, String persistenceId, long expectedSequenceNr, long actualSequenceNr) {
        super("SEQUENCE_CONFLICT", message);
        this.persistenceId = persistenceId;
        this.expectedSequenceNr = expectedSequenceNr;
        this.actualSequenceNr = actualSequenceNr;
    }

    /** @return the stream the write was for */
    public String persistenceId() {
        return persistenceId;
    }

    /** @return the sequence number the journal expected ({@code highest + 1}) */
    public long expectedSequenceNr() {
        return expectedSequenceNr;
    }

    /** @return the first sequence number the write carried */
    public long actualSequenceNr() {
        return actualSequenceNr;
    }
}
