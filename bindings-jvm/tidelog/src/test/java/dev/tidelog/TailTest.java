package dev.tidelog;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Live tails: the Flow.Publisher and the blocking iterator (catch-up, live, demand, cancellation, close). */
class TailTest {
    @TempDir
    Path dir;

    private Journal open(Backend backend) {
        return TestJournals.open(dir.resolve("journal"), Options.builder().backend(backend).build());
    }

    private static NewEvent event(String text, String... tags) {
        return NewEvent.of(text).withTags(List.of(tags));
    }

    private static List<String> texts(List<Event> events) {
        return events.stream().map(Event::payloadText).toList();
    }

    /** Collects events; requests {@code batch} at a time; checks it never gets more than it asked for. */
    static final class Collector implements Flow.Subscriber<Event> {
        final List<Event> events = Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<List<Event>> reached = new CompletableFuture<>();
        final CompletableFuture<Void> completed = new CompletableFuture<>();
        final AtomicReference<String> violation = new AtomicReference<>();
        final List<String> threads = Collections.synchronizedList(new ArrayList<>());
        private final int target;
        private final long batch;
        private long requested;
        volatile Flow.Subscription subscription;
        private int cancelAt = -1;

        Collector(int target, long batch) {
            this.target = target;
            this.batch = batch;
        }

        Collector cancelAt(int n) {
            cancelAt = n;
            return this;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            requested += batch;
            s.request(batch);
        }

        @Override
        public void onNext(Event e) {
            threads.add(Thread.currentThread().getName());
            events.add(e);
            if (events.size() > requested) {
                violation.set("got " + events.size() + " events with " + requested + " requested");
            }
            if (events.size() == cancelAt) {
                subscription.cancel();
            }
            if (events.size() == target) {
                reached.complete(List.copyOf(events));
            } else if (events.size() == requested && cancelAt < 0) {
                requested += batch;
                subscription.request(batch);
            }
        }

        @Override
        public void onError(Throwable t) {
            reached.completeExceptionally(t);
            completed.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            completed.complete(null);
        }

        List<Event> await() throws Exception {
            List<Event> got = reached.get(60, TimeUnit.SECONDS); // a guard against hanging, not a speed check
            assertNull(violation.get());
            return got;
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aPublisherCatchesUpThenFollowsLiveWrites(Backend backend) throws Exception {
        try (Journal journal = open(backend)) {
            journal.append("a", List.of(event("1", "t"), event("2")));
            journal.append("b", event("3", "t"));
            Collector all = new Collector(6, 2);
            Collector tag = new Collector(3, 1);
            Collector stream = new Collector(3, 10);
            journal.subscribe(TailSource.all(0)).subscribe(all);
            journal.subscribe(TailSource.tag("t", 0)).subscribe(tag);
            journal.subscribe(TailSource.stream("a", 2)).subscribe(stream);
            journal.append("a", event("4", "t"));
            journal.appendAsync("b", event("5"));
            journal.appendAsync("a", List.of(event("6")));

            List<Event> everything = all.await();
            assertEquals(List.of("1", "2", "3", "4", "5", "6"), texts(everything));
            for (int i = 1; i < everything.size(); i++) {
                assertTrue(everything.get(i - 1).globalOffset() < everything.get(i).globalOffset());
            }
            assertEquals(List.of("1", "3", "4"), texts(tag.await()));
            List<Event> a = stream.await();
            assertEquals(List.of("2", "4", "6"), texts(a));
            assertEquals(List.of(2L, 3L, 4L), a.stream().map(Event::sequenceNr).toList());
            // Signals run on the continuation executor, never on a journal thread.
            assertTrue(all.threads.stream().allMatch(t -> t.startsWith("tidelog-continuation-")), all.threads.toString());
        }
    }

    @Test
    void aPublisherStartedAtAnOffsetSkipsWhatCameBefore() throws Exception {
        try (Journal journal = open(Backend.LMDB)) {
            journal.append("a", List.of(event("1"), event("2"), event("3")));
            long third = journal.read("a").get(2).globalOffset();
            Collector c = new Collector(2, 5);
            journal.subscribe(TailSource.all(third)).subscribe(c);
            journal.append("b", event("4"));
            assertEquals(List.of("3", "4"), texts(c.await()));
        }
    }

    @Test
    void cancellingInsideOnNextStopsDeliveryAtOnce() throws Exception {
        // One continuation thread: the later subscriber's events are delivered after the cancelled one's lane ran.
        ExecutorService one = Executors.newSingleThreadExecutor();
        try (Journal journal = Tidelog.open(dir.resolve("journal"), Options.builder().continuations(new PerKeyExecutor(one)).build())) {
            List<NewEvent> ten = new ArrayList<>();
            for (int i = 1; i <= 10; i++) {
                ten.add(event(String.valueOf(i)));
            }
            journal.append("a", ten);
            Collector cancelled = new Collector(10, Long.MAX_VALUE).cancelAt(3);
            journal.subscribe(TailSource.all(0)).subscribe(cancelled);
            journal.append("a", ten);
            Collector later = new Collector(20, Long.MAX_VALUE);
            journal.subscribe(TailSource.all(0)).subscribe(later);
            assertEquals(20, later.await().size());
            assertEquals(List.of("1", "2", "3"), texts(List.copyOf(cancelled.events)));
            journal.close();
            assertFalse(cancelled.completed.isDone(), "a cancelled subscriber gets no further signal");
        } finally {
            one.shutdown();
        }
    }

    @Test
    void aSubscriberThatThrowsIsTreatedAsCancelled() throws Exception {
        ExecutorService one = Executors.newSingleThreadExecutor();
        try (Journal journal = Tidelog.open(dir.resolve("journal"), Options.builder().continuations(new PerKeyExecutor(one)).build())) {
            journal.append("a", List.of(event("1"), event("2"), event("3")));
            List<String> got = Collections.synchronizedList(new ArrayList<>());
            CompletableFuture<Void> signalled = new CompletableFuture<>();
            journal.subscribe(TailSource.all(0)).subscribe(new Flow.Subscriber<Event>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(Event e) {
                    got.add(e.payloadText());
                    throw new IllegalStateException("subscriber bug");
                }

                @Override
                public void onError(Throwable t) {
                    signalled.complete(null);
                }

                @Override
                public void onComplete() {
                    signalled.complete(null);
                }
            });
            journal.append("a", event("4"));
            Collector later = new Collector(4, Long.MAX_VALUE);
            journal.subscribe(TailSource.all(0)).subscribe(later);
            assertEquals(4, later.await().size());
            journal.close();
            assertEquals(List.of("1"), List.copyOf(got));
            assertFalse(signalled.isDone(), "no signal after the subscriber threw (rule 2.13)");
        } finally {
            one.shutdown();
        }
    }

    @Test
    void closingTheJournalCompletesSubscribers() throws Exception {
        Journal journal = open(Backend.LMDB);
        journal.append("a", event("1"));
        Collector c = new Collector(5, 5);
        journal.subscribe(TailSource.all(0)).subscribe(c);
        journal.close();
        c.completed.get(60, TimeUnit.SECONDS);
        assertTrue(c.events.size() <= 1);
        // Subscribing to a closed journal: onSubscribe, then onError(ClosedException).
        Collector late = new Collector(1, 1);
        journal.subscribe(TailSource.all(0)).subscribe(late);
        var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> late.completed.get(60, TimeUnit.SECONDS));
        assertInstanceOf(ClosedException.class, e.getCause());
    }

    @Test
    void aNonPositiveRequestFailsTheSubscription() throws Exception {
        try (Journal journal = open(Backend.MEMORY)) {
            CompletableFuture<Throwable> error = new CompletableFuture<>();
            journal.subscribe(TailSource.all(0)).subscribe(new Flow.Subscriber<Event>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    s.request(0);
                }

                @Override
                public void onNext(Event item) {
                    error.completeExceptionally(new AssertionError("onNext after request(0)"));
                }

                @Override
                public void onError(Throwable t) {
                    error.complete(t);
                }

                @Override
                public void onComplete() {
                    error.completeExceptionally(new AssertionError("onComplete"));
                }
            });
            assertInstanceOf(IllegalArgumentException.class, error.get(60, TimeUnit.SECONDS));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES", "POSTGRES"})
    void aBlockingIteratorCatchesUpFollowsAndEndsOnClose(Backend backend) throws Exception {
        try (Journal journal = open(backend)) {
            journal.append("a", List.of(event("1", "t"), event("2")));
            try (TailIterator tail = journal.tail(TailSource.tag("t", 0), 1)) {
                assertTrue(tail.hasNext());
                assertEquals("1", tail.next().payloadText());
                Thread writer = new Thread(() -> {
                    journal.append("b", event("3", "t"));
                    journal.append("a", event("4", "t"));
                });
                writer.start();
                assertEquals("3", tail.next().payloadText()); // waits for the commit
                assertEquals("4", tail.next().payloadText());
                writer.join();

                // close() from another thread wakes a waiting hasNext(), which then says "ended".
                CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(tail::hasNext);
                Thread.sleep(50); // let it block (the result does not depend on it)
                tail.close();
                assertFalse(waiting.get(60, TimeUnit.SECONDS));
                assertThrows(java.util.NoSuchElementException.class, tail::next);
            }
            TailIterator stream = journal.tail(TailSource.stream("a", 0));
            assertEquals(List.of("1", "2", "4"), List.of(stream.next().payloadText(), stream.next().payloadText(), stream.next().payloadText()));
            journal.close();
            assertFalse(stream.hasNext(), "the tail ends when the journal closes");
            stream.close();
        }
    }

    @Test
    void anInterruptedIteratorEnds() throws Exception {
        try (Journal journal = open(Backend.MEMORY); TailIterator tail = journal.tail(TailSource.all(0))) {
            CompletableFuture<Boolean> result = new CompletableFuture<>();
            Thread t = new Thread(() -> result.complete(tail.hasNext()));
            t.start();
            t.interrupt();
            assertFalse(result.get(60, TimeUnit.SECONDS));
            t.join();
        }
    }

    @Test
    void badSourcesAreRejected() {
        assertThrows(InvalidArgumentException.class, () -> TailSource.all(-1));
        try (Journal journal = open(Backend.MEMORY)) {
            assertThrows(InvalidArgumentException.class, () -> journal.tail(TailSource.tag("", 0)));
            assertThrows(InvalidArgumentException.class, () -> journal.subscribe(TailSource.all(0), 0));
        }
    }

}
