package dev.tidelog;

/**
 * Stored data failed a checksum or could not be decoded (before the tail of the log; a torn tail is repaired on open).
 */
public class CorruptDataException extends TidelogException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public CorruptDataException(String message) {
        super("CORRUPT", message);
    }
}
