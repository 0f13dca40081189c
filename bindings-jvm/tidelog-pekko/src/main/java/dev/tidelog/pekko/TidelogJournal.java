package dev.tidelog.pekko;

import com.typesafe.config.Config;
import dev.tidelog.Event;
import dev.tidelog.Journal;
import dev.tidelog.NewEvent;
import dev.tidelog.WriteResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.dispatch.Futures;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.journal.Tagged;
import org.apache.pekko.persistence.journal.japi.AsyncWriteJournal;
import scala.concurrent.Future;
import scala.jdk.javaapi.CollectionConverters;
import scala.jdk.javaapi.FutureConverters;

/**
 * Pekko Persistence journal plugin on Tidelog (configuration block {@code tidelog.journal}).
 *
 * <ul>
 *   <li>All {@code AtomicWrite}s of a {@code WriteMessages} call go to the journal as one
 *       {@link Journal#writeAsync} (one group commit, one JNI crossing); each is stored
 *       all-or-nothing at its own sequence numbers, and the future completes after fsync
 *       (with the default {@code sync = always}).</li>
 *   <li>Payloads go through Pekko serialization inside the transport-information scope; a
 *       payload that cannot be serialized rejects its {@code AtomicWrite} alone. Any storage
 *       error fails the whole call, as Pekko requires.</li>
 *   <li>Pekko keeps counting sequence numbers past a rejected write, while the core accepts
 *       only gapless streams; so a rejected write's sequence numbers are filled with empty
 *       "gap filler" events (metadata {@code [0]}), which replays skip.</li>
 *   <li>Tags of {@link Tagged} payloads are stored as Tidelog tags; manifest, writer UUID and
 *       timestamp (epoch millis) round-trip exactly.</li>
 *   <li>Replays stream page by page on the {@code io-dispatcher}; the highest sequence number
 *       is read after a flush, so it covers writes still in flight.</li>
 * </ul>
 */
public final class TidelogJournal extends AsyncWriteJournal {
    private final Journal journal;
    private final PayloadCodec codec;
    private final Executor io;

    /**
     * Created by Pekko from the plugin configuration.
     *
     * @param config the plugin's configuration block
     * @param configPath the path of that block
     */
    public TidelogJournal(Config config, String configPath) {
        ExtendedActorSystem system = (ExtendedActorSystem) context().system();
        TidelogSettings settings = TidelogSettings.from(config, system.settings().config());
        this.codec = new PayloadCodec(system);
        this.io = system.dispatchers().lookup(settings.ioDispatcher());
        this.journal = JournalRegistry.acquire(settings);
    }

    @Override
    public void postStop() throws Exception {
        JournalRegistry.release(journal);
        super.postStop();
    }

    @Override
    public Future<Iterable<Optional<Exception>>> doAsyncWriteMessages(Iterable<AtomicWrite> messages) {
        return guarded(() -> {
            List<AtomicWrite> input = new ArrayList<>();
            messages.forEach(input::add);
            Exception[] rejected = new Exception[input.size()];
            List<dev.tidelog.AtomicWrite> writes = new ArrayList<>(input.size());
            for (int i = 0; i < input.size(); i++) {
                AtomicWrite write = input.get(i);
                try {
                    List<NewEvent> events = new ArrayList<>(write.size());
                    for (PersistentRepr repr : CollectionConverters.asJava(write.payload())) {
                        events.add(toEvent(repr));
                    }
                    writes.add(new dev.tidelog.AtomicWrite(write.persistenceId(), write.lowestSequenceNr(), events));
                } catch (Exception e) {
                    rejected[i] = e; // serialization failed: reject this write only...
                    List<NewEvent> fillers = new ArrayList<>(write.size());
                    for (int k = 0; k < write.size(); k++) {
                        fillers.add(NewEvent.of(new byte[0]).withMetadata(PayloadCodec.FILLER));
                    }
                    // ...but keep its sequence numbers taken, as Pekko does.
                    writes.add(new dev.tidelog.AtomicWrite(write.persistenceId(), write.lowestSequenceNr(), fillers));
                }
            }
            return journal.writeAsync(writes).thenApply(results -> {
                for (WriteResult r : results) {
                    if (!r.isSuccess()) {
                        throw r.error(); // storage failure or conflict: fail the whole call
                    }
                }
                return outcomes(rejected);
            });
        });
    }

    private static Iterable<Optional<Exception>> outcomes(Exception[] rejected) {
        return Arrays.stream(rejected).map(Optional::ofNullable).toList();
    }

    private NewEvent toEvent(PersistentRepr repr) throws Exception {
        Object payload = repr.payload();
        List<String> tags = List.of();
        if (payload instanceof Tagged tagged) {
            tags = List.copyOf(CollectionConverters.asJava(tagged.tags()));
            payload = tagged.payload();
        }
        PayloadCodec.Serialized s = codec.serialize(payload);
        NewEvent event = NewEvent.of(s.bytes()).withManifest(repr.manifest()).withWriterId(repr.writerUuid()).withTags(tags).withMetadata(s.header());
        return repr.timestamp() > 0 ? event.withTimestamp(repr.timestamp()) : event;
    }

    /** The event as Pekko's representation, or null for a gap filler. */
    private PersistentRepr toRepr(Event e) throws Exception {
        if (PayloadCodec.isFiller(e.metadata())) {
            return null;
        }
        Object payload = codec.deserialize(e.metadata(), e.payload());
        return PersistentRepr.apply(payload, e.sequenceNr(), e.persistenceId(), e.manifest(), false, null, e.writerId()).withTimestamp(e.timestamp());
    }

    @Override
    public Future<Void> doAsyncDeleteMessagesTo(String persistenceId, long toSequenceNr) {
        return guarded(() -> journal.deleteToAsync(persistenceId, toSequenceNr));
    }

    @Override
    public Future<Void> doAsyncReplayMessages(String persistenceId, long fromSequenceNr, long toSequenceNr, long max, Consumer<PersistentRepr> replayCallback) {
        return guarded(() -> CompletableFuture.runAsync(() -> journal.replay(persistenceId, Math.max(0, fromSequenceNr), toSequenceNr, Math.max(0, max), e -> {
            try {
                PersistentRepr repr = toRepr(e);
                if (repr != null) {
                    replayCallback.accept(repr);
                }
            } catch (RuntimeException ex) {
                throw ex;
            } catch (Exception ex) {
                throw new IllegalStateException("tidelog: could not deserialize event " + e.sequenceNr() + " of " + persistenceId, ex);
            }
        }), io));
    }

    @Override
    public Future<Long> doAsyncReadHighestSequenceNr(String persistenceId, long fromSequenceNr) {
        // The flush waits for writes submitted before it, so a recovering actor never reuses a
        // sequence number of a write still in flight.
        return guarded(() -> journal.flushAsync().thenApplyAsync(v -> journal.highestSequenceNr(persistenceId), io));
    }

    /** Converts a stage to a Scala future; anything thrown while building it fails the future. */
    static <T> Future<T> guarded(Supplier<CompletionStage<T>> body) {
        try {
            return FutureConverters.asScala(body.get());
        } catch (Exception e) {
            return Futures.failed(e);
        }
    }
}
