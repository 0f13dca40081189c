import dev.tidelog.Backend;
import dev.tidelog.Event;
import dev.tidelog.Journal;
import dev.tidelog.NewEvent;
import dev.tidelog.Options;
import dev.tidelog.SyncPolicy;
import dev.tidelog.Tidelog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntToDoubleFunction;
import java.util.stream.Stream;
import org.lmdbjava.Cursor;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;
import org.lmdbjava.EnvFlags;
import org.lmdbjava.GetOp;
import org.lmdbjava.Txn;

/**
 * The four per-call figures of issue 25, tidelog (LMDB backend) against lmdbjava in one JVM, µs
 * per call: durable append (one event: {@code append} with SyncPolicy.always vs a write txn with
 * sync), non-durable append (SyncPolicy.never vs MDB_NOSYNC), read one event ({@code read(id, k, k,
 * 1)} vs {@code get} in its own read txn, value copied to a byte[]) and read 100 events ({@code
 * read(id, k, MAX, 100)} vs a cursor's 100 values copied to byte[]s, each kept with its key; both
 * callers then read every event's sequence number and payload). The two sides alternate
 * within every round (which goes first alternates too); each keeps its best round.
 * Usage: java ... PerCallBench [work-dir] (ROUNDS, DURABLE_CALLS from the environment).
 */
public final class PerCallBench {
    private static final byte[] PAYLOAD = new byte[100];
    private static final int STORED = 10_000;
    private static final String STREAM = "actor-1";
    private static long sink;

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args.length > 0 ? args[0] : "target/bench-data").toAbsolutePath().resolve("percall");
        deleteTree(work);
        Files.createDirectories(work);
        int rounds = Integer.parseInt(System.getenv().getOrDefault("ROUNDS", "7"));
        int durableCalls = Integer.parseInt(System.getenv().getOrDefault("DURABLE_CALLS", "200"));

        Options.Builder lmdb = Options.builder().backend(Backend.LMDB).lmdbMapSize(1L << 30);
        try (Journal fast = Tidelog.open(work.resolve("tidelog"), lmdb.sync(SyncPolicy.never()).build());
                Journal durable = Tidelog.open(work.resolve("tidelog-durable"), lmdb.sync(SyncPolicy.always()).build());
                // The appends go to stores of their own: the reads then measure the same data every round.
                Journal appender = Tidelog.open(work.resolve("tidelog-append"), lmdb.sync(SyncPolicy.never()).build());
                Env<ByteBuffer> envAppend = lmdbEnv(work.resolve("lmdbjava-append"), EnvFlags.MDB_NOSYNC);
                Env<ByteBuffer> env = lmdbEnv(work.resolve("lmdbjava"), EnvFlags.MDB_NOSYNC);
                Env<ByteBuffer> envDurable = lmdbEnv(work.resolve("lmdbjava-durable"))) {
            Dbi<ByteBuffer> db = env.openDbi((String) null, DbiFlags.MDB_CREATE);
            Dbi<ByteBuffer> dbDurable = envDurable.openDbi((String) null, DbiFlags.MDB_CREATE);
            Dbi<ByteBuffer> dbAppend = envAppend.openDbi((String) null, DbiFlags.MDB_CREATE);
            List<NewEvent> thousand = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                thousand.add(NewEvent.of(PAYLOAD));
            }
            for (int i = 0; i < STORED; i += 1000) {
                fast.append(STREAM, thousand);
            }
            ByteBuffer key = ByteBuffer.allocateDirect(8);
            ByteBuffer value = ByteBuffer.allocateDirect(PAYLOAD.length);
            value.put(PAYLOAD).flip();
            try (Txn<ByteBuffer> txn = env.txnWrite()) {
                for (long k = 1; k <= STORED; k++) {
                    db.put(txn, key.clear().putLong(0, k).limit(8), value.duplicate());
                }
                txn.commit();
            }
            int oneCalls = 50_000;
            long[] keys = new long[oneCalls];
            long x = 12345;
            for (int i = 0; i < oneCalls; i++) {
                x = (x * 1103515245L + 12345L) & 0xFFFFFFFFL;
                keys[i] = x % STORED + 1;
            }
            long[] nextKey = {STORED + 1};
            NewEvent one = NewEvent.of(PAYLOAD);

            IntToDoubleFunction tlDurable = n -> timed(n, () -> {
                for (int i = 0; i < n; i++) {
                    durable.append(STREAM, one);
                }
            });
            IntToDoubleFunction tlAppend = n -> timed(n, () -> {
                for (int i = 0; i < n; i++) {
                    appender.append("writer", one);
                }
            });
            IntToDoubleFunction tlOne = n -> timed(n, () -> {
                for (int i = 0; i < n; i++) {
                    long k = keys[i];
                    sink += fast.read(STREAM, k, k, 1).get(0).payload().length;
                }
            });
            IntToDoubleFunction tlHundred = n -> timed(n, () -> {
                for (int i = 0; i < n; i++) {
                    long k = Math.min(keys[i], STORED - 99);
                    // Both sides hand every event's sequence number and payload to the caller, who reads them.
                    for (Event e : fast.read(STREAM, k, Long.MAX_VALUE, 100)) {
                        sink += e.sequenceNr() + e.payload().length;
                    }
                }
            });
            IntToDoubleFunction lmDurable = n -> timed(n, () -> put(envDurable, dbDurable, key, value, nextKey, n));
            IntToDoubleFunction lmAppend = n -> timed(n, () -> put(envAppend, dbAppend, key, value, nextKey, n));
            IntToDoubleFunction lmOne = n -> timed(n, () -> {
                for (int i = 0; i < n; i++) {
                    try (Txn<ByteBuffer> txn = env.txnRead()) {
                        ByteBuffer v = db.get(txn, key.clear().putLong(0, keys[i]).limit(8));
                        byte[] copy = new byte[v.remaining()];
                        v.get(copy);
                        sink += copy.length;
                    }
                }
            });
            IntToDoubleFunction lmHundred = n -> timed(n, () -> {
                for (int i = 0; i < n; i++) {
                    long k = Math.min(keys[i], STORED - 99);
                    try (Txn<ByteBuffer> txn = env.txnRead(); Cursor<ByteBuffer> c = db.openCursor(txn)) {
                        List<Entry> values = new ArrayList<>(100);
                        boolean found = c.get(key.clear().putLong(0, k).limit(8), GetOp.MDB_SET_RANGE);
                        while (found && values.size() < 100) {
                            ByteBuffer v = c.val();
                            byte[] copy = new byte[v.remaining()];
                            v.get(copy);
                            values.add(new Entry(c.key().getLong(0), copy));
                            found = c.next();
                        }
                        for (Entry e : values) {
                            sink += e.sequenceNr() + e.payload().length;
                        }
                    }
                }
            });

            String[] names = {"durable append (1 event)", "non-durable append (1 event)", "read one event", "read 100 events"};
            String[] ours = {"`append` (SyncPolicy.always)", "`append` (SyncPolicy.never)", "`read(id, k, k, 1)`", "`read(id, k, MAX, 100)`"};
            String[] theirs = {"`put` + commit, synced", "`put` + commit, MDB_NOSYNC", "`get` in a read txn, copied", "cursor from k, 100 (key, value copy) pairs"};
            IntToDoubleFunction[][] runs = {{tlDurable, lmDurable}, {tlAppend, lmAppend}, {tlOne, lmOne}, {tlHundred, lmHundred}};
            int[] calls = {durableCalls, 20_000, oneCalls, 5_000};
            double[] targets = {1.0, 1.0, 1.5, 1.0};
            double[][] best = new double[4][2];
            for (double[] b : best) {
                b[0] = b[1] = Double.MAX_VALUE;
            }
            // Warm-up (JIT), then the rounds.
            for (int w = 0; w < 3; w++) {
                for (int f = 0; f < 4; f++) {
                    runs[f][0].applyAsDouble(Math.min(calls[f], f == 0 ? 50 : 5000));
                    runs[f][1].applyAsDouble(Math.min(calls[f], f == 0 ? 50 : 5000));
                }
            }
            for (int r = 0; r < rounds; r++) {
                for (int f = 0; f < 4; f++) {
                    for (int s = 0; s < 2; s++) {
                        int side = r % 2 == 0 ? s : 1 - s;
                        best[f][side] = Math.min(best[f][side], runs[f][side].applyAsDouble(calls[f]));
                    }
                }
            }
            System.out.printf("java %s, lmdbjava %s%n%n", System.getProperty("java.version"), Env.class.getPackage().getImplementationVersion());
            System.out.printf("### Per-call figures vs lmdbjava (LMDB, 100-byte events, best of %d alternating rounds)%n%n", rounds);
            System.out.println("| figure | tidelog call | tidelog µs | lmdbjava call | lmdbjava µs | ratio | target |");
            System.out.println("|---|---|---:|---|---:|---:|---:|");
            for (int f = 0; f < 4; f++) {
                double ratio = best[f][0] / best[f][1];
                System.out.printf("| %s | %s | %.2f | %s | %.2f | %.2f×%s | ≤ %.1f× |%n", names[f], ours[f], best[f][0], theirs[f], best[f][1], ratio,
                        ratio <= targets[f] ? "" : " **over**", targets[f]);
            }
            if (sink == 42) {
                System.out.println();
            }
        }
        deleteTree(work);
    }

    /** What the lmdbjava side hands its caller per event, as tidelog's {@code Event} does: the key (sequence number) and a copy of the value. */
    private record Entry(long sequenceNr, byte[] payload) {}

    private static Env<ByteBuffer> lmdbEnv(Path dir, EnvFlags... flags) throws IOException {
        Files.createDirectories(dir);
        return Env.create().setMapSize(1L << 30).setMaxDbs(1).open(dir.toFile(), flags);
    }

    private static void put(Env<ByteBuffer> env, Dbi<ByteBuffer> db, ByteBuffer key, ByteBuffer value, long[] nextKey, int n) {
        for (int i = 0; i < n; i++) {
            try (Txn<ByteBuffer> txn = env.txnWrite()) {
                db.put(txn, key.clear().putLong(0, nextKey[0]++).limit(8), value.duplicate());
                txn.commit();
            }
        }
    }

    private static double timed(int n, Runnable body) {
        long t0 = System.nanoTime();
        body.run();
        return (System.nanoTime() - t0) / 1e3 / n;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
