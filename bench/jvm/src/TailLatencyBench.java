import dev.tidelog.Backend;
import dev.tidelog.Event;
import dev.tidelog.Journal;
import dev.tidelog.NewEvent;
import dev.tidelog.Options;
import dev.tidelog.SyncPolicy;
import dev.tidelog.TailIterator;
import dev.tidelog.TailSource;
import dev.tidelog.Tidelog;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

/**
 * Commit-to-subscriber latency of the JVM live tails (issue 23): one writer thread appends one
 * event at a time with the blocking {@code append}, its payload holding {@code System.nanoTime()}
 * taken just before the call (so a sample includes the commit itself); the subscriber takes the
 * difference when the event reaches it. The writer waits for each event to arrive before the
 * next append, so every sample is a wake-up from idle (the worst case, not a pipeline).
 *
 * <p>Usage: {@code TailLatencyBench <dir> [events]}; prints p50 / p90 / p99 / max in µs for the
 * {@code Flow.Publisher} and the blocking {@code TailIterator}, on LMDB with sync never (the
 * fsync is not what is measured) and on the memory backend.
 */
public final class TailLatencyBench {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args.length > 0 ? args[0] : "bench-data");
        int events = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
        Files.createDirectories(root);
        for (Backend backend : new Backend[] {Backend.LMDB, Backend.MEMORY}) {
            Path dir = Files.createTempDirectory(root, "tails-");
            try (Journal journal = Tidelog.open(dir, Options.builder().backend(backend).sync(SyncPolicy.never()).build())) {
                report(backend + " publisher", publisher(journal, events));
            }
            Path dir2 = Files.createTempDirectory(root, "tails-");
            try (Journal journal = Tidelog.open(dir2, Options.builder().backend(backend).sync(SyncPolicy.never()).build())) {
                report(backend + " iterator ", iterator(journal, events));
            }
        }
    }

    private static byte[] stamp() {
        return ByteBuffer.allocate(8).putLong(System.nanoTime()).array();
    }

    private static long age(Event e) {
        return System.nanoTime() - ByteBuffer.wrap(e.payload()).getLong();
    }

    private static long[] publisher(Journal journal, int events) throws Exception {
        int warmup = events / 10;
        long[] samples = new long[events];
        int[] n = {0};
        Object lock = new Object();
        journal.subscribe(TailSource.all(0)).subscribe(new Flow.Subscriber<Event>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(Event e) {
                long a = age(e);
                synchronized (lock) {
                    if (n[0] - warmup >= 0 && n[0] - warmup < samples.length) {
                        samples[n[0] - warmup] = a;
                    }
                    n[0]++;
                    lock.notifyAll();
                }
            }

            @Override
            public void onError(Throwable t) {
                t.printStackTrace();
            }

            @Override
            public void onComplete() {}
        });
        for (int i = 0; i < warmup + events; i++) {
            journal.append("p", NewEvent.of(stamp()));
            synchronized (lock) {
                while (n[0] < i + 1) {
                    lock.wait();
                }
            }
        }
        return samples;
    }

    private static long[] iterator(Journal journal, int events) throws Exception {
        int warmup = events / 10;
        long[] samples = new long[events];
        CountDownLatch done = new CountDownLatch(1);
        Object lock = new Object();
        int[] n = {0};
        Thread reader = new Thread(() -> {
            try (TailIterator tail = journal.tail(TailSource.all(0))) {
                while (n[0] < warmup + events && tail.hasNext()) {
                    long a = age(tail.next());
                    synchronized (lock) {
                        if (n[0] >= warmup) {
                            samples[n[0] - warmup] = a;
                        }
                        n[0]++;
                        lock.notifyAll();
                    }
                }
            }
            done.countDown();
        });
        reader.setDaemon(true);
        reader.start();
        for (int i = 0; i < warmup + events; i++) {
            journal.append("p", NewEvent.of(stamp()));
            synchronized (lock) {
                while (n[0] < i + 1) {
                    lock.wait();
                }
            }
        }
        done.await(60, TimeUnit.SECONDS);
        return samples;
    }

    private static void report(String what, long[] samples) {
        long[] s = samples.clone();
        Arrays.sort(s);
        System.out.printf("%-18s n=%d  p50 %.1f µs  p90 %.1f µs  p99 %.1f µs  max %.1f µs%n", what, s.length,
                s[s.length / 2] / 1e3, s[(int) (s.length * 0.9)] / 1e3, s[(int) (s.length * 0.99)] / 1e3, s[s.length - 1] / 1e3);
    }
}
