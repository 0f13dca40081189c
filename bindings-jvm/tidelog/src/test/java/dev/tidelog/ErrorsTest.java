package dev.tidelog;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every core error kind has its own exception, and each is reached by a real trigger. */
class ErrorsTest {
    @TempDir
    Path dir;

    @Test
    void everyCoreErrorKindMapsToItsOwnExceptionClass() {
        String[] codes = NativeBridge.errorCodes();
        assertTrue(codes.length >= 9);
        Set<Class<?>> classes = new HashSet<>();
        for (String code : codes) {
            TidelogException e = TidelogException.fromNative(code, "message", "pid", 2, 3, false);
            assertNotEquals(TidelogException.class, e.getClass(), "no dedicated exception for core error " + code);
            assertEquals(code, e.code());
            assertEquals("message", e.getMessage());
            assertTrue(classes.add(e.getClass()), "two codes share " + e.getClass());
        }
    }

    @ParameterizedTest
    // Not POSTGRES: lock files and read-only handles belong to directories.
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES"})
    void aSecondWriterIsLockedOut(Backend backend) {
        Options options = Options.builder().backend(backend).build();
        try (Journal first = Tidelog.open(dir, options)) {
            first.append("p", NewEvent.of("x"));
            LockedException e = assertThrows(LockedException.class, () -> Tidelog.open(dir, options));
            assertEquals("LOCKED", e.code());
        }
        try (Journal again = Tidelog.open(dir, options)) {
            assertEquals(1, again.highestSequenceNr("p"));
        }
    }

    @ParameterizedTest
    // Not POSTGRES: lock files and read-only handles belong to directories.
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES"})
    void aReadOnlyJournalReadsButRefusesWrites(Backend backend) {
        try (Journal writer = Tidelog.open(dir, Options.builder().backend(backend).build())) {
            writer.append("p", NewEvent.of("x"));
        }
        try (Journal reader = Tidelog.open(dir, Options.builder().backend(backend).readOnly(true).build())) {
            assertEquals(1, reader.read("p").size());
            assertThrows(InvalidArgumentException.class, () -> reader.append("p", NewEvent.of("y")));
        }
    }

    @Test
    void aLoneSurrogateIsAnInvalidArgumentNotALossyConversion() {
        try (Journal journal = Tidelog.open(dir, Options.defaults())) {
            // Encoded lossily, both would be the stream "a?" (and the native string form "a\uFFFD").
            assertThrows(InvalidArgumentException.class, () -> journal.append("a\uD800", NewEvent.of("x")));
            assertThrows(InvalidArgumentException.class, () -> journal.append("a\uDC00b", NewEvent.of("x")));
            assertThrows(InvalidArgumentException.class, () -> journal.append("p", NewEvent.of("x").withTags("t\uD800")));
            assertThrows(InvalidArgumentException.class, () -> journal.read("a\uD800"));
            assertThrows(InvalidArgumentException.class, () -> journal.highestSequenceNr("a\uD800"));
            // A surrogate pair is one real character and fine.
            journal.append("a\uD83D\uDE00", NewEvent.of("x"));
            assertEquals(1, journal.read("a\uD83D\uDE00").size());
            assertEquals(0, journal.read("a?").size());
        }
    }

    @Test
    void aBackendMismatchAndBadOptionsAreInvalidArguments() {
        try (Journal journal = Tidelog.open(dir, Options.builder().backend(Backend.FILES).build())) {
            journal.append("p", NewEvent.of("x"));
        }
        assertThrows(InvalidArgumentException.class, () -> Tidelog.open(dir, Options.builder().backend(Backend.LMDB).build()));
        assertThrows(InvalidArgumentException.class, () -> Tidelog.open(dir.resolve("other"), Options.builder().maxBatchEvents(0).build()));
    }

    @Test
    void checkOptionsNamesTheFirstOptionThatDiffers() {
        Options opened = Options.builder().backend(Backend.FILES).sync(SyncPolicy.never()).build();
        try (Journal journal = Tidelog.open(dir, opened)) {
            journal.checkOptions(Options.builder().backend(Backend.FILES).sync(SyncPolicy.never()).build());
            InvalidArgumentException sync = assertThrows(InvalidArgumentException.class,
                    () -> journal.checkOptions(Options.builder().backend(Backend.FILES).build()));
            assertTrue(sync.getMessage().contains("already open with sync = never, not always"), sync.getMessage());
            InvalidArgumentException events = assertThrows(InvalidArgumentException.class, () -> journal.checkOptions(
                    Options.builder().backend(Backend.FILES).sync(SyncPolicy.never()).maxBatchEvents(7).build()));
            assertTrue(events.getMessage().contains("max_batch_events = 4096, not 7"), events.getMessage());
        }
    }

    @Test
    void aDamagedFormatMarkerIsCorruptData() throws IOException {
        try (Journal journal = Tidelog.open(dir, Options.builder().backend(Backend.FILES).build())) {
            journal.append("p", NewEvent.of("x"));
        }
        Files.writeString(dir.resolve("FORMAT"), "garbage\n");
        assertEquals("CORRUPT", assertThrows(CorruptDataException.class, () -> Tidelog.open(dir, Options.builder().backend(Backend.FILES).build())).code());
    }

    @Test
    void aDamagedEventIsCorruptDataOnEveryReadNeverReturned() throws IOException {
        try (Journal journal = Tidelog.open(dir, Options.builder().backend(Backend.LMDB).build())) {
            journal.append("p", List.of(NewEvent.of("first-event-payload"), NewEvent.of("UNIQUE-MARKER-PAYLOAD")));
        }
        Path data = dir.resolve("lmdb").resolve("data.mdb");
        byte[] bytes = Files.readAllBytes(data);
        byte[] marker = "UNIQUE-MARKER-PAYLOAD".getBytes(StandardCharsets.UTF_8);
        int at = -1;
        for (int i = 0; at < 0 && i + marker.length <= bytes.length; i++) {
            if (java.util.Arrays.equals(bytes, i, i + marker.length, marker, 0, marker.length)) {
                at = i;
            }
        }
        assertTrue(at >= 0, "payload on disk");
        bytes[at + 3] ^= 0x01;
        Files.write(data, bytes);
        try (Journal journal = Tidelog.open(dir, Options.builder().backend(Backend.LMDB).build())) {
            assertEquals("first-event-payload", journal.read("p", 1, 1, 1).get(0).payloadText());
            // A small read (the stream page), a large one (event pages) and a replay all check every event's CRC.
            assertEquals("CORRUPT", assertThrows(CorruptDataException.class, () -> journal.read("p", 1, 2, 10)).code());
            assertEquals("CORRUPT", assertThrows(CorruptDataException.class, () -> journal.read("p")).code());
            assertEquals("CORRUPT", assertThrows(CorruptDataException.class, () -> journal.replay("p", 2, 2, 1, e -> {})).code());
        }
    }

    @Test
    void aNewerFormatIsUnsupported() throws IOException {
        try (Journal journal = Tidelog.open(dir, Options.defaults())) {
            journal.append("p", NewEvent.of("x"));
        }
        Files.writeString(dir.resolve("FORMAT"), "backend = lmdb\nformat = 99\n");
        assertThrows(UnsupportedFormatException.class, () -> Tidelog.open(dir));
    }

    @Test
    void aFileInPlaceOfTheDirectoryIsAnIoError() throws IOException {
        Path file = dir.resolve("not-a-dir");
        Files.writeString(file, "x");
        assertEquals("IO", assertThrows(StorageIOException.class, () -> Tidelog.open(file)).code());
    }

    /**
     * A child JVM whose file-size limit ({@code ulimit -f}) is 2 MiB appends until the segment
     * file hits it: the kernel answers EFBIG, which the core reports as storage full.
     */
    @Test
    void aFullDeviceIsStorageFull() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("java.class.path");
        String lib = NativeLoader.loadedFrom().toString();
        String command = "ulimit -f 2048; exec '" + java + "' -XX:-UsePerfData -Dtidelog.native.library='" + lib + "' -cp '" + cp + "' "
                + "'" + StorageFullProbe.class.getName() + "' '" + dir + "'";
        Process p = new ProcessBuilder("bash", "-c", command).redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("STORAGE_FULL after"), out);
        assertTrue(out.contains("survived: true"), out);
    }

    /** Child-process side of {@link #aFullDeviceIsStorageFull()}. */
    public static final class StorageFullProbe {
        public static void main(String[] args) {
            Path dir = Path.of(args[0]);
            byte[] payload = new byte[64 << 10];
            long acknowledged = 0;
            try (Journal journal = Tidelog.open(dir, Options.builder().backend(Backend.FILES).build())) {
                for (int i = 0; i < 1000; i++) {
                    try {
                        acknowledged = journal.append("full", NewEvent.of(payload)).lastSequenceNr();
                    } catch (StorageFullException e) {
                        System.out.println("STORAGE_FULL after " + acknowledged + ": " + e.getMessage());
                        List<Event> events = journal.read("full");
                        System.out.println("survived: " + (events.size() == acknowledged));
                        return;
                    }
                }
                System.out.println("no error after " + acknowledged + " appends");
            } catch (TidelogException e) {
                System.out.println("unexpected " + e.code() + ": " + e.getMessage());
            }
        }
    }

    /**
     * A child JVM with a preloaded shim ({@code tests/faults/failsync.c}) whose fdatasync fails
     * with EIO after 20 successful calls: the failed flush is an I/O error, and from then on the
     * journal refuses writes with {@link JournalFailedException} until it is reopened.
     */
    @Test
    void aFailedFlushPoisonsTheJournal() throws Exception {
        Path source = Path.of(System.getProperty("user.dir")).resolve("../../tests/faults/failsync.c").normalize();
        assertTrue(Files.exists(source), "fault shim source at " + source);
        Path shim = dir.resolve("libfailsync.so");
        Process cc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-O2", "-o", shim.toString(), source.toString(), "-ldl").redirectErrorStream(true).start();
        assertTrue(cc.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, cc.exitValue(), new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-XX:-UsePerfData", "-Dtidelog.native.library=" + NativeLoader.loadedFrom(), "-cp",
                System.getProperty("java.class.path"), FailedFlushProbe.class.getName(), dir.resolve("j").toString()).redirectErrorStream(true);
        pb.environment().put("LD_PRELOAD", shim.toString());
        pb.environment().put("TIDELOG_FAIL_SYNC_AFTER", "20");
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("first IO"), out);
        assertTrue(out.contains("then FAILED JournalFailedException"), out);
    }

    /** Child-process side of {@link #aFailedFlushPoisonsTheJournal()}. */
    public static final class FailedFlushProbe {
        public static void main(String[] args) {
            try (Journal journal = Tidelog.open(Path.of(args[0]), Options.builder().backend(Backend.FILES).build())) {
                TidelogException first = null;
                for (int i = 0; i < 200 && first == null; i++) {
                    try {
                        journal.append("p", NewEvent.of("x"));
                    } catch (TidelogException e) {
                        first = e;
                    }
                }
                System.out.println("first " + (first == null ? "none" : first.code()));
                try {
                    journal.append("p", NewEvent.of("after"));
                    System.out.println("then accepted");
                } catch (TidelogException e) {
                    System.out.println("then " + e.code() + " " + e.getClass().getSimpleName());
                }
            }
        }
    }

    /** A throwaway server of this test's own ({@code tests/postgres.sh start}): stopping it disturbs no other test. */
    private static Map<String, String> startOwnPostgres(String ctl) throws Exception {
        Process p = new ProcessBuilder(ctl, "start").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "tests/postgres.sh start failed");
        Map<String, String> env = new java.util.HashMap<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^export (\\w+)=(\\S+)$").matcher(out);
        while (m.find()) {
            env.put(m.group(1), m.group(2));
        }
        return env;
    }

    private static void stopOwnPostgres(String ctl, String dataDir) throws Exception {
        new ProcessBuilder(ctl, "stop", dataDir).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
    }

    @Test
    void aStoppedPostgresServerFailsCallsWithRetryableIoErrors() throws Exception {
        String ctl = System.getenv("TIDELOG_TEST_POSTGRES_CTL");
        if (ctl == null) {
            if ("true".equals(System.getenv("CI"))) {
                fail("CI=true but TIDELOG_TEST_POSTGRES_CTL is unset: run the tests through tests/postgres.sh");
            }
            org.junit.jupiter.api.Assumptions.abort("needs tests/postgres.sh (TIDELOG_TEST_POSTGRES_CTL)");
        }
        Map<String, String> server = startOwnPostgres(ctl);
        String uri = server.get("TIDELOG_TEST_POSTGRES");
        String dataDir = server.get("TIDELOG_TEST_POSTGRES_DIR");
        String password = uri.split("://")[1].split("@")[0].split(":")[1];
        boolean stopped = false;
        try {
            String location = uri + "?tidelog_schema=retry";
            Journal journal = Tidelog.open(location, Options.defaults());
            assertEquals(Backend.POSTGRES, journal.backend());
            assertFalse(journal.location().contains(password), journal.location());
            assertFalse(journal.toString().contains(password), journal.toString());
            assertThrows(UnsupportedOperationException.class, journal::path);
            journal.append("p", NewEvent.of("stored"));
            stopOwnPostgres(ctl, dataDir);
            stopped = true;
            // The blocking call (a thrown JNI exception) and the future (a result record) both carry it.
            StorageIOException blocking = assertThrows(StorageIOException.class, () -> journal.append("p", NewEvent.of("lost")));
            assertTrue(blocking.isRetryable(), blocking.getMessage());
            assertFalse(blocking.getMessage().contains(password));
            java.util.concurrent.ExecutionException async = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> journal.appendAsync("p", NewEvent.of("lost")).toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS));
            StorageIOException cause = assertInstanceOf(StorageIOException.class, async.getCause());
            assertTrue(cause.isRetryable(), cause.getMessage());
            journal.close();
            StorageIOException open = assertThrows(StorageIOException.class, () -> Tidelog.open(location));
            assertTrue(open.isRetryable(), open.getMessage());
        } finally {
            if (!stopped) {
                stopOwnPostgres(ctl, dataDir);
            }
        }
    }

    @Test
    void errorsARetryCannotCureAreNotRetryable() {
        Journal journal = Tidelog.open(dir, Options.builder().backend(Backend.MEMORY).build());
        journal.append("p", NewEvent.of("x"));
        TidelogException conflict = journal.write(List.of(new AtomicWrite("p", 5, List.of(NewEvent.of("y"))))).get(0).error();
        assertInstanceOf(SequenceConflictException.class, conflict);
        assertFalse(conflict.isRetryable());
        journal.close();
        assertFalse(assertThrows(ClosedException.class, () -> journal.append("p", NewEvent.of("z"))).isRetryable());
    }
}
