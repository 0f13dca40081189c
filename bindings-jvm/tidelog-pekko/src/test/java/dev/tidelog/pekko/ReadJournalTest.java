package dev.tidelog.pekko;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigFactory;
import dev.tidelog.Backend;
import dev.tidelog.pekko.query.javadsl.TidelogReadJournal;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The read journal's queries, current and live, on both persistent backends. */
class ReadJournalTest {
    @TempDir
    Path dir;

    private ActorTestKit kit;
    private final Map<String, ActorRef<Notes.Command>> writers = new HashMap<>();

    @AfterEach
    void stop() {
        if (kit != null) {
            kit.shutdownTestKit();
        }
    }

    private TidelogReadJournal start(Backend backend) {
        kit = ActorTestKit.create("read-journal", TestConfig.pluginsOn(backend, dir)
                .withFallback(ConfigFactory.parseString("pekko.persistence.query.journal.tidelog.refresh-interval = 50ms")));
        return PersistenceQuery.get(kit.system()).getReadJournalFor(TidelogReadJournal.class, TidelogReadJournal.IDENTIFIER);
    }

    /** Persists the texts as one atomic write of {@code pid} and waits until they are stored. */
    private void write(String pid, String... texts) {
        ActorRef<Notes.Command> writer = writers.computeIfAbsent(pid, p -> kit.spawn(new Notes(PersistenceId.ofUniqueId(p))));
        TestProbe<Done> done = kit.createTestProbe();
        writer.tell(new Notes.Write(List.of(texts), done.getRef()));
        done.expectMessage(java.time.Duration.ofSeconds(30), Done.getInstance());
    }

    private static <T> List<T> await(CompletionStage<List<T>> result) throws Exception {
        return result.toCompletableFuture().get(60, TimeUnit.SECONDS); // a guard against hanging, not a speed check
    }

    private <T> List<T> run(Source<T, ?> source) throws Exception {
        return await(source.runWith(Sink.seq(), kit.system()));
    }

    private static List<Object> events(List<EventEnvelope> envelopes) {
        return envelopes.stream().map(EventEnvelope::event).toList();
    }

    private static List<Long> sequenceNrs(List<EventEnvelope> envelopes) {
        return envelopes.stream().map(EventEnvelope::sequenceNr).toList();
    }

    private static long offset(EventEnvelope envelope) {
        return ((Sequence) envelope.offset()).value();
    }

    private static void assertOffsetsIncrease(List<EventEnvelope> envelopes) {
        for (int i = 1; i < envelopes.size(); i++) {
            assertTrue(offset(envelopes.get(i - 1)) < offset(envelopes.get(i)), "offsets must increase: " + envelopes);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES", "POSTGRES"})
    void currentEventsByPersistenceIdReturnsTheStoredRangeAndEnds(Backend backend) throws Exception {
        TidelogReadJournal journal = start(backend);
        write("a", "a1", "a2");
        write("b", "b1");
        write("a", "a3", "a4", "a5");

        List<EventEnvelope> all = run(journal.currentEventsByPersistenceId("a", 0, Long.MAX_VALUE));
        assertEquals(List.of("a1", "a2", "a3", "a4", "a5"), events(all));
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), sequenceNrs(all));
        assertTrue(all.stream().allMatch(e -> e.persistenceId().equals("a") && e.timestamp() > 0));
        assertOffsetsIncrease(all);

        assertEquals(List.of("a2", "a3", "a4"), events(run(journal.currentEventsByPersistenceId("a", 2, 4))));
        assertEquals(List.of(), run(journal.currentEventsByPersistenceId("a", 6, Long.MAX_VALUE)));
        assertEquals(List.of(), run(journal.currentEventsByPersistenceId("nobody", 0, Long.MAX_VALUE)));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES", "POSTGRES"})
    void currentEventsByTagReadsInCommitOrderAndResumesAfterAnOffset(Backend backend) throws Exception {
        TidelogReadJournal journal = start(backend);
        write("a", "colour:red", "plain");
        write("b", "colour:blue");
        write("a", "colour:green");

        assertEquals(List.of("colour:red", "plain", "colour:blue", "colour:green"), events(run(journal.currentEventsByTag("every", Offset.noOffset()))));
        List<EventEnvelope> colours = run(journal.currentEventsByTag("colour", Offset.noOffset()));
        assertEquals(List.of("colour:red", "colour:blue", "colour:green"), events(colours));
        assertEquals(List.of("a", "b", "a"), colours.stream().map(EventEnvelope::persistenceId).toList());
        assertEquals(List.of(1L, 1L, 3L), sequenceNrs(colours));
        assertOffsetsIncrease(colours);

        // An offset is exclusive: resuming from an envelope's offset continues after it.
        assertEquals(List.of("colour:blue", "colour:green"), events(run(journal.currentEventsByTag("colour", colours.get(0).offset()))));
        assertEquals(List.of(), run(journal.currentEventsByTag("colour", colours.get(2).offset())));
        assertEquals(colours.size(), run(journal.currentEventsByTag("colour", Offset.sequence(0))).size());
        assertEquals(List.of(), run(journal.currentEventsByTag("no-such-tag", Offset.noOffset())));

        assertEquals(List.of("a", "b"), run(journal.currentPersistenceIds()));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES", "POSTGRES"})
    void liveEventsByPersistenceIdCatchesUpThenFollows(Backend backend) throws Exception {
        TidelogReadJournal journal = start(backend);
        write("a", "x1", "x2");
        CompletionStage<List<EventEnvelope>> following = journal.eventsByPersistenceId("a", 1, Long.MAX_VALUE).take(5).runWith(Sink.seq(), kit.system());
        CompletionStage<List<EventEnvelope>> bounded = journal.eventsByPersistenceId("a", 2, 4).runWith(Sink.seq(), kit.system());
        write("b", "other");
        write("a", "x3");
        write("a", "x4", "x5");

        List<EventEnvelope> all = await(following);
        assertEquals(List.of("x1", "x2", "x3", "x4", "x5"), events(all));
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), sequenceNrs(all));
        assertOffsetsIncrease(all);
        // A live query with an upper bound ends there on its own.
        assertEquals(List.of("x2", "x3", "x4"), events(await(bounded)));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES", "POSTGRES"})
    void liveEventsByTagFollowsEveryWriterInCommitOrder(Backend backend) throws Exception {
        TidelogReadJournal journal = start(backend);
        write("a", "colour:1");
        CompletionStage<List<EventEnvelope>> following = journal.eventsByTag("colour", Offset.noOffset()).take(4).runWith(Sink.seq(), kit.system());
        write("b", "colour:2");
        write("a", "plain");
        write("c", "colour:3");
        write("b", "colour:4");

        List<EventEnvelope> all = await(following);
        assertEquals(List.of("colour:1", "colour:2", "colour:3", "colour:4"), events(all));
        assertEquals(List.of("a", "b", "c", "b"), all.stream().map(EventEnvelope::persistenceId).toList());
        assertOffsetsIncrease(all);

        // Resuming a live query from a stored offset delivers only what came after it.
        List<EventEnvelope> rest = await(journal.eventsByTag("colour", all.get(1).offset()).take(2).runWith(Sink.seq(), kit.system()));
        assertEquals(List.of("colour:3", "colour:4"), events(rest));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES", "POSTGRES"})
    void livePersistenceIdsEmitsEachIdOnce(Backend backend) throws Exception {
        TidelogReadJournal journal = start(backend);
        write("a", "1");
        CompletionStage<List<String>> ids = journal.persistenceIds().take(3).runWith(Sink.seq(), kit.system());
        write("a", "2");
        write("b", "1");
        write("a", "3");
        write("b", "2");
        write("c", "1");
        assertEquals(List.of("a", "b", "c"), await(ids));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES", "POSTGRES"})
    void deletedEventsAreNotReturned(Backend backend) throws Exception {
        TidelogReadJournal journal = start(backend);
        write("a", "1", "2", "3", "4", "5");
        JournalRegistry.lookup(TestConfig.location(backend, dir)).orElseThrow().deleteTo("a", 3);
        assertEquals(List.of(4L, 5L), sequenceNrs(run(journal.currentEventsByPersistenceId("a", 0, Long.MAX_VALUE))));
        assertEquals(List.of(4L, 5L), sequenceNrs(run(journal.eventsByPersistenceId("a", 0, 5))));
        assertEquals(List.of("4", "5"), events(run(journal.currentEventsByTag("every", Offset.noOffset()))));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB"})
    void scalaApiReadsTheSameJournal(Backend backend) throws Exception {
        start(backend);
        write("a", "colour:red");
        write("b", "plain");
        dev.tidelog.pekko.query.scaladsl.TidelogReadJournal scala = PersistenceQuery.get(kit.system())
                .readJournalFor(dev.tidelog.pekko.query.scaladsl.TidelogReadJournal.IDENTIFIER);
        assertEquals(List.of("a", "b"), run(scala.currentPersistenceIds().asJava()));
        assertEquals(List.of("colour:red"), events(run(scala.currentEventsByTag("colour", Offset.noOffset()).asJava())));
        assertEquals(List.of("plain"), events(run(scala.eventsByPersistenceId("b", 0, 1).asJava())));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB"})
    void offsetsOtherThanSequenceAreRejected(Backend backend) {
        TidelogReadJournal journal = start(backend);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> journal.currentEventsByTag("colour", Offset.timeBasedUUID(UUID.fromString("49225740-2019-11ea-a752-ffae2393b6e4"))));
        assertTrue(e.getMessage().contains("Offset.sequence"), e.getMessage());
    }
}
