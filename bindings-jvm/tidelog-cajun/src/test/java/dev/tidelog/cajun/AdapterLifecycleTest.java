package dev.tidelog.cajun;

import static org.junit.jupiter.api.Assertions.*;

import com.cajunsystems.ActorSystem;
import com.cajunsystems.StatefulActor;
import com.cajunsystems.persistence.BatchedMessageJournal;
import com.cajunsystems.persistence.PersistenceTruncationConfig;
import com.cajunsystems.persistence.PersistenceTruncationMode;
import com.cajunsystems.persistence.SnapshotStore;
import dev.tidelog.Backend;
import dev.tidelog.Options;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Close, per-journal batching, snapshot listing and pruning, issue order, and continuations off the journal's threads. */
class AdapterLifecycleTest {
    @TempDir
    Path dir;

    private TidelogPersistenceProvider provider(Backend backend) {
        return new TidelogPersistenceProvider(Locations.of(dir.resolve("j"), backend), Options.builder().backend(backend).build(), JavaSerialization.INSTANCE);
    }

    private static Throwable cause(CompletableFuture<?> f) {
        CompletionException e = assertThrows(CompletionException.class, f::join);
        return e.getCause();
    }

    @Test
    void anErrorInBlockingWorkFailsItsFutureInsteadOfLeavingItPending() {
        // An Error (here an AssertionError; in the field a NoClassDefFoundError) used to escape the
        // lane's catch of RuntimeException and leave the future, and the actor awaiting it, hanging.
        TidelogPersistenceProvider.Context context = new TidelogPersistenceProvider.Context();
        CompletableFuture<String> failed = context.callInOrder("actor-1", () -> {
            throw new AssertionError("broken");
        });
        assertInstanceOf(AssertionError.class, cause(failed));
        assertEquals("after", context.callInOrder("actor-1", () -> "after").join(), "the lane keeps running");
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void callsAfterCloseFailWithAClearException(Backend backend) {
        try (TidelogPersistenceProvider provider = provider(backend)) {
            BatchedMessageJournal<String> journal = provider.createBatchedMessageJournal("a");
            SnapshotStore<String> snapshots = provider.createSnapshotStore("a");
            journal.append("a", "before").join();
            journal.close();
            snapshots.close();
            for (CompletableFuture<?> f : List.of(journal.append("a", "after"), journal.appendBatch("a", List.of("x")), journal.readFrom("a", 0),
                    journal.getHighestSequenceNumber("a"), journal.truncateBefore("a", 1), journal.flush(), snapshots.saveSnapshot("a", "s", 0),
                    snapshots.getLatestSnapshot("a"), snapshots.deleteSnapshots("a"))) {
                Throwable error = cause(f);
                assertInstanceOf(IllegalStateException.class, error);
                assertTrue(error.getMessage().contains("closed"), error.getMessage());
            }
            assertFalse(journal.isHealthy());
            assertFalse(snapshots.isHealthy());
            // Nothing was appended after close, and other journals of the provider still work.
            BatchedMessageJournal<String> other = provider.createBatchedMessageJournal("a");
            assertEquals(0L, other.getHighestSequenceNumber("a").join());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aJournalCommitsAtMostMaxBatchSizeMessagesPerAtomicWrite(Backend backend) {
        try (TidelogPersistenceProvider provider = provider(backend)) {
            BatchedMessageJournal<String> journal = provider.createBatchedMessageJournal("b", 2, 0);
            long before = provider.journal().metrics().appends();
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L), journal.appendBatch("b", List.of("m0", "m1", "m2", "m3", "m4")).join());
            assertEquals(3, provider.journal().metrics().appends() - before); // 2 + 2 + 1
            journal.setMaxBatchSize(10);
            journal.appendBatch("b", List.of("m5", "m6", "m7")).join();
            assertEquals(4, provider.journal().metrics().appends() - before);
            assertThrows(IllegalArgumentException.class, () -> journal.setMaxBatchSize(0));
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aBatchDelayHoldsAppendsUntilTheBatchIsFullAndCommitsThemAsOneWrite(Backend backend) {
        try (TidelogPersistenceProvider provider = provider(backend)) {
            // A delay long enough never to pass during the test: only a full batch or another call releases appends.
            BatchedMessageJournal<String> journal = provider.createBatchedMessageJournal("c", 3, 600_000);
            long before = provider.journal().metrics().appends();
            List<CompletableFuture<Long>> first = new ArrayList<>();
            for (int i = 0; i < 3; i++) first.add(journal.append("c", "m" + i));
            assertEquals(List.of(0L, 1L, 2L), first.stream().map(CompletableFuture::join).toList());
            assertEquals(1, provider.journal().metrics().appends() - before); // three appends, one atomic write
            // Held appends are seen by the calls that follow them (issue order), which commit them.
            CompletableFuture<Long> held = journal.append("c", "m3");
            assertEquals(3L, journal.getHighestSequenceNumber("c").join());
            assertEquals(3L, held.join());
            journal.append("c", "m4");
            assertEquals(List.of("m3", "m4"), journal.readFrom("c", 3).join().stream().map(e -> e.getMessage()).toList());
        }
    }

    @Test
    void aBatchDelayAloneReleasesTheAppendsItHolds() {
        try (TidelogPersistenceProvider provider = provider(Backend.MEMORY)) {
            BatchedMessageJournal<String> journal = provider.createBatchedMessageJournal("d", 100, 20);
            long before = provider.journal().metrics().appends();
            CompletableFuture<Long> a = journal.append("d", "a");
            CompletableFuture<Long> b = journal.append("d", "b");
            // No other call: the timer commits both, together.
            assertEquals(List.of(0L, 1L), List.of(a.join(), b.join()));
            assertEquals(1, provider.journal().metrics().appends() - before);
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void snapshotsCanBeListedNewestFirstAndPrunedToTheNewestN(Backend backend) {
        try (TidelogPersistenceProvider provider = provider(backend)) {
            TidelogSnapshotStore<String> store = (TidelogSnapshotStore<String>) provider.<String>createSnapshotStore("s");
            assertEquals(List.of(), store.listSnapshots("s").join());
            for (long seq = -1; seq < 4; seq++) store.saveSnapshot("s", "state-" + seq, seq).join();
            assertEquals(List.of(3L, 2L, 1L, 0L, -1L), store.listSnapshots("s").join().stream().map(TidelogSnapshotStore.SnapshotMetadata::sequenceNumber).toList());
            assertEquals(3, store.pruneOldSnapshots("s", 2).join());
            assertEquals(List.of(3L, 2L), store.listSnapshots("s").join().stream().map(TidelogSnapshotStore.SnapshotMetadata::sequenceNumber).toList());
            assertEquals("state-3", store.getLatestSnapshot("s").join().orElseThrow().getState());
            assertEquals(0, store.pruneOldSnapshots("s", 5).join());
            assertInstanceOf(IllegalArgumentException.class, cause(store.pruneOldSnapshots("s", 0)));
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aCallAfterAnUnawaitedAppendObservesIt(Backend backend) {
        try (TidelogPersistenceProvider provider = provider(backend)) {
            BatchedMessageJournal<String> journal = provider.createBatchedMessageJournal("o");
            List<String> misses = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                CompletableFuture<Long> appended = journal.append("o", "m" + i); // not awaited
                long highest = journal.getHighestSequenceNumber("o").join();
                if (highest != i) misses.add("highest " + highest + " after append " + i);
                var read = journal.readFrom("o", i).join();
                if (read.size() != 1) misses.add("read " + read.size() + " after append " + i);
                appended.join();
            }
            assertEquals(List.of(), misses);
        }
    }

    /** Runs {@code onMessage} in its handler: a slow actor blocks there, a fast one counts down. */
    static final class Probe extends StatefulActor<Integer, String> {
        private final Runnable onMessage;

        Probe(ActorSystem system, String id, TidelogPersistenceProvider provider, Runnable onMessage) {
            super(system, id, 0, provider.<String>createBatchedMessageJournal(id), provider.<Integer>createSnapshotStore(id));
            this.onMessage = onMessage;
            setTruncationConfig(PersistenceTruncationConfig.builder().mode(PersistenceTruncationMode.OFF).build());
        }

        @Override
        protected Integer processMessage(Integer state, String message) {
            onMessage.run();
            return state + 1;
        }
    }

    @Test
    void aSlowActorsHandlerHoldsUpNoOtherActor() throws Exception {
        try (TidelogPersistenceProvider provider = provider(Backend.LMDB)) {
            provider.registerAsDefault(); // StatefulActor consults the registry's default provider
            ActorSystem system = new ActorSystem();
            CountDownLatch release = new CountDownLatch(1), handled = new CountDownLatch(1), entered = new CountDownLatch(1);
            Probe slow = new Probe(system, "slow", provider, () -> {
                entered.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Probe fast = new Probe(system, "fast", provider, handled::countDown);
            slow.start();
            fast.start();
            assertTrue(slow.waitForStateInitialization(30_000));
            assertTrue(fast.waitForStateInitialization(30_000));
            slow.tell("block");
            assertTrue(entered.await(30, TimeUnit.SECONDS), "the slow actor never ran its handler");
            // The slow handler now blocks (Cajun runs it in the append future's continuation). Were continuations run on
            // the journal's completion thread, the fast actor's append could not complete until it is released.
            fast.tell("go");
            boolean fastWhileSlowBlocked = handled.await(30, TimeUnit.SECONDS);
            release.countDown();
            assertTrue(fastWhileSlowBlocked, "the fast actor was held up behind the slow one");
            slow.stop();
            fast.stop();
            system.shutdown();
        }
    }
}
