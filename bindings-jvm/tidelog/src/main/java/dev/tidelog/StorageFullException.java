package dev.tidelog;

/**
 * The device is full (or a file size or quota limit was hit); nothing of the failed operation was acknowledged.
 */
public class StorageFullException extends TidelogException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public StorageFullException(String message) {
        super("STORAGE_FULL", message);
    }
}
