package dev.tidelog;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A process that never closes its journal still exits. */
class ExitTest {
    @TempDir
    Path dir;

    @Test
    void aJvmWithAnUnclosedJournalExits() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Dtidelog.native.library=" + NativeLoader.loadedFrom(), "-cp", System.getProperty("java.class.path"),
                UnclosedJournal.class.getName(), dir.toString()).redirectErrorStream(true).start();
        boolean exited = p.waitFor(60, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(exited, "the JVM did not exit: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("appended 2"), out);
    }

    @Test
    void aJvmWithOpenTailsExits() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Dtidelog.native.library=" + NativeLoader.loadedFrom(), "-cp", System.getProperty("java.class.path"),
                OpenTails.class.getName(), dir.toString()).redirectErrorStream(true).start();
        boolean exited = p.waitFor(60, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(exited, "the JVM did not exit: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("got x from the publisher"), out);
        assertTrue(out.contains("got x from the iterator"), out);
    }

    @Test
    void theBundledLibraryLeavesNoFileBehindEvenWhenTheJvmIsKilled() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(System.getProperty("os.name", "").startsWith("Windows"), "Windows cannot unlink a loaded DLL");
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // No -Dtidelog.native.library: the child extracts the library bundled on the class path.
        Process p = new ProcessBuilder(java, "-Djava.io.tmpdir=" + tmp, "-cp", System.getProperty("java.class.path"),
                LoadedAndWaiting.class.getName(), dir.resolve("journal").toString()).redirectErrorStream(true).start();
        try {
            java.io.BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertEquals("appended 1", line);
            try (var left = Files.list(tmp)) {
                assertEquals(List.of(), left.toList(), "the extracted library outlived its loading");
            }
        } finally {
            p.destroyForcibly(); // SIGKILL: no shutdown hook, no deleteOnExit
            p.waitFor(60, TimeUnit.SECONDS);
        }
        try (var left = Files.list(tmp)) {
            assertEquals(List.of(), left.toList());
        }
    }

    /** Child side: loads the library, appends, says so, then waits to be killed. */
    public static final class LoadedAndWaiting {
        public static void main(String[] args) throws Exception {
            Journal journal = Tidelog.open(Path.of(args[0]));
            System.out.println("appended " + journal.append("p", NewEvent.of("x")).lastSequenceNr());
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    /**
     * Child side: a publisher with a request parked in the core (all events taken, more demand)
     * and an iterator whose daemon thread waits in native code; main returns without closing.
     */
    public static final class OpenTails {
        public static void main(String[] args) throws Exception {
            Journal journal = Tidelog.open(Path.of(args[0]));
            journal.append("p", NewEvent.of("x"));
            java.util.concurrent.CountDownLatch got = new java.util.concurrent.CountDownLatch(2);
            journal.subscribe(TailSource.all(0)).subscribe(new java.util.concurrent.Flow.Subscriber<Event>() {
                @Override
                public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(Event e) {
                    System.out.println("got " + e.payloadText() + " from the publisher");
                    got.countDown();
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onComplete() {}
            });
            TailIterator tail = journal.tail(TailSource.stream("p", 0));
            Thread reader = new Thread(() -> {
                while (tail.hasNext()) {
                    System.out.println("got " + tail.next().payloadText() + " from the iterator");
                    got.countDown();
                }
            });
            reader.setDaemon(true);
            reader.start();
            got.await();
        }
    }

    /** Child side: opens a journal, leaves a write in flight, and returns from main without closing. */
    public static final class UnclosedJournal {
        public static void main(String[] args) {
            Journal journal = Tidelog.open(Path.of(args[0]));
            System.out.println("appended " + journal.append("p", NewEvent.of("x")).lastSequenceNr());
            journal.append("p", NewEvent.of("y"));
            System.out.println("appended " + journal.highestSequenceNr("p"));
            journal.appendAsync("p", NewEvent.of("z"));
        }
    }
}
