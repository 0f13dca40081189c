package dev.tidelog;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
