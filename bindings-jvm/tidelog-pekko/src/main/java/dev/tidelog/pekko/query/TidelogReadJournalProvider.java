package dev.tidelog.pekko.query;

import com.typesafe.config.Config;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.persistence.query.ReadJournalProvider;

/**
 * The read-journal plugin Pekko instantiates from {@code pekko.persistence.query.journal.tidelog}
 * ({@code class} in {@code reference.conf}); one per actor system and configuration path.
 */
public final class TidelogReadJournalProvider implements ReadJournalProvider {
    private final dev.tidelog.pekko.query.scaladsl.TidelogReadJournal scaladsl;
    private final dev.tidelog.pekko.query.javadsl.TidelogReadJournal javadsl;

    /**
     * Called by Pekko.
     *
     * @param system the actor system
     * @param config the read journal's configuration block
     */
    public TidelogReadJournalProvider(ExtendedActorSystem system, Config config) {
        TidelogQueries queries = new TidelogQueries(system, config);
        this.scaladsl = new dev.tidelog.pekko.query.scaladsl.TidelogReadJournal(queries);
        this.javadsl = new dev.tidelog.pekko.query.javadsl.TidelogReadJournal(queries);
    }

    @Override
    public dev.tidelog.pekko.query.scaladsl.TidelogReadJournal scaladslReadJournal() {
        return scaladsl;
    }

    @Override
    public dev.tidelog.pekko.query.javadsl.TidelogReadJournal javadslReadJournal() {
        return javadsl;
    }
}
