package dev.tidelog;

/**
 * An earlier storage failure (a failed fsync, say) made further acknowledgements unsafe; reopen the journal.
 */
public class JournalFailedException extends TidelogException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public JournalFailedException(String message) {
        super("FAILED", message);
    }
}
