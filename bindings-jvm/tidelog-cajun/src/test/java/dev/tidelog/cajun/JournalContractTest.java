package dev.tidelog.cajun;

import static org.junit.jupiter.api.Assertions.*;

import com.cajunsystems.persistence.BatchedMessageJournal;
import com.cajunsystems.persistence.JournalEntry;
import com.cajunsystems.persistence.SnapshotEntry;
import com.cajunsystems.persistence.SnapshotStore;
import com.cajunsystems.persistence.TruncationCapableJournal;
import dev.tidelog.Backend;
import dev.tidelog.Options;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The contract of Cajun's journal and snapshot store (reference: Cajun's mock journals and Javadoc). */
class JournalContractTest {
    @TempDir
    Path dir;

    private TidelogPersistenceProvider provider(Backend backend) {
        return new TidelogPersistenceProvider(Locations.of(dir.resolve("j"), backend), Options.builder().backend(backend).build(), JavaSerialization.INSTANCE);
    }

    private static List<Long> seqs(List<JournalEntry<String>> entries) {
        return entries.stream().map(JournalEntry::getSequenceNumber).toList();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void sequenceNumbersStartAtZeroAndHighestIsMinusOneWhenEmpty(Backend backend) {
        try (TidelogPersistenceProvider provider = provider(backend)) {
            BatchedMessageJournal<String> journal = provider.createBatchedMessageJournal("actor-1");
            assertEquals(-1L, journal.getHighestSequenceNumber("actor-1").join());
            assertEquals(0L, journal.append("actor-1", "a").join());
            assertEquals(1L, journal.append("actor-1", "b").join());
            assertEquals(List.of(2L, 3L, 4L), journal.appendBatch("actor-1", List.of("c", "d", "e")).join());
            assertEquals(4L, journal.getHighestSequenceNumber("actor-1").join());
            assertEquals(-1L, journal.getHighestSequenceNumber("actor-2").join());
            assertEquals(List.of(), journal.appendBatch("actor-1", List.of()).join());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void readFromIsInclusiveAndAscending(Backend backend) {
        try (TidelogPersistenceProvider provider = provider(backend)) {
            BatchedMessageJournal<String> journal = provider.createBatchedMessageJournal("r");
            journal.appendBatch("r", IntStream.range(0, 10).mapToObj(i -> "m" + i).toList()).join();
            List<JournalEntry<String>> from5 = journal.readFrom("r", 5).join();
            assertEquals(List.of(5L, 6L, 7L, 8L, 9L), seqs(from5));
            assertEquals("m5", from5.get(0).getMessage());
            assertEquals("r", from5.get(0).getActorId());
            assertNotNull(from5.get(0).getTimestamp());
            assertEquals(10, journal.readFrom("r", 0).join().size());
            assertEquals(List.of(), journal.readFrom("r", 10).join());
            assertEquals(List.of(), journal.readFrom("nobody", 0).join());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void truncateBeforeIsExclusiveAndKeepsTheHighest(Backend backend) {
        try (TidelogPersistenceProvider provider = provider(backend)) {
            BatchedMessageJournal<String> journal = provider.createBatchedMessageJournal("t");
            assertInstanceOf(TruncationCapableJournal.class, journal);
            journal.appendBatch("t", List.of("a", "b", "c", "d", "e")).join();
            journal.truncateBefore("t", 3).join();
            assertEquals(List.of(3L, 4L), seqs(journal.readFrom("t", 0).join()));
            journal.truncateBefore("t", 0).join();
            assertEquals(2, journal.readFrom("t", 0).join().size());
            journal.truncateBefore("t", Long.MAX_VALUE).join();
            assertEquals(List.of(), journal.readFrom("t", 0).join());
            assertEquals(4L, journal.getHighestSequenceNumber("t").join());
            assertEquals(5L, journal.append("t", "f").join());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void appendFuturesCompleteInSubmissionOrder(Backend backend) {
        try (TidelogPersistenceProvider provider = provider(backend)) {
            BatchedMessageJournal<String> journal = provider.createBatchedMessageJournal("o");
            List<Long> completed = Collections.synchronizedList(new ArrayList<>());
            List<CompletableFuture<Void>> all = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                all.add(journal.append("o", "m" + i).thenAccept(completed::add));
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
            assertEquals(IntStream.range(0, 500).mapToObj(i -> (long) i).toList(), completed);
            journal.flush().join();
        }
    }

    @Test
    void appendsAreDurableAcrossReopening() {
        try (TidelogPersistenceProvider provider = provider(Backend.LMDB)) {
            BatchedMessageJournal<String> journal = provider.createBatchedMessageJournal("d");
            journal.appendBatch("d", List.of("x", "y")).join();
            provider.<Long>createSnapshotStore("d").saveSnapshot("d", 42L, 1).join();
        }
        try (TidelogPersistenceProvider provider = provider(Backend.LMDB)) {
            assertEquals(List.of("x", "y"), provider.<String>createMessageJournal("d").readFrom("d", 0).join().stream().map(JournalEntry::getMessage).toList());
            assertEquals(42L, provider.<Long>createSnapshotStore("d").getLatestSnapshot("d").join().orElseThrow().getState());
            assertEquals(List.of("d"), provider.listPersistedActors());
            assertEquals("tidelog", provider.getProviderName());
            assertTrue(provider.isHealthy());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void snapshotsKeepTheGreatestSequenceNumberIncludingMinusOne(Backend backend) {
        try (TidelogPersistenceProvider provider = provider(backend)) {
            SnapshotStore<String> store = provider.createSnapshotStore("s");
            assertEquals(Optional.empty(), store.getLatestSnapshot("s").join());
            store.saveSnapshot("s", "initial", -1).join();
            SnapshotEntry<String> initial = store.getLatestSnapshot("s").join().orElseThrow();
            assertEquals(-1, initial.getSequenceNumber());
            assertEquals("initial", initial.getState());
            store.saveSnapshot("s", "at 7", 7).join();
            store.saveSnapshot("s", "at 3", 3).join();
            assertEquals("at 7", store.getLatestSnapshot("s").join().orElseThrow().getState());
            store.deleteSnapshots("s").join();
            assertEquals(Optional.empty(), store.getLatestSnapshot("s").join());
            assertTrue(store.saveSnapshot("s", "bad", -2).isCompletedExceptionally());
        }
    }

    @Test
    void serializationIsPluggable() {
        MessageSerializer utf8 = new MessageSerializer() {
            @Override
            public byte[] serialize(Object value) {
                return ((String) value).getBytes(StandardCharsets.UTF_8);
            }

            @Override
            public Object deserialize(byte[] bytes) {
                return new String(bytes, StandardCharsets.UTF_8);
            }
        };
        try (TidelogPersistenceProvider provider = new TidelogPersistenceProvider(dir.resolve("p"), Options.defaults(), utf8)) {
            provider.<String>createBatchedMessageJournal("u").append("u", "plain text").join();
            assertEquals("plain text", provider.journal().read("u").get(0).payloadText());
            assertEquals("plain text", provider.<String>createMessageJournal("u").readFrom("u", 0).join().get(0).getMessage());
            // A value the serializer cannot handle fails the future, not the caller.
            BatchedMessageJournal<Object> journal = provider.createBatchedMessageJournal("u");
            assertTrue(journal.append("u", 42).isCompletedExceptionally());
        }
    }
}
