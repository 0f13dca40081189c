package dev.tidelog;

/**
 * The journal refused an argument: an empty or too long persistence id, a NUL character, an empty write, an event over the size limit, a write on a read-only journal, a bad option, a backend mismatch.
 */
public class InvalidArgumentException extends TidelogException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public InvalidArgumentException(String message) {
        super("INVALID_ARGUMENT", message);
    }
}
