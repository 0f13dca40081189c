package dev.tidelog.pekko;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tidelog.Backend;
import dev.tidelog.pekko.query.javadsl.TidelogReadJournal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.javadsl.ExactlyOnceProjection;
import org.apache.pekko.projection.jdbc.JdbcSession;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;
import org.apache.pekko.projection.jdbc.javadsl.JdbcProjection;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A real Pekko Projections projection over the read journal's {@code eventsByTag}: the
 * exactly-once JDBC projection, with an embedded H2 database holding both the projection's
 * rows and its offset, written in one transaction per envelope. It is stopped mid-stream, started
 * again in the same actor system, then in a new actor system after the journal was closed and
 * more events were written; every event must be projected exactly once.
 */
class ProjectionExactlyOnceTest {
    private static final ProjectionId PROJECTION = ProjectionId.of("notes-count", "every");

    @TempDir
    Path dir;

    /** One JDBC connection per session, as the projection asks: commit/rollback are its transaction. */
    static final class H2Session implements JdbcSession {
        private final Connection connection;

        H2Session(String url) {
            try {
                connection = DriverManager.getConnection(url, "sa", "");
                connection.setAutoCommit(false);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public <R> R withConnection(org.apache.pekko.japi.function.Function<Connection, R> body) throws Exception {
            return body.apply(connection);
        }

        @Override
        public void commit() throws SQLException {
            connection.commit();
        }

        @Override
        public void rollback() throws SQLException {
            connection.rollback();
        }

        @Override
        public void close() throws SQLException {
            connection.close();
        }
    }

    /** Records each envelope and bumps a counter, in the projection's transaction. */
    static final class CountingHandler extends JdbcHandler<EventEnvelope<String>, H2Session> {
        @Override
        public void process(H2Session session, EventEnvelope<String> envelope) throws Exception {
            session.withConnection(c -> {
                try (PreparedStatement insert = c.prepareStatement("INSERT INTO projected (pid, seq, global_offset, text) VALUES (?, ?, ?, ?)");
                        PreparedStatement count = c.prepareStatement("UPDATE event_count SET n = n + 1 WHERE name = 'every'")) {
                    insert.setString(1, envelope.persistenceId());
                    insert.setLong(2, envelope.sequenceNr());
                    insert.setLong(3, ((Sequence) envelope.offset()).value());
                    insert.setString(4, envelope.event());
                    insert.executeUpdate();
                    count.executeUpdate();
                }
                return null;
            });
        }
    }

    private String url() {
        // Kept open between sessions (the projection opens one per envelope); SHUTDOWN at the end closes it.
        return "jdbc:h2:file:" + dir.resolve("h2").resolve("projection").toAbsolutePath() + ";DB_CLOSE_DELAY=-1";
    }

    private Config config(Backend backend) {
        return TestConfig.pluginsOn(backend, dir.resolve("journal")).withFallback(ConfigFactory.parseString(String.join("\n",
                "pekko.persistence.query.journal.tidelog.refresh-interval = 50ms",
                "pekko.projection.jdbc.dialect = h2-dialect",
                "pekko.projection.jdbc.blocking-jdbc-dispatcher.thread-pool-executor.fixed-pool-size = 4")));
    }

    private ActorRef<ProjectionBehavior.Command> spawnProjection(ActorTestKit kit) {
        ExactlyOnceProjection<Offset, EventEnvelope<String>> projection = JdbcProjection.exactlyOnce(
                PROJECTION,
                EventSourcedProvider.eventsByTag(kit.system(), TidelogReadJournal.IDENTIFIER, "every"),
                () -> new H2Session(url()),
                CountingHandler::new,
                kit.system());
        return kit.spawn(ProjectionBehavior.create(projection));
    }

    private static void stopProjection(ActorTestKit kit, ActorRef<ProjectionBehavior.Command> projection) {
        TestProbe<Object> watcher = kit.createTestProbe();
        projection.tell(ProjectionBehavior.stopMessage());
        watcher.expectTerminated(projection, Duration.ofSeconds(30));
    }

    private long query(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url(), "sa", ""); Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            assertTrue(r.next());
            return r.getLong(1);
        }
    }

    /** Waits until the projection has counted {@code n} events (a guard against hanging, not a speed check). */
    private long awaitCount(long n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        long count;
        while ((count = query("SELECT n FROM event_count WHERE name = 'every'")) < n) {
            if (System.nanoTime() > deadline) {
                fail("the projection counted " + count + " of " + n + " events");
            }
            Thread.sleep(20);
        }
        return count;
    }

    /** Sends {@code writes} atomic writes of ten events, round-robin over three writers, without waiting. */
    private static List<TestProbe<Done>> writeAsync(ActorTestKit kit, List<ActorRef<Notes.Command>> writers, String prefix, int writes) {
        List<TestProbe<Done>> replies = new ArrayList<>();
        for (int i = 0; i < writes; i++) {
            List<String> texts = new ArrayList<>();
            for (int k = 0; k < 10; k++) {
                texts.add(prefix + "-" + i + "-" + k);
            }
            TestProbe<Done> done = kit.createTestProbe();
            writers.get(i % writers.size()).tell(new Notes.Write(texts, done.getRef()));
            replies.add(done);
        }
        return replies;
    }

    private static void awaitWrites(List<TestProbe<Done>> replies) {
        replies.forEach(done -> done.expectMessage(Duration.ofSeconds(30), Done.getInstance()));
    }

    private static List<ActorRef<Notes.Command>> writers(ActorTestKit kit) {
        return List.of("n-1", "n-2", "n-3").stream().map(id -> kit.spawn(new Notes(PersistenceId.ofUniqueId(id)))).toList();
    }

    @ParameterizedTest
    // The projection keeps its offsets in its own H2 database; the journal is on the backend.
    @EnumSource(value = Backend.class, names = {"LMDB", "FILES", "POSTGRES"})
    void countsEveryEventExactlyOnceAcrossRestarts(Backend backend) throws Exception {
        ActorTestKit first = ActorTestKit.create("projection-1", config(backend));
        long countedAtStop;
        try {
            JdbcProjection.createTablesIfNotExists(() -> new H2Session(url()), first.system()).toCompletableFuture().get(30, TimeUnit.SECONDS);
            try (Connection c = DriverManager.getConnection(url(), "sa", ""); Statement s = c.createStatement()) {
                // No key on `projected`: a duplicate delivery must show up as a second row.
                s.execute("CREATE TABLE projected (pid VARCHAR(64), seq BIGINT, global_offset BIGINT, text VARCHAR(64))");
                s.execute("CREATE TABLE event_count (name VARCHAR(16) PRIMARY KEY, n BIGINT)");
                s.execute("INSERT INTO event_count VALUES ('every', 0)");
            }
            List<ActorRef<Notes.Command>> writers = writers(first);
            ActorRef<ProjectionBehavior.Command> projection = spawnProjection(first);
            List<TestProbe<Done>> replies = writeAsync(first, writers, "first", 60);
            awaitCount(50);
            stopProjection(first, projection); // mid-stream: writes are still arriving
            awaitWrites(replies);
            countedAtStop = query("SELECT n FROM event_count WHERE name = 'every'");
            assertTrue(countedAtStop < 600, "the projection should have stopped before the end, at " + countedAtStop);

            projection = spawnProjection(first); // resumes from its stored offset
            awaitCount(600);
            stopProjection(first, projection);
        } finally {
            first.shutdownTestKit();
        }

        // A new actor system: the journal was closed and is opened again; more events arrive while
        // no projection runs, then the projection resumes.
        ActorTestKit second = ActorTestKit.create("projection-2", config(backend));
        try {
            List<ActorRef<Notes.Command>> writers = writers(second);
            awaitWrites(writeAsync(second, writers, "second", 20));
            spawnProjection(second);
            awaitWrites(writeAsync(second, writers, "third", 20));
            awaitCount(1000);
            // One more event after the rest: any duplicate of an earlier event would be delivered before it.
            awaitWrites(writeAsync(second, writers.subList(0, 1), "marker", 1));
            awaitCount(1010);

            assertEquals(1010, query("SELECT n FROM event_count WHERE name = 'every'"));
            assertEquals(1010, query("SELECT COUNT(*) FROM projected"));
            assertEquals(1010, query("SELECT COUNT(DISTINCT (pid, seq)) FROM projected"));
            assertEquals(1010, query("SELECT COUNT(DISTINCT global_offset) FROM projected"));
            // Exactly the journal's events, and the stored offset is the last one's.
            TidelogReadJournal journal = PersistenceQuery.get(second.system()).getReadJournalFor(TidelogReadJournal.class, TidelogReadJournal.IDENTIFIER);
            List<org.apache.pekko.persistence.query.EventEnvelope> stored = journal.currentEventsByTag("every", Offset.noOffset())
                    .runWith(Sink.seq(), second.system()).toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertEquals(1010, stored.size());
            long lastOffset = ((Sequence) stored.get(stored.size() - 1).offset()).value();
            assertEquals(lastOffset, query("SELECT MAX(global_offset) FROM projected"));
            assertEquals(stored.stream().mapToLong(e -> ((Sequence) e.offset()).value()).sum(), query("SELECT SUM(global_offset) FROM projected"));
            // Committed in the same transaction as the last envelope's rows.
            assertEquals(String.valueOf(lastOffset), queryText(
                    "SELECT \"current_offset\" FROM \"pekko_projection_offset_store\" WHERE \"projection_name\" = 'notes-count'"));
        } finally {
            second.shutdownTestKit();
            try (Connection c = DriverManager.getConnection(url(), "sa", ""); Statement s = c.createStatement()) {
                s.execute("SHUTDOWN");
            }
        }
    }

    private String queryText(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url(), "sa", ""); Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            assertTrue(r.next());
            return r.getString(1);
        }
    }
}
