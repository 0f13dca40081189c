package dev.tidelog;

/**
 * Another process, or another open {@link Journal} in this process, holds the journal's writer lock.
 */
public class LockedException extends TidelogException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public LockedException(String message) {
        super("LOCKED", message);
    }
}
