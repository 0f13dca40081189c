package dev.tidelog;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Issue order, and futures that complete off the journal's threads (in order per persistence id). */
class OrderAndContinuationsTest {
    @TempDir
    Path dir;

    private Journal open(Backend backend) {
        return TestJournals.open(dir.resolve("journal"), Options.builder().backend(backend).build());
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aReadATrimAndADeleteIssuedAfterAnUnawaitedAppendObserveIt(Backend backend) {
        try (Journal journal = open(backend)) {
            List<String> misses = new ArrayList<>();
            for (long round = 1; round <= 1000; round++) {
                CompletableFuture<WriteReceipt> appended = journal.appendAsync("o", NewEvent.of("e" + round)); // not awaited
                List<Event> read = journal.readAsync("o", 1, Long.MAX_VALUE, Long.MAX_VALUE).join();
                if (read.isEmpty() || read.get(read.size() - 1).sequenceNr() != round) misses.add("read after append " + round);
                if (journal.highestSequenceNr("o") != round) misses.add("highest after append " + round);
                CompletableFuture<Void> trimmed = journal.deleteToAsync("o", round - 1); // a trim, not awaited either
                List<Event> left = journal.read("o", 1, Long.MAX_VALUE, Long.MAX_VALUE);
                if (left.size() != 1 || left.get(0).sequenceNr() != round) misses.add("read after trim " + round + ": " + left.size());
                appended.join();
                trimmed.join();
            }
            // A deletion of everything right after an unawaited append removes that append too.
            CompletableFuture<WriteReceipt> last = journal.appendAsync("o", NewEvent.of("last"));
            journal.deleteToAsync("o", Long.MAX_VALUE).join();
            last.join();
            assertEquals(List.of(), journal.read("o", 1, Long.MAX_VALUE, Long.MAX_VALUE));
            assertEquals(List.of(), misses);
        }
    }

    @Test
    void aBlockedContinuationOfOneStreamHoldsUpNoOtherStream() throws Exception {
        try (Journal journal = open(Backend.LMDB)) {
            CountDownLatch release = new CountDownLatch(1), slowEntered = new CountDownLatch(1), fastRan = new CountDownLatch(1);
            CompletableFuture<Void> slow = journal.appendAsync("slow", NewEvent.of("x")).thenRun(() -> {
                slowEntered.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS); // stands for a handler that takes its time
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertTrue(slowEntered.await(30, TimeUnit.SECONDS));
            // Run on the completion thread, the blocked stage above would keep this one from ever completing.
            journal.appendAsync("fast", NewEvent.of("y")).thenRun(fastRan::countDown);
            boolean fastWhileSlowBlocked = fastRan.await(30, TimeUnit.SECONDS);
            release.countDown();
            slow.join();
            assertTrue(fastWhileSlowBlocked, "another stream's continuation waited for the blocked one");
        }
    }

    @Test
    void oneStreamsFuturesCompleteInSubmissionOrderOffTheCompletionThread() {
        try (Journal journal = open(Backend.MEMORY)) {
            List<Long> order = Collections.synchronizedList(new ArrayList<>());
            List<String> threads = Collections.synchronizedList(new ArrayList<>());
            List<CompletableFuture<Void>> all = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                all.add(journal.appendAsync("s", NewEvent.of("e" + i)).thenAccept(r -> {
                    order.add(r.firstSequenceNr());
                    threads.add(Thread.currentThread().getName());
                }));
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
            for (int i = 0; i < order.size(); i++) assertEquals(i + 1, order.get(i));
            assertTrue(threads.stream().noneMatch(t -> t.startsWith("tidelog-completions")), "a stage ran on the completion thread");
        }
    }
}
