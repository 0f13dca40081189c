package dev.tidelog;

/** Where a journal stores its events. */
public enum Backend {
    /** LMDB (default): one memory-mapped B-tree file. */
    LMDB,
    /** Append-only segment files with CRC32-framed records. */
    FILES,
    /** In-process memory, for tests; nothing survives {@link Journal#close()}. */
    MEMORY,
    /**
     * PostgreSQL, shared by every process that opens the same database. Chosen by opening a
     * {@code postgresql://} (or {@code postgres://}) URI with {@link Tidelog#open(String, Options)}.
     */
    POSTGRES
}
