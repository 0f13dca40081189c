package dev.tidelog.pekko;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tidelog.Backend;
import dev.tidelog.Event;
import dev.tidelog.Journal;
import dev.tidelog.Options;
import dev.tidelog.SnapshotInfo;
import dev.tidelog.Tidelog;
import java.nio.file.Path;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A typed persistent actor writes 10,000 events, its actor system stops, and a new one recovers it. */
class PersistentActorRecoveryTest {
    @TempDir
    Path dir;

    private Config config(Backend backend) {
        return TestConfig.pluginsOn(backend, dir)
                .withFallback(ConfigFactory.parseString("pekko.actor.allow-java-serialization = on\npekko.actor.warn-about-java-serializer-usage = off"));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES", "POSTGRES"})
    void recoversTheSameStateFromSnapshotAndReplay(Backend backend) {
        PersistenceId id = PersistenceId.ofUniqueId("counter-1");
        int commands = 100;
        int eventsPerCommand = 100;
        long expectedTotal = 0;

        ActorTestKit first = ActorTestKit.create("first", config(backend));
        try {
            ActorRef<Counter.Command> counter = first.spawn(new Counter(id, 3000));
            TestProbe<Done> done = first.createTestProbe();
            for (int i = 1; i <= commands; i++) {
                counter.tell(new Counter.Add(i, eventsPerCommand, done.getRef()));
                expectedTotal += (long) i * eventsPerCommand;
            }
            for (int i = 0; i < commands; i++) {
                done.expectMessage(java.time.Duration.ofSeconds(30), Done.getInstance());
            }
            TestProbe<Counter.State> state = first.createTestProbe();
            counter.tell(new Counter.Get(state.getRef()));
            assertEquals(new Counter.State(expectedTotal, 10_000), state.receiveMessage());
        } finally {
            first.shutdownTestKit();
        }
        // The journal is closed with the first actor system: the directory can be opened again.
        assertTrue(JournalRegistry.lookup(TestConfig.location(backend, dir)).isEmpty());
        // Delete the events the newest snapshot covers: only snapshot + replay can restore the state.
        try (Journal journal = Tidelog.open(TestConfig.location(backend, dir), Options.builder().backend(backend).build())) {
            assertEquals(10_000, journal.read(id.id()).size());
            journal.deleteTo(id.id(), 9000);
        }

        ActorTestKit second = ActorTestKit.create("second", config(backend));
        try {
            ActorRef<Counter.Command> recovered = second.spawn(new Counter(id, 3000));
            TestProbe<Counter.State> state = second.createTestProbe();
            recovered.tell(new Counter.Get(state.getRef()));
            assertEquals(new Counter.State(expectedTotal, 10_000), state.receiveMessage(java.time.Duration.ofSeconds(30)));

            Journal journal = JournalRegistry.lookup(TestConfig.location(backend, dir)).orElseThrow();
            // Snapshots every 3000 events, two kept: recovery starts from 9000 and replays the rest.
            List<Long> snapshots = journal.snapshots().list(id.id()).stream().map(SnapshotInfo::sequenceNr).toList();
            assertEquals(List.of(6000L, 9000L), snapshots);
            assertEquals(10_000, journal.highestSequenceNr(id.id()));
            List<Event> tail = journal.read(id.id(), 9001, Long.MAX_VALUE, Long.MAX_VALUE);
            assertEquals(1000, tail.size());
        } finally {
            second.shutdownTestKit();
        }
        try (Journal reopened = Tidelog.open(TestConfig.location(backend, dir), Options.builder().backend(backend).build())) {
            assertEquals(1000, reopened.read(id.id()).size());
        }
    }
}
