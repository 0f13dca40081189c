package dev.tidelog;

/**
 * An I/O error from the operating system or from LMDB.
 */
public class StorageIOException extends TidelogException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public StorageIOException(String message) {
        super("IO", message);
    }
}
