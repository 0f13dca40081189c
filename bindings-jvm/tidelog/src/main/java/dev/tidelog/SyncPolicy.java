package dev.tidelog;

import java.time.Duration;
import java.util.Objects;

/** When a write becomes durable relative to its acknowledgement. */
public final class SyncPolicy {
    enum Kind { ALWAYS, INTERVAL, NEVER }

    private static final SyncPolicy ALWAYS = new SyncPolicy(Kind.ALWAYS, Duration.ZERO);
    private static final SyncPolicy NEVER = new SyncPolicy(Kind.NEVER, Duration.ZERO);

    private final Kind kind;
    private final Duration interval;

    private SyncPolicy(Kind kind, Duration interval) {
        this.kind = kind;
        this.interval = interval;
    }

    /**
     * Acknowledge only once the batch is on stable storage (the default).
     *
     * @return the policy
     */
    public static SyncPolicy always() {
        return ALWAYS;
    }

    /**
     * Acknowledge once the write reaches the OS and flush at most this often: a power loss may
     * lose up to {@code interval} of acknowledged writes, a process crash loses nothing.
     *
     * @param interval the longest time between flushes; must be positive
     * @return the policy
     */
    public static SyncPolicy interval(Duration interval) {
        return new SyncPolicy(Kind.INTERVAL, Objects.requireNonNull(interval, "interval"));
    }

    /**
     * Never flush explicitly (tests and benchmarks).
     *
     * @return the policy
     */
    public static SyncPolicy never() {
        return NEVER;
    }

    Kind kind() {
        return kind;
    }

    Duration flushInterval() {
        return interval;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof SyncPolicy that && kind == that.kind && interval.equals(that.interval);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, interval);
    }

    @Override
    public String toString() {
        return kind == Kind.INTERVAL ? "interval(" + interval + ")" : kind.name().toLowerCase();
    }
}
