package dev.tidelog.pekko;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.SnapshotCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.junit.jupiter.api.Test;

/**
 * Issue #24, acceptance 3: a Pekko event-sourced actor in one JVM persists events and snapshots
 * to PostgreSQL and stops; this JVM recovers the same persistence id from the same database: the
 * latest snapshot, then exactly the events after it. Needs {@code TIDELOG_TEST_POSTGRES} (set by
 * {@code tests/postgres.sh}, which {@code ./dev test} runs everything beside).
 */
class PostgresHandOffTest {
    static final int EVENTS = 23;
    static final int SNAPSHOT_EVERY = 5;

    @Test
    void anActorHandedOffToAnotherProcessRecoversItsSnapshotAndEvents() throws Exception {
        String server = System.getenv("TIDELOG_TEST_POSTGRES");
        if (server == null || server.isEmpty()) {
            assertNotEquals("true", System.getenv("CI"), "CI=true but TIDELOG_TEST_POSTGRES is unset");
            System.err.println("SKIPPED (PostgreSQL): TIDELOG_TEST_POSTGRES is unset; tests/postgres.sh run sets it");
            return;
        }
        // A schema of this test's own: a fresh journal.
        String uri = server + (server.contains("?") ? "&" : "?") + "tidelog_schema=pekko_handoff_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process first = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), FirstProcess.class.getName(), uri)
                .redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(first.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                lines.add(line);
            }
        }
        assertTrue(first.waitFor(120, TimeUnit.SECONDS), "the first process did not stop");
        assertEquals(0, first.exitValue(), String.join("\n", lines));
        assertTrue(lines.contains("handed off 23 276"), String.join("\n", lines));

        // The first JVM is gone: recover in this one, from the same database.
        ActorTestKit kit = ActorTestKit.create("taken-over", config(uri));
        try {
            ActorRef<Command> counter = kit.spawn(new HandOffCounter(PersistenceId.ofUniqueId("handoff"), null));
            TestProbe<State> probe = kit.createTestProbe();
            counter.tell(new Get(probe.getRef()));
            State state = probe.expectMessageClass(State.class, Duration.ofSeconds(60));
            assertEquals(20, state.snapshotCount(), "recovered from the latest snapshot");
            assertEquals(3, state.appliedSinceSnapshot(), "then exactly the events after it: 21, 22, 23");
            assertEquals(new State(276, 23, 20, 3), state);
        } finally {
            kit.shutdownTestKit();
        }
    }

    /** The plugins on {@code uri} (the backend key stays at its default: the URI decides), Java serialization for the records below. */
    static com.typesafe.config.Config config(String uri) {
        return TestConfig.plugins("lmdb", uri).withFallback(com.typesafe.config.ConfigFactory.parseString(
                "pekko.actor.allow-java-serialization = on\npekko.actor.warn-about-java-serializer-usage = off"));
    }

    /** The first process: persists 1..23 (a snapshot every 5 events), waits for the snapshot at 20, stops. */
    public static final class FirstProcess {
        public static void main(String[] args) throws Exception {
            ActorTestKit kit = ActorTestKit.create("handing-off", config(args[0]));
            try {
                CountDownLatch lastSnapshot = new CountDownLatch(1);
                ActorRef<Command> counter = kit.spawn(new HandOffCounter(PersistenceId.ofUniqueId("handoff"), lastSnapshot));
                TestProbe<Done> done = kit.createTestProbe();
                for (int i = 1; i <= EVENTS; i++) {
                    counter.tell(new Add(i, done.getRef()));
                    done.expectMessage(Duration.ofSeconds(30), Done.getInstance());
                }
                assertTrue(lastSnapshot.await(60, TimeUnit.SECONDS), "the snapshot at 20 was never saved");
                TestProbe<State> probe = kit.createTestProbe();
                counter.tell(new Get(probe.getRef()));
                State state = probe.expectMessageClass(State.class, Duration.ofSeconds(30));
                System.out.println("handed off " + state.count() + " " + state.total());
            } finally {
                kit.shutdownTestKit();
            }
        }
    }

    interface Command extends Serializable {}

    record Add(int amount, ActorRef<Done> replyTo) implements Command {}

    record Get(ActorRef<State> replyTo) implements Command {}

    record Added(int amount) implements Serializable {}

    /** {@code snapshotCount}: events in the snapshot recovery started from; {@code appliedSinceSnapshot}: events applied after it. */
    record State(long total, long count, long snapshotCount, long appliedSinceSnapshot) implements Serializable {}

    /** An event-sourced counter snapshotting every 5 events; its snapshots record how many events they hold. */
    static final class HandOffCounter extends EventSourcedBehavior<Command, Added, State> {
        private final CountDownLatch lastSnapshot;

        HandOffCounter(PersistenceId id, CountDownLatch lastSnapshot) {
            super(id);
            this.lastSnapshot = lastSnapshot;
        }

        @Override
        public State emptyState() {
            return new State(0, 0, 0, 0);
        }

        @Override
        public CommandHandler<Command, Added, State> commandHandler() {
            return newCommandHandlerBuilder()
                    .forAnyState()
                    .onCommand(Add.class, (state, add) -> Effect().persist(new Added(add.amount())).thenReply(add.replyTo(), s -> Done.getInstance()))
                    .onCommand(Get.class, (state, get) -> Effect().reply(get.replyTo(), state))
                    .build();
        }

        @Override
        public EventHandler<State, Added> eventHandler() {
            return newEventHandlerBuilder()
                    .forAnyState()
                    .onEvent(Added.class, (s, e) -> new State(s.total() + e.amount(), s.count() + 1, s.snapshotCount(), s.appliedSinceSnapshot() + 1))
                    .build();
        }

        @Override
        public SnapshotAdapter<State> snapshotAdapter() {
            return new SnapshotAdapter<>() {
                @Override
                public Object toJournal(State state) {
                    return new State(state.total(), state.count(), state.count(), 0);
                }

                @Override
                public State fromJournal(Object from) {
                    return (State) from;
                }
            };
        }

        @Override
        public SignalHandler<State> signalHandler() {
            return newSignalHandlerBuilder()
                    .onSignal(SnapshotCompleted.class, (state, completed) -> {
                        if (lastSnapshot != null && completed.metadata().sequenceNr() == 20) {
                            lastSnapshot.countDown();
                        }
                    })
                    .build();
        }

        @Override
        public RetentionCriteria retentionCriteria() {
            return RetentionCriteria.snapshotEvery(SNAPSHOT_EVERY, 2);
        }
    }
}
