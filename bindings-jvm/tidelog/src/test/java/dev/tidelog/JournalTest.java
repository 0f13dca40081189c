package dev.tidelog;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The Java API against every backend. */
class JournalTest {
    @TempDir
    Path dir;

    private Journal open(Backend backend) {
        return open(backend, SyncPolicy.always());
    }

    private Journal open(Backend backend, SyncPolicy sync) {
        return TestJournals.open(dir.resolve("journal"), Options.builder().backend(backend).sync(sync).build());
    }

    private static List<NewEvent> events(String prefix, int n) {
        return IntStream.range(0, n).mapToObj(i -> NewEvent.of(prefix + i)).toList();
    }

    private static Throwable cause(CompletableFuture<?> f) {
        CompletionException e = assertThrows(CompletionException.class, f::join);
        return e.getCause();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void appendAndReadRoundTripEveryField(Backend backend) {
        try (Journal journal = open(backend)) {
            byte[] meta = {1, 2, 3, 0, (byte) 255};
            NewEvent e = NewEvent.of("héllo".getBytes(StandardCharsets.UTF_8))
                    .withManifest("CartItemAdded")
                    .withWriterId("writer-uuid-1")
                    .withTags("cart", "tag ü")
                    .withTimestamp(1_700_000_000_123L)
                    .withMetadata(meta);
            WriteReceipt receipt = journal.append("cart-7", List.of(e, NewEvent.of("second")));
            assertEquals(new WriteReceipt(1, 2), receipt);

            List<Event> read = journal.read("cart-7");
            assertEquals(2, read.size());
            Event first = read.get(0);
            assertEquals("cart-7", first.persistenceId());
            assertEquals(1, first.sequenceNr());
            assertEquals("héllo", first.payloadText());
            assertEquals("CartItemAdded", first.manifest());
            assertEquals("writer-uuid-1", first.writerId());
            assertEquals(List.of("cart", "tag ü"), first.tags());
            assertEquals(1_700_000_000_123L, first.timestamp());
            assertArrayEquals(meta, first.metadata());
            Event second = read.get(1);
            assertEquals(2, second.sequenceNr());
            assertTrue(second.globalOffset() > first.globalOffset());
            assertTrue(second.timestamp() > 0, "writer clock assigns a timestamp");
            assertEquals("", second.manifest());
            assertEquals(List.of(), second.tags());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void sequenceNumbersAreGaplessAndHighestIsTracked(Backend backend) {
        try (Journal journal = open(backend)) {
            assertEquals(0, journal.highestSequenceNr("a"));
            assertEquals(new WriteReceipt(1, 3), journal.append("a", events("x", 3)));
            assertEquals(new WriteReceipt(4, 4), journal.append("a", NewEvent.of("y")));
            assertEquals(new WriteReceipt(1, 1), journal.append("b", NewEvent.of("z")));
            assertEquals(4, journal.highestSequenceNr("a"));
            assertEquals(4, journal.highestSequenceNrAsync("a").join());
            assertEquals(List.of("a", "b"), journal.persistenceIds());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aBlockingAppendAfterAnAsyncOneCommitsAfterIt(Backend backend) {
        // The blocking forms skip the completion thread (and may commit on the caller's thread),
        // yet keep submission order in the journal.
        try (Journal journal = open(backend)) {
            for (int i = 0; i < 200; i++) {
                CompletableFuture<WriteReceipt> queued = journal.appendAsync("p", NewEvent.of("q" + i));
                WriteReceipt blocking = journal.append("p", NewEvent.of("b" + i));
                assertTrue(blocking.firstSequenceNr() > queued.join().firstSequenceNr(), "iteration " + i);
                List<WriteResult> written = journal.write(List.of(new AtomicWrite("w", i + 1, events("w", 1))));
                assertEquals(i + 1, written.get(0).receipt().firstSequenceNr());
            }
            assertEquals(400, journal.highestSequenceNr("p"));
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void nextGlobalOffsetBoundsACurrentReadAndIsNeverGivenOutTwice(Backend backend) {
        try (Journal journal = open(backend)) {
            assertEquals(1, journal.nextGlobalOffset());
            journal.append("a", events("a", 2));
            long end = journal.nextGlobalOffset();
            assertEquals(3, end);
            journal.append("b", NewEvent.of("b1")); // written after the current read began
            assertEquals(2, journal.allEvents(0, Long.MAX_VALUE).stream().filter(e -> e.globalOffset() < end).count());
            journal.deleteTo("b", 1);
            assertEquals(4, journal.nextGlobalOffset());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void readHonoursInclusiveBoundsAndMax(Backend backend) throws Exception {
        try (Journal journal = open(backend)) {
            journal.append("p", events("e", 10));
            assertEquals(List.of(3L, 4L, 5L), seqs(journal.read("p", 3, 5, Long.MAX_VALUE)));
            assertEquals(List.of(3L, 4L), seqs(journal.read("p", 3, 9, 2)));
            assertEquals(List.of(7L), seqs(journal.read("p", 7, 7, 10)));
            assertEquals(List.of(), journal.read("p", 3, 9, 0));
            assertEquals(List.of(), journal.read("p", 6, 5, 10));
            assertEquals(List.of(), journal.read("unknown"));
            assertEquals(List.of(9L, 10L), seqs(journal.readAsync("p", 9, Long.MAX_VALUE, 100).get(10, TimeUnit.SECONDS)));
            assertThrows(InvalidArgumentException.class, () -> journal.read("p", -1, 5, 10));
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void smallReadsMatchLargeOnesAndSurviveReadingAgainInTheConsumer(Backend backend) {
        try (Journal journal = open(backend, SyncPolicy.never())) {
            journal.append("s", List.of(NewEvent.of("a").withManifest("M").withWriterId("w").withTags("t1", "t2").withMetadata(new byte[] {4, 2})));
            journal.append("s", events("e", 300));
            List<Event> all = journal.read("s", 1, Long.MAX_VALUE, 1000);
            for (long k = 1; k <= 301; k += 37) {
                assertEquals(show(all.subList((int) k - 1, (int) k)), show(journal.read("s", k, k, 1)), "event " + k);
                assertEquals(show(all.subList((int) k - 1, (int) Math.min(k + 9, 301))), show(journal.read("s", k, Long.MAX_VALUE, 10)), "window from " + k);
            }
            Event first = journal.read("s", 1, 1, 1).get(0);
            assertEquals(List.of("t1", "t2"), first.tags());
            assertArrayEquals(new byte[] {4, 2}, first.metadata());
            // A consumer that reads again on its own thread (the small reads share a per-thread buffer).
            List<String> seen = new ArrayList<>();
            journal.replay("s", 1, 5, 5, e -> {
                seen.add(e.payloadText() + "/" + journal.read("s", 300, 300, 1).get(0).payloadText());
            });
            assertEquals(List.of("a/e298", "e0/e298", "e1/e298", "e2/e298", "e3/e298"), seen);
            // Events too large for the per-thread buffer: a small read that falls back to an array.
            byte[] big = new byte[40_000];
            Arrays.fill(big, (byte) 7);
            journal.append("big", List.of(NewEvent.of(big), NewEvent.of(big), NewEvent.of("end")));
            List<Event> bigs = journal.read("big", 1, Long.MAX_VALUE, 3);
            assertEquals(3, bigs.size());
            assertArrayEquals(big, bigs.get(1).payload());
            assertEquals("end", bigs.get(2).payloadText());
        }
    }

    /** Every field of each event, arrays by content. */
    private static List<String> show(List<Event> events) {
        return events.stream()
                .map(e -> String.join("|", e.persistenceId(), "" + e.sequenceNr(), "" + e.globalOffset(), "" + e.timestamp(), e.manifest(), e.writerId(),
                        e.tags().toString(), Arrays.toString(e.metadata()), Arrays.toString(e.payload())))
                .toList();
    }

    private static List<Long> seqs(List<Event> events) {
        return events.stream().map(Event::sequenceNr).toList();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void replayCrossesPagesInOrder(Backend backend) {
        try (Journal journal = open(backend, SyncPolicy.never())) {
            int total = 40_000;
            for (int i = 0; i < total; i += 1000) {
                journal.appendAsync("long", events("e", 1000));
            }
            journal.flush();
            long[] expected = {1};
            long n = journal.replay("long", 1, Long.MAX_VALUE, Long.MAX_VALUE, e -> {
                assertEquals(expected[0]++, e.sequenceNr());
            });
            assertEquals(total, n);
            assertEquals(total - 100, journal.replay("long", 101, Long.MAX_VALUE, Long.MAX_VALUE, e -> {}));
            assertEquals(25_000, journal.replay("long", 1, Long.MAX_VALUE, 25_000, e -> {}));

            // Pages are also cut by size: 80 events of 128 KiB exceed one 4 MiB page.
            byte[] big = new byte[128 << 10];
            Arrays.fill(big, (byte) 7);
            for (int i = 0; i < 80; i++) {
                journal.appendAsync("big", NewEvent.of(big));
            }
            journal.flush();
            List<Event> read = journal.read("big");
            assertEquals(80, read.size());
            assertEquals(80, read.get(79).sequenceNr());
            assertArrayEquals(big, read.get(42).payload());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void writeChecksEachAtomicWriteAlone(Backend backend) {
        try (Journal journal = open(backend)) {
            List<WriteResult> results = journal.write(List.of(
                    new AtomicWrite("w", 1, events("a", 2)),
                    new AtomicWrite("w", 3, events("b", 1)),
                    new AtomicWrite("w", 9, events("c", 1)),
                    new AtomicWrite("v", 1, events("d", 3))));
            assertEquals(4, results.size());
            assertEquals(new WriteReceipt(1, 2), results.get(0).orThrow());
            assertEquals(new WriteReceipt(3, 3), results.get(1).orThrow());
            assertFalse(results.get(2).isSuccess());
            SequenceConflictException conflict = assertInstanceOf(SequenceConflictException.class, results.get(2).error());
            assertEquals("w", conflict.persistenceId());
            assertEquals(4, conflict.expectedSequenceNr());
            assertEquals(9, conflict.actualSequenceNr());
            assertEquals("SEQUENCE_CONFLICT", conflict.code());
            assertEquals(new WriteReceipt(1, 3), results.get(3).orThrow());
            assertEquals(3, journal.highestSequenceNr("w"));
            assertEquals(List.of("a0", "a1", "b0"), journal.read("w").stream().map(Event::payloadText).toList());

            List<WriteResult> invalid = journal.write(List.of(new AtomicWrite("", 1, events("x", 1)), new AtomicWrite("w", 4, events("y", 1))));
            assertInstanceOf(InvalidArgumentException.class, invalid.get(0).error());
            assertTrue(invalid.get(1).isSuccess());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void deleteToKeepsTheHighestSequenceNr(Backend backend) {
        try (Journal journal = open(backend)) {
            journal.append("d", events("e", 5));
            journal.deleteTo("d", 3);
            assertEquals(List.of(4L, 5L), seqs(journal.read("d")));
            assertEquals(5, journal.highestSequenceNr("d"));
            journal.deleteToAsync("d", Long.MAX_VALUE).join();
            assertEquals(List.of(), journal.read("d"));
            assertEquals(5, journal.highestSequenceNr("d"));
            assertEquals(new WriteReceipt(6, 6), journal.append("d", NewEvent.of("after")));
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void tagAndGlobalQueriesResumeFromOffsets(Backend backend) {
        try (Journal journal = open(backend)) {
            journal.append("p1", List.of(NewEvent.of("a").withTags("red"), NewEvent.of("b")));
            journal.append("p2", List.of(NewEvent.of("c").withTags("red", "blue")));
            journal.append("p1", List.of(NewEvent.of("d").withTags("red")));

            List<Event> red = journal.eventsByTag("red", 0, 100);
            assertEquals(List.of("a", "c", "d"), red.stream().map(Event::payloadText).toList());
            List<Event> rest = journal.eventsByTag("red", red.get(0).globalOffset() + 1, 100);
            assertEquals(List.of("c", "d"), rest.stream().map(Event::payloadText).toList());
            assertEquals(List.of("c"), journal.eventsByTagAsync("blue", 0, 10).join().stream().map(Event::payloadText).toList());
            assertEquals(1, journal.eventsByTag("red", 0, 1).size());

            List<Event> all = journal.allEvents(0, 100);
            assertEquals(List.of("a", "b", "c", "d"), all.stream().map(Event::payloadText).toList());
            assertEquals(List.of("p1", "p1", "p2", "p1"), all.stream().map(Event::persistenceId).toList());
            assertEquals(2, journal.allEventsAsync(all.get(2).globalOffset(), 100).join().size());
            assertThrows(InvalidArgumentException.class, () -> journal.eventsByTag("", 0, 10));
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void flushAndMetrics(Backend backend) {
        try (Journal journal = open(backend, SyncPolicy.never())) {
            journal.append("m", events("e", 3));
            journal.flushAsync().join();
            journal.flush();
            Metrics m = journal.metrics();
            assertEquals(1, m.appends());
            assertEquals(3, m.events());
            assertTrue(m.batches() >= 1);
            assertTrue(journal.prometheusMetrics().contains("tidelog_"));
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void snapshotsFollowTheCriteria(Backend backend) {
        try (Journal journal = open(backend)) {
            SnapshotStore store = journal.snapshots();
            assertEquals(java.util.Optional.empty(), store.loadLatest("s"));
            for (int seq = 11; seq <= 15; seq++) {
                store.save(new Snapshot("s", seq, 1000 + seq, "State", new byte[] {(byte) seq}, ("s-" + seq).getBytes(StandardCharsets.UTF_8)));
            }
            Snapshot latest = store.loadLatest("s").orElseThrow();
            assertEquals(15, latest.sequenceNr());
            assertEquals(1015, latest.timestamp());
            assertEquals("State", latest.manifest());
            assertArrayEquals(new byte[] {15}, latest.metadata());
            assertEquals("s-15", new String(latest.state(), StandardCharsets.UTF_8));
            assertEquals(13, store.load("s", SnapshotCriteria.latest().withMaxSequenceNr(13)).orElseThrow().sequenceNr());
            assertEquals(12, store.loadAsync("s", SnapshotCriteria.latest().withMaxTimestamp(1012)).join().orElseThrow().sequenceNr());
            assertTrue(store.load("s", SnapshotCriteria.latest().withMaxSequenceNr(7)).isEmpty());
            assertTrue(store.load("s", SnapshotCriteria.none()).isEmpty());
            assertEquals(List.of(11L, 12L, 13L, 14L, 15L), store.list("s").stream().map(SnapshotInfo::sequenceNr).toList());

            store.save(Snapshot.of("s", 15, 2000, "overwritten".getBytes(StandardCharsets.UTF_8)));
            Snapshot overwritten = store.loadLatest("s").orElseThrow();
            assertEquals(2000, overwritten.timestamp());
            assertEquals("overwritten", new String(overwritten.state(), StandardCharsets.UTF_8));

            assertTrue(store.delete("s", 15));
            assertFalse(store.deleteAsync("s", 15).join());
            assertEquals(14, store.loadLatest("s").orElseThrow().sequenceNr());
            assertEquals(2, store.deleteMatching("s", SnapshotCriteria.latest().withMaxSequenceNr(12)));
            assertEquals(1, store.prune("s", 1));
            assertEquals(List.of(14L), store.list("s").stream().map(SnapshotInfo::sequenceNr).toList());
            store.saveAsync(Snapshot.of("t", 1, 1, new byte[10_000])).join();
            assertEquals(List.of("s", "t"), store.persistenceIds());
            assertEquals(1, store.deleteMatchingAsync("t", SnapshotCriteria.latest()).join());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void everyOperationFailsWithClosedAfterClose(Backend backend) {
        Journal journal = open(backend);
        journal.append("c", NewEvent.of("x"));
        journal.close();
        journal.close(); // idempotent
        assertTrue(journal.isClosed());
        assertInstanceOf(ClosedException.class, cause(journal.appendAsync("c", NewEvent.of("y"))));
        assertThrows(ClosedException.class, () -> journal.append("c", NewEvent.of("y")));
        assertThrows(ClosedException.class, () -> journal.write(List.of(new AtomicWrite("c", 2, events("z", 1)))));
        assertThrows(ClosedException.class, () -> journal.deleteTo("c", 1));
        assertThrows(ClosedException.class, journal::nextGlobalOffset);
        assertThrows(ClosedException.class, journal::flush);
        assertThrows(ClosedException.class, () -> journal.read("c"));
        assertThrows(ClosedException.class, () -> journal.highestSequenceNr("c"));
        assertThrows(ClosedException.class, journal::persistenceIds);
        assertThrows(ClosedException.class, () -> journal.eventsByTag("t", 0, 1));
        assertThrows(ClosedException.class, () -> journal.allEvents(0, 1));
        assertThrows(ClosedException.class, () -> journal.snapshots().save(Snapshot.of("c", 1, 1, new byte[1])));
        assertThrows(ClosedException.class, () -> journal.snapshots().loadLatest("c"));
        assertThrows(ClosedException.class, () -> journal.snapshots().list("c"));
        assertEquals("CLOSED", assertThrows(ClosedException.class, () -> journal.snapshots().persistenceIds()).code());
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void invalidArgumentsAreRefused(Backend backend) {
        try (Journal journal = open(backend)) {
            assertInstanceOf(InvalidArgumentException.class, cause(journal.appendAsync("", NewEvent.of("x"))));
            assertInstanceOf(InvalidArgumentException.class, cause(journal.appendAsync("p", List.of())));
            assertInstanceOf(InvalidArgumentException.class, cause(journal.appendAsync("nul\0id", NewEvent.of("x"))));
            assertInstanceOf(InvalidArgumentException.class, cause(journal.appendAsync("p", NewEvent.of("x").withTags(""))));
            assertInstanceOf(InvalidArgumentException.class, cause(journal.appendAsync("x".repeat(1025), NewEvent.of("x"))));
            assertThrows(InvalidArgumentException.class, () -> journal.highestSequenceNr(""));
            assertEquals(0, journal.highestSequenceNr("p"));
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void sixtyFourThreadsAppendConcurrently(Backend backend) throws Exception {
        int threads = 64;
        int perThread = 50;
        try (Journal journal = open(backend)) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<List<WriteReceipt>>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    start.await();
                    List<WriteReceipt> receipts = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) {
                        journal.append("own-" + id, NewEvent.of("e" + i));
                        receipts.add(journal.append("shared", NewEvent.of(id + ":" + i)));
                    }
                    return receipts;
                }));
            }
            start.countDown();
            Set<Long> seen = ConcurrentHashMap.newKeySet();
            for (Future<List<WriteReceipt>> f : results) {
                List<WriteReceipt> receipts = f.get(120, TimeUnit.SECONDS);
                for (int i = 1; i < receipts.size(); i++) {
                    assertTrue(receipts.get(i).firstSequenceNr() > receipts.get(i - 1).firstSequenceNr(), "one thread's appends stay in order");
                }
                receipts.forEach(r -> assertTrue(seen.add(r.firstSequenceNr()), "sequence numbers are unique"));
            }
            pool.shutdown();
            assertEquals((long) threads * perThread, journal.highestSequenceNr("shared"));
            List<Event> shared = journal.read("shared");
            assertEquals(threads * perThread, shared.size());
            for (int i = 0; i < shared.size(); i++) {
                assertEquals(i + 1, shared.get(i).sequenceNr());
            }
            for (int t = 0; t < threads; t++) {
                assertEquals(perThread, journal.highestSequenceNr("own-" + t));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void futuresCompleteInSubmissionOrderPerStreamOffTheCompletionThread(Backend backend) {
        try (Journal journal = open(backend)) {
            java.util.Map<String, List<Integer>> order = new ConcurrentHashMap<>();
            Set<String> threadNames = ConcurrentHashMap.newKeySet();
            List<CompletableFuture<?>> futures = new ArrayList<>();
            int n = 600;
            for (int i = 0; i < n; i++) {
                int index = i;
                String key = i % 5 == 3 ? "" : "order-" + (i % 3);
                CompletableFuture<?> f;
                switch (i % 5) {
                    // Invalid requests fail at once on the submitting thread; they must still wait their turn.
                    case 3 -> f = journal.appendAsync("", NewEvent.of("bad"));
                    case 4 -> f = journal.flushAsync();
                    default -> f = journal.appendAsync(key, NewEvent.of("e" + i));
                }
                String stream = i % 5 == 4 ? "" : key;
                futures.add(f.handle((v, e) -> {
                    order.computeIfAbsent(stream, k -> Collections.synchronizedList(new ArrayList<>())).add(index);
                    threadNames.add(Thread.currentThread().getName());
                    return null;
                }));
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
            // One stream's futures complete in the order they were submitted (different streams in parallel).
            for (var entry : order.entrySet()) {
                List<Integer> seen = List.copyOf(entry.getValue());
                assertEquals(seen.stream().sorted().toList(), seen, "stream '" + entry.getKey() + "'");
            }
            assertEquals(n, order.values().stream().mapToInt(List::size).sum());
            // Never on the journal's completion thread; a stage attached after its future completed runs on the
            // attaching thread (here: main).
            assertTrue(threadNames.stream().allMatch(t -> t.startsWith("tidelog-continuation-") || t.equals("main")), threadNames.toString());
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aBlockingCallInsideAStageWorksBecauseStagesNeverRunOnTheCompletionThread(Backend backend) {
        try (Journal journal = open(backend)) {
            for (int attempt = 0; attempt < 50; attempt++) {
                WriteReceipt nested = journal.appendAsync("n", NewEvent.of("x")).thenApply(r -> {
                    assertFalse(Thread.currentThread().getName().startsWith("tidelog-completions-"));
                    return journal.append("n", NewEvent.of("nested")); // blocking: fine off the completion thread
                }).join();
                assertEquals(2L * (attempt + 1), nested.lastSequenceNr());
            }
            long before = journal.highestSequenceNr("n");
            CompletableFuture<WriteReceipt> composed = journal.appendAsync("n", NewEvent.of("x")).thenCompose(r -> journal.appendAsync("n", NewEvent.of("z")));
            assertEquals(new WriteReceipt(before + 2, before + 2), composed.join());
        }
    }
}
