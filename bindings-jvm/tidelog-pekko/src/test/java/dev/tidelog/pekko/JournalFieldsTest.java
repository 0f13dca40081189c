package dev.tidelog.pekko;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigFactory;
import dev.tidelog.Event;
import dev.tidelog.Journal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.PersistentEnvelope;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.journal.Tagged;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import scala.jdk.javaapi.CollectionConverters;

/** What the TCK does not check: tags of Tagged payloads and the exact timestamp, writer UUID and manifest. */
class JournalFieldsTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"lmdb", "files", "postgres"})
    void tagsTimestampWriterAndManifestRoundTrip(String backendName) {
        dev.tidelog.Backend backend = dev.tidelog.Backend.valueOf(backendName.toUpperCase(java.util.Locale.ROOT));
        ActorSystem system = ActorSystem.create("fields", TestConfig.pluginsOn(backend, dir).withFallback(ConfigFactory.load()));
        try {
            TestKit probe = new TestKit(system);
            ActorRef journal = Persistence.get(system).journalFor("tidelog.journal", ConfigFactory.empty());
            PersistentRepr tagged = PersistentRepr.apply(new Tagged("payload-1", Set.of("red", "blue")), 1, "pid-1", "adapter-manifest", false, null, "writer-uuid")
                    .withTimestamp(1_234_567_890_123L);
            PersistentRepr plain = PersistentRepr.apply("payload-2", 2, "pid-1", "", false, null, "writer-uuid").withTimestamp(1_234_567_890_456L);
            List<PersistentEnvelope> writes = List.of(AtomicWrite.apply(tagged), AtomicWrite.apply(plain));
            journal.tell(new JournalProtocol.WriteMessages(CollectionConverters.asScala(writes).toList(), probe.getRef(), 1), probe.getRef());
            probe.expectMsgClass(Duration.ofSeconds(10), JournalProtocol.WriteMessagesSuccessful$.class);
            probe.expectMsgClass(JournalProtocol.WriteMessageSuccess.class);
            probe.expectMsgClass(JournalProtocol.WriteMessageSuccess.class);

            journal.tell(new JournalProtocol.ReplayMessages(1, Long.MAX_VALUE, Long.MAX_VALUE, "pid-1", probe.getRef()), probe.getRef());
            PersistentRepr first = probe.expectMsgClass(Duration.ofSeconds(10), JournalProtocol.ReplayedMessage.class).persistent();
            PersistentRepr second = probe.expectMsgClass(JournalProtocol.ReplayedMessage.class).persistent();
            assertEquals(2, probe.expectMsgClass(JournalProtocol.RecoverySuccess.class).highestSequenceNr());
            assertEquals("payload-1", first.payload(), "the Tagged wrapper is not replayed");
            assertEquals(1_234_567_890_123L, first.timestamp());
            assertEquals("adapter-manifest", first.manifest());
            assertEquals("writer-uuid", first.writerUuid());
            assertEquals(1_234_567_890_456L, second.timestamp());

            Journal tidelog = JournalRegistry.lookup(TestConfig.location(backend, dir)).orElseThrow();
            Event stored = tidelog.eventsByTag("red", 0, 10).get(0);
            assertEquals(List.of("blue", "red"), stored.tags().stream().sorted().toList());
            assertEquals(1, stored.sequenceNr());
            assertEquals(1, tidelog.eventsByTag("blue", 0, 10).size());
        } finally {
            TestKit.shutdownActorSystem(system);
        }
    }
}
