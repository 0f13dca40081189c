package dev.tidelog;

import java.lang.ref.Cleaner;

/**
 * A native subscription handle, freed exactly once and never while a call on it runs: each
 * call enters and exits, and {@link #release()} frees it when the last call exits (or at once
 * when none runs). Unreachable without a release, it is freed by a {@link Cleaner}.
 */
final class NativeTail {
    private static final Cleaner CLEANER = Cleaner.create();

    /** Owned by the cleaner action too: it must not reach the {@link NativeTail}. */
    private static final class State implements Runnable {
        private final long pointer;
        private int calls;
        private boolean released;
        private boolean freed;

        State(long pointer) {
            this.pointer = pointer;
        }

        /** Frees unless already freed; runs under the lock or from the cleaner. */
        @Override
        public synchronized void run() {
            if (!freed) {
                freed = true;
                NativeBridge.subscriptionFree(pointer);
            }
        }
    }

    private final Journal journal;
    private final State state;

    private NativeTail(Journal journal, long pointer) {
        this.journal = journal;
        this.state = new State(pointer);
        CLEANER.register(this, state);
    }

    /** Opens a native subscription; throws the core's error (a {@link ClosedException}, say). */
    static NativeTail open(Journal journal, TailSource source) {
        long pointer;
        if (source instanceof TailSource.Tag tag) {
            pointer = NativeBridge.subscribe(journal.handle(), NativeBridge.TAG, tag.tag(), tag.fromOffset());
        } else if (source instanceof TailSource.Stream stream) {
            pointer = NativeBridge.subscribe(journal.handle(), NativeBridge.STREAM, stream.persistenceId(), stream.fromSequenceNr());
        } else {
            pointer = NativeBridge.subscribe(journal.handle(), NativeBridge.ALL, "", ((TailSource.All) source).fromOffset());
        }
        java.lang.ref.Reference.reachabilityFence(journal);
        return new NativeTail(journal, pointer);
    }

    Journal journal() {
        return journal;
    }

    /** @return the pointer for one call, or 0 once released (the caller then reports the end) */
    private long enter() {
        synchronized (state) {
            if (state.released) {
                return 0;
            }
            state.calls++;
            return state.pointer;
        }
    }

    private void exit() {
        synchronized (state) {
            if (--state.calls == 0 && state.released) {
                state.run();
            }
        }
    }

    /** Asks for a batch through the journal's page queue; false once released. */
    boolean request(long token, int max) {
        long p = enter();
        if (p == 0) {
            return false;
        }
        try {
            NativeBridge.subscriptionRequest(journal.handle(), p, token, max);
            return true;
        } finally {
            exit();
            java.lang.ref.Reference.reachabilityFence(journal);
        }
    }

    /** Blocks for a batch (an event page; count 0 on timeout); {@link ClosedException} at the end. */
    byte[] next(int max, long timeoutMillis) {
        long p = enter();
        if (p == 0) {
            throw new ClosedException("tail is closed");
        }
        try {
            return NativeBridge.subscriptionNext(p, max, timeoutMillis);
        } finally {
            exit();
        }
    }

    /** Ends the subscription: a blocked {@link #next} and a pending request complete with the end. */
    void cancel() {
        long p = enter();
        if (p == 0) {
            return;
        }
        try {
            NativeBridge.subscriptionCancel(p);
        } finally {
            exit();
        }
    }

    /** Cancels and frees, now or when the last running call exits. Idempotent. */
    void release() {
        cancel();
        synchronized (state) {
            if (state.released) {
                return;
            }
            state.released = true;
            if (state.calls == 0) {
                state.run();
            }
        }
    }
}
