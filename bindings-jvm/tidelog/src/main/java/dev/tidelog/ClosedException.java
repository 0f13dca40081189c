package dev.tidelog;

/**
 * The journal (or its snapshot store) was closed; no further operation is accepted. Also completes operations that were still queued when {@link Journal#close()} ran out of time.
 */
public class ClosedException extends TidelogException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public ClosedException(String message) {
        super("CLOSED", message);
    }
}
