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
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/** A Cajun StatefulActor persists through the provider, stops, and a new actor recovers its state. */
class StatefulActorRecoveryTest {
    @TempDir
    Path dir;

    /** Adds every message to its state. */
    static final class Summer extends StatefulActor<Long, Integer> {
        Summer(ActorSystem system, String id, BatchedMessageJournal<Integer> journal, SnapshotStore<Long> snapshots) {
            super(system, id, 0L, journal, snapshots);
            // Keep the whole journal, so that the test can also recover by replay alone.
            setTruncationConfig(PersistenceTruncationConfig.builder().mode(PersistenceTruncationMode.OFF).build());
        }

        @Override
        protected Long processMessage(Long state, Integer message) {
            return state + message;
        }
    }

    private static void awaitState(Summer actor, long expected) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (!Long.valueOf(expected).equals(actor.getState()) && Instant.now().isBefore(deadline)) {
            Thread.sleep(10);
        }
        assertEquals(expected, actor.getState());
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES"})
    void recoversItsState(Backend backend) throws Exception {
        Options options = Options.builder().backend(backend).build();
        int messages = 2000;
        long expected = (long) messages * (messages + 1) / 2;

        try (TidelogPersistenceProvider provider = new TidelogPersistenceProvider(dir, options, JavaSerialization.INSTANCE)) {
            provider.registerAsDefault();
            ActorSystem system = new ActorSystem();
            Summer actor = new Summer(system, "summer", provider.createBatchedMessageJournal("summer"), provider.createSnapshotStore("summer"));
            actor.start();
            assertTrue(actor.waitForStateInitialization(30_000));
            for (int i = 1; i <= messages; i++) {
                actor.tell(i);
            }
            awaitState(actor, expected);
            actor.stop();
            actor.getPersistenceShutdownFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
            system.shutdown();
            assertEquals(messages - 1, provider.<Integer>createMessageJournal("summer").getHighestSequenceNumber("summer").join());
        }

        // Without snapshots, the state can only come from replaying the journal.
        try (TidelogPersistenceProvider provider = new TidelogPersistenceProvider(dir, options, JavaSerialization.INSTANCE)) {
            provider.<Long>createSnapshotStore("summer").deleteSnapshots("summer").join();
            assertTrue(provider.<Long>createSnapshotStore("summer").getLatestSnapshot("summer").join().isEmpty());
        }
        restartAndCheck(options, expected, 1);
        // Stopping took a final snapshot: the next recovery starts from it.
        restartAndCheck(options, expected + 1, 1);
    }

    private void restartAndCheck(Options options, long expected, int add) throws Exception {
        try (TidelogPersistenceProvider provider = new TidelogPersistenceProvider(dir, options, JavaSerialization.INSTANCE)) {
            provider.registerAsDefault();
            ActorSystem system = new ActorSystem();
            Summer recovered = new Summer(system, "summer", provider.createBatchedMessageJournal("summer"), provider.createSnapshotStore("summer"));
            recovered.start();
            assertTrue(recovered.waitForStateInitialization(30_000));
            awaitState(recovered, expected);
            recovered.tell(add);
            awaitState(recovered, expected + add);
            recovered.stop();
            recovered.getPersistenceShutdownFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
            system.shutdown();
        }
    }
}
