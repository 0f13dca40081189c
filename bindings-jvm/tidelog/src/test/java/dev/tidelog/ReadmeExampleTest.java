package dev.tidelog;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quick-start of bindings-jvm/README.md, as written there. */
class ReadmeExampleTest {
    @TempDir
    Path tmp;

    @Test
    void quickStartRuns() {
        Path dir = tmp.resolve("cart-journal");
        // --- README quick-start begins ---
        try (Journal journal = Tidelog.open(dir, Options.defaults())) {          // LMDB, fsync on every commit
            WriteReceipt receipt = journal.append("cart-7", List.of(
                    NewEvent.of("item added").withManifest("ItemAdded").withTags("cart"),
                    NewEvent.of("item removed").withManifest("ItemRemoved")));
            CompletableFuture<WriteReceipt> next = journal.appendAsync("cart-7", NewEvent.of("checked out"));
            next.join();                                                              // durable once complete

            journal.snapshots().save(Snapshot.of("cart-7", 3, System.currentTimeMillis(), "1 item, paid".getBytes()));
            Snapshot snapshot = journal.snapshots().loadLatest("cart-7").orElseThrow();
            List<Event> replay = journal.read("cart-7", snapshot.sequenceNr() + 1, Long.MAX_VALUE, 1000);

            System.out.println(receipt + ", highest " + journal.highestSequenceNr("cart-7") + ", replay " + replay.size());
            // --- README quick-start ends ---
            assertEquals(new WriteReceipt(1, 2), receipt);
            assertEquals(3, journal.highestSequenceNr("cart-7"));
            assertEquals(0, replay.size());
            assertEquals(List.of("item added"), journal.eventsByTag("cart", 0, 10).stream().map(Event::payloadText).toList());
        }
    }
}
