package dev.tidelog;

/**
 * The outcome of one {@link AtomicWrite} of a {@link Journal#write} call: a receipt or an error.
 *
 * @param receipt the receipt, or null when the write failed
 * @param error the error, or null when the write succeeded
 */
public record WriteResult(WriteReceipt receipt, TidelogException error) {
    /** @return true when the write was committed */
    public boolean isSuccess() {
        return error == null;
    }

    /**
     * The receipt, or the error thrown.
     *
     * @return the receipt
     * @throws TidelogException when the write failed
     */
    public WriteReceipt orThrow() {
        if (error != null) {
            throw error;
        }
        return receipt;
    }
}
