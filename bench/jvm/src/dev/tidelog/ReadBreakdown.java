package dev.tidelog;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a JVM 100-event read spends its time (issue 25): the whole {@code Journal.read}, the
 * native call alone ({@code readStreamInto} into a reused array), and the Java decoding
 * of one stream page alone (and, beside it, of the same events as an event page). Same data as PerCallBench. In package dev.tidelog to reach NativeBridge.
 * Usage: java ... dev.tidelog.ReadBreakdown [work-dir]
 */
public final class ReadBreakdown {
    static long sink;

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args.length > 0 ? args[0] : "target/bench-data").toAbsolutePath().resolve("read-breakdown");
        if (Files.exists(work)) {
            try (var paths = Files.walk(work)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Files.createDirectories(work);
        Options options = Options.builder().backend(Backend.LMDB).lmdbMapSize(1L << 30).sync(SyncPolicy.never()).build();
        try (Journal j = Tidelog.open(work, options)) {
            List<NewEvent> thousand = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                thousand.add(NewEvent.of(new byte[100]));
            }
            for (int i = 0; i < 10; i++) {
                j.append("actor-1", thousand);
            }
            long[] keys = new long[5000];
            long x = 12345;
            for (int i = 0; i < keys.length; i++) {
                x = (x * 1103515245L + 12345L) & 0xFFFFFFFFL;
                keys[i] = Math.min(x % 10_000 + 1, 10_000 - 99);
            }
            long handle = j.handle();
            byte[] buffer = new byte[64 << 10];
            int pageLength = NativeBridge.readStreamInto(handle, "actor-1", keys[0], Long.MAX_VALUE, 100, 4 << 20, buffer);
            // The same events as an "Event page" (what the small reads decoded before the stream page).
            byte[] eventPage = NativeBridge.readPage(handle, NativeBridge.STREAM, "actor-1", keys[0], Long.MAX_VALUE, 100, 4 << 20);
            double[] best = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE};
            for (int r = 0; r < 15; r++) {
                long t0 = System.nanoTime();
                for (long k : keys) {
                    for (Event e : j.read("actor-1", k, Long.MAX_VALUE, 100)) {
                        sink += e.payload().length + e.sequenceNr();
                    }
                }
                long t1 = System.nanoTime();
                for (long k : keys) {
                    sink += NativeBridge.readStreamInto(handle, "actor-1", k, Long.MAX_VALUE, 100, 4 << 20, buffer);
                }
                long t2 = System.nanoTime();
                for (int i = 0; i < keys.length; i++) {
                    for (Event e : new Wire.StreamPageDecoder("actor-1").decode(buffer)) {
                        sink += e.payload().length + e.sequenceNr();
                    }
                }
                long t3 = System.nanoTime();
                for (int i = 0; i < keys.length; i++) {
                    for (Event e : new Wire.PageDecoder("actor-1").decodeAll(eventPage, 0)) {
                        sink += e.payload().length + e.sequenceNr();
                    }
                }
                long t4 = System.nanoTime();
                // The floor: what any decoder must do per event (a payload copy and an object holding it).
                for (int i = 0; i < keys.length; i++) {
                    Event[] out = new Event[100];
                    for (int q = 0; q < 100; q++) {
                        int at = 60 + q * 148;
                        out[q] = new Event("actor-1", q, q, q, "", "", List.of(), buffer, java.util.Arrays.copyOfRange(buffer, at, at + 100));
                    }
                    for (Event e : out) {
                        sink += e.payload().length + e.sequenceNr();
                    }
                }
                long t5 = System.nanoTime();
                best[3] = Math.min(best[3], (t4 - t3) / 1e3 / keys.length);
                best[4] = Math.min(best[4], (t5 - t4) / 1e3 / keys.length);
                best[0] = Math.min(best[0], (t1 - t0) / 1e3 / keys.length);
                best[1] = Math.min(best[1], (t2 - t1) / 1e3 / keys.length);
                best[2] = Math.min(best[2], (t3 - t2) / 1e3 / keys.length);
            }
            System.out.printf("per 100-event read, µs: Journal.read %.2f, native readStreamInto alone %.2f, Java decoding of the stream page alone %.2f (of the same events as an event page: %.2f; floor, 100 payload copies + Event objects: %.2f) (page %d bytes)%n",
                    best[0], best[1], best[2], best[3], best[4], pageLength);
        }
    }
}
