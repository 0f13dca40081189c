import dev.tidelog.Backend;
import dev.tidelog.Journal;
import dev.tidelog.Metrics;
import dev.tidelog.NewEvent;
import dev.tidelog.Options;
import dev.tidelog.SyncPolicy;
import dev.tidelog.Tidelog;
import dev.tidelog.WriteReceipt;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Benchmarks of the JVM binding (see RESULTS.md): JNI floor, per-call cost of a no-sync append,
 * durable throughput with 64 threads next to this device's fsync bound, and replay through JNI.
 * Usage: java -Dtidelog.native.library=... TidelogBench [work-dir]
 */
public final class TidelogBench {
    private static final byte[] PAYLOAD_16 = new byte[16];
    private static final byte[] PAYLOAD_100 = new byte[100];

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args.length > 0 ? args[0] : "target/bench-data").toAbsolutePath();
        deleteTree(work);
        Files.createDirectories(work);
        System.out.printf("java %s, %d cpus, work dir %s%n%n", System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), work);

        jniFloor(work);
        deviceBound(work);
        for (Backend b : new Backend[] {Backend.MEMORY, Backend.LMDB, Backend.FILES}) {
            noSyncAppend(work, b);
        }
        for (Backend b : new Backend[] {Backend.LMDB, Backend.FILES}) {
            durable64(work, b, false);
            durable64(work, b, true);
        }
        for (Backend b : new Backend[] {Backend.LMDB, Backend.FILES}) {
            replay(work, b, 1_000_000);
        }
        deleteTree(work);
    }

    private static Journal open(Path dir, Backend backend, SyncPolicy sync) throws IOException {
        deleteTree(dir);
        return Tidelog.open(dir, Options.builder().backend(backend).sync(sync).lmdbMapSize(1L << 30).build());
    }

    /** Cost of one JNI crossing that does almost nothing (isClosed reads an atomic). */
    private static void jniFloor(Path work) throws IOException {
        try (Journal j = open(work.resolve("floor"), Backend.MEMORY, SyncPolicy.never())) {
            boolean sink = false;
            for (int round = 0; round < 3; round++) {
                int n = 5_000_000;
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    sink ^= j.isClosed();
                }
                long dt = System.nanoTime() - t0;
                if (round == 2) {
                    System.out.printf("jni floor: %.1f ns per native call (isClosed, %d calls)%s%n", (double) dt / n, n, sink ? " " : "");
                }
            }
        }
    }

    /** write(128 B) + fdatasync on this device: the bound for durable commits. */
    private static void deviceBound(Path work) throws IOException {
        Path file = work.resolve("fsync-probe");
        int n = 2000;
        long[] lat = new long[n];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocate(128);
            long pos = 0;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                long s = System.nanoTime();
                buf.clear();
                ch.write(buf, pos);
                pos += 128;
                ch.force(false);
                lat[i] = System.nanoTime() - s;
            }
            long dt = System.nanoTime() - t0;
            Arrays.sort(lat);
            System.out.printf("device bound: write(128 B)+fdatasync p50 %.0f us, p99 %.0f us, %.0f syncs/s%n%n",
                    lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3, n / (dt / 1e9));
        }
    }

    /** appendAsync with SyncPolicy.never: caller-side cost, pipelined throughput, blocking round trip. */
    private static void noSyncAppend(Path work, Backend backend) throws Exception {
        try (Journal j = open(work.resolve("nosync-" + backend), backend, SyncPolicy.never())) {
            List<NewEvent> one = List.of(NewEvent.of(PAYLOAD_16));
            // warm-up
            pipelined(j, one, 200_000);
            long n = 1_000_000;
            long[] submit = new long[1];
            long t0 = System.nanoTime();
            submit[0] = pipelined(j, one, n);
            long dt = System.nanoTime() - t0;
            int m = 100_000;
            long t1 = System.nanoTime();
            for (int i = 0; i < m; i++) {
                j.append("rt", one);
            }
            long rt = System.nanoTime() - t1;
            Metrics metrics = j.metrics();
            List<NewEvent> hundred = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                hundred.add(NewEvent.of(PAYLOAD_16));
            }
            long calls = 20_000;
            long t2 = System.nanoTime();
            long inside100 = pipelined(j, hundred, calls);
            long dt100 = System.nanoTime() - t2;
            System.out.printf("no-sync append, %s: appendAsync %.0f ns/call on the caller thread; %.0f ns/append end to end pipelined (%.2f M appends/s, %.0f events/batch); blocking append round trip %.1f us; 100 events per appendAsync: %.0f ns/call on the caller thread, %.2f M events/s end to end%n",
                    backend, (double) submit[0] / n, (double) dt / n, n / (dt / 1e9) / 1e6, metrics.meanBatchEvents(), rt / 1e3 / m,
                    (double) inside100 / calls, calls * 100 / (dt100 / 1e9) / 1e6);
        }
    }

    /** Submits n single-event appends (at most 64k in flight) and waits; returns nanoseconds spent inside appendAsync. */
    private static long pipelined(Journal j, List<NewEvent> events, long n) {
        int window = 65_536;
        CompletableFuture<?>[] inFlight = new CompletableFuture<?>[window];
        long inside = 0;
        for (long i = 0; i < n; i++) {
            int slot = (int) (i % window);
            if (inFlight[slot] != null) {
                inFlight[slot].join();
            }
            long s = System.nanoTime();
            inFlight[slot] = j.appendAsync("p" + (i & 63), events);
            inside += System.nanoTime() - s;
        }
        for (CompletableFuture<?> f : inFlight) {
            if (f != null) {
                f.join();
            }
        }
        return inside;
    }

    /** 64 threads appending durably (SyncPolicy.always) for a fixed time; optionally 8 appends in flight per thread. */
    private static void durable64(Path work, Backend backend, boolean pipelined) throws Exception {
        int threads = 64;
        long durationNanos = 5_000_000_000L;
        try (Journal j = open(work.resolve("durable-" + backend + pipelined), backend, SyncPolicy.always())) {
            AtomicLong events = new AtomicLong();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            long[] deadline = new long[1];
            for (int t = 0; t < threads; t++) {
                String pid = "writer-" + t;
                Thread th = new Thread(() -> {
                    List<NewEvent> one = List.of(NewEvent.of(PAYLOAD_100));
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    long local = 0;
                    if (!pipelined) {
                        while (System.nanoTime() < deadline[0]) {
                            j.append(pid, one);
                            local++;
                        }
                    } else {
                        CompletableFuture<?>[] window = new CompletableFuture<?>[8];
                        int slot = 0;
                        while (System.nanoTime() < deadline[0]) {
                            if (window[slot] != null) {
                                window[slot].join();
                                local++;
                            }
                            window[slot] = j.appendAsync(pid, one);
                            slot = (slot + 1) % window.length;
                        }
                        for (CompletableFuture<?> f : window) {
                            if (f != null) {
                                f.join();
                                local++;
                            }
                        }
                    }
                    events.addAndGet(local);
                });
                ts.add(th);
                th.start();
            }
            Metrics before = j.metrics();
            long t0 = System.nanoTime();
            deadline[0] = t0 + durationNanos;
            start.countDown();
            for (Thread th : ts) {
                th.join();
            }
            long dt = System.nanoTime() - t0;
            Metrics m = j.metrics();
            long batches = m.batches() - before.batches();
            System.out.printf("durable, 64 threads, %s, %s: %.0f events/s, %.0f commits/s, %.1f events/commit, mean commit %.0f us%n",
                    backend, pipelined ? "8 appendAsync in flight per thread" : "blocking append", events.get() / (dt / 1e9), batches / (dt / 1e9),
                    m.meanBatchEvents(), m.meanCommitMicros());
        }
    }

    /** Writes n events to one stream, then replays them through JNI, one crossing per page. */
    private static void replay(Path work, Backend backend, int n) throws Exception {
        try (Journal j = open(work.resolve("replay-" + backend), backend, SyncPolicy.never())) {
            List<NewEvent> batch = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                batch.add(NewEvent.of(PAYLOAD_100).withManifest("Evt"));
            }
            CompletableFuture<WriteReceipt> last = null;
            for (int i = 0; i < n; i += 1000) {
                last = j.appendAsync("stream", batch);
            }
            last.join();
            j.flush();
            long best = Long.MAX_VALUE;
            long[] seen = new long[1];
            double[] rates = new double[5];
            for (int round = 0; round < rates.length; round++) {
                seen[0] = 0;
                long t0 = System.nanoTime();
                long count = j.replay("stream", 1, Long.MAX_VALUE, Long.MAX_VALUE, e -> seen[0] += e.payload().length);
                long dt = System.nanoTime() - t0;
                if (count != n || seen[0] != (long) n * PAYLOAD_100.length) {
                    throw new IllegalStateException("replayed " + count);
                }
                best = Math.min(best, dt);
                rates[round] = n / (dt / 1e9);
            }
            Arrays.sort(rates);
            System.out.printf("replay %d events (100 B payload), %s: median %.2f M events/s, best %.2f M events/s (%d pages of <= 16384 events)%n",
                    n, backend, rates[rates.length / 2] / 1e6, n / (best / 1e9) / 1e6, (n + 16383) / 16384);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        }
    }
}
