package dev.tidelog.pekko;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigFactory;
import dev.tidelog.Backend;
import dev.tidelog.pekko.query.javadsl.TidelogReadJournal;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A read journal with {@code read-only = on} follows a writer in another JVM: live queries
 * started in this process get the events the other one persists afterwards (LMDB: woken by the
 * core's file-change notification; files: polling by reopening at {@code refresh-interval}).
 */
class CrossProcessReadJournalTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    // A read-only handle of a directory another process writes, or a second client of one database.
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES", "POSTGRES"})
    void liveQueriesFollowAWriterInAnotherProcess(Backend backend) throws Exception {
        String location = TestConfig.location(backend, dir);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process writer = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), WriterProcess.class.getName(),
                backend.name().toLowerCase(), location).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(writer.getInputStream(), StandardCharsets.UTF_8));
        PrintStream in = new PrintStream(writer.getOutputStream(), true, StandardCharsets.UTF_8);
        ActorTestKit kit = null;
        try {
            awaitLine(out, "ready");
            kit = ActorTestKit.create("follower", TestConfig.pluginsAt(backend.name().toLowerCase(), location).withFallback(ConfigFactory.parseString(String.join("\n",
                    "pekko.persistence.query.journal.tidelog.read-only = on",
                    "pekko.persistence.query.journal.tidelog.refresh-interval = 100ms"))));
            TidelogReadJournal journal = PersistenceQuery.get(kit.system()).getReadJournalFor(TidelogReadJournal.class, TidelogReadJournal.IDENTIFIER);
            assertEquals(List.of("x"), journal.currentPersistenceIds().runWith(Sink.seq(), kit.system()).toCompletableFuture().get(60, TimeUnit.SECONDS));
            CompletionStage<List<EventEnvelope>> byId = journal.eventsByPersistenceId("x", 1, Long.MAX_VALUE).take(10).runWith(Sink.seq(), kit.system());
            CompletionStage<List<EventEnvelope>> byTag = journal.eventsByTag("every", Offset.noOffset()).take(10).runWith(Sink.seq(), kit.system());
            CompletionStage<List<String>> ids = journal.persistenceIds().take(2).runWith(Sink.seq(), kit.system());

            in.println("more"); // the writer persists 6..10 to x, then one event to y
            List<String> expected = List.of("1", "2", "3", "4", "5", "6", "7", "8", "9", "10");
            assertEquals(expected, byId.toCompletableFuture().get(60, TimeUnit.SECONDS).stream().map(EventEnvelope::event).toList());
            assertEquals(expected, byTag.toCompletableFuture().get(60, TimeUnit.SECONDS).stream().map(EventEnvelope::event).toList());
            assertEquals(List.of("x", "y"), ids.toCompletableFuture().get(60, TimeUnit.SECONDS));
            awaitLine(out, "done");
        } finally {
            in.close(); // the writer exits when its input ends
            if (kit != null) {
                kit.shutdownTestKit();
            }
            if (!writer.waitFor(60, TimeUnit.SECONDS)) {
                writer.destroyForcibly();
            }
        }
    }

    private static void awaitLine(BufferedReader out, String wanted) throws Exception {
        List<String> seen = new ArrayList<>();
        String line;
        while ((line = out.readLine()) != null) {
            if (line.equals(wanted)) {
                return;
            }
            seen.add(line);
        }
        fail("the writer process ended before \"" + wanted + "\": " + seen);
    }

    /** Child side: persists 1..5 to x, says "ready", waits for a line, persists 6..10 to x and one event to y, says "done". */
    public static final class WriterProcess {
        public static void main(String[] args) throws Exception {
            ActorTestKit kit = ActorTestKit.create("writer", TestConfig.pluginsAt(args[0], args[1]));
            try {
                ActorRef<Notes.Command> x = kit.spawn(new Notes(PersistenceId.ofUniqueId("x")));
                write(kit, x, "1", "2", "3");
                write(kit, x, "4", "5");
                System.out.println("ready");
                BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                if (stdin.readLine() == null) {
                    return;
                }
                write(kit, x, "6");
                write(kit, x, "7", "8");
                write(kit, x, "9");
                write(kit, x, "10");
                write(kit, kit.spawn(new Notes(PersistenceId.ofUniqueId("y"))), "other:1");
                System.out.println("done");
                stdin.readLine();
            } finally {
                kit.shutdownTestKit();
            }
        }

        private static void write(ActorTestKit kit, ActorRef<Notes.Command> writer, String... texts) {
            TestProbe<Done> done = kit.createTestProbe();
            writer.tell(new Notes.Write(List.of(texts), done.getRef()));
            done.expectMessage(java.time.Duration.ofSeconds(30), Done.getInstance());
        }
    }
}
