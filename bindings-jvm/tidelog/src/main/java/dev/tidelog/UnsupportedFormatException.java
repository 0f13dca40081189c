package dev.tidelog;

/**
 * The journal on disk was written by a newer (or unknown) format version.
 */
public class UnsupportedFormatException extends TidelogException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public UnsupportedFormatException(String message) {
        super("UNSUPPORTED_FORMAT", message);
    }
}
