package dev.tidelog.pekko.query.javadsl;

import dev.tidelog.pekko.query.TidelogQueries;
import org.apache.pekko.NotUsed;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByTagQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentPersistenceIdsQuery;
import org.apache.pekko.persistence.query.javadsl.EventsByPersistenceIdQuery;
import org.apache.pekko.persistence.query.javadsl.EventsByTagQuery;
import org.apache.pekko.persistence.query.javadsl.PersistenceIdsQuery;
import org.apache.pekko.persistence.query.javadsl.ReadJournal;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Pekko Persistence Query read journal on Tidelog, Java API. Obtain it with
 * {@code PersistenceQuery.get(system).getReadJournalFor(TidelogReadJournal.class, TidelogReadJournal.IDENTIFIER)}.
 *
 * <p>Offsets are {@link Offset#sequence} of Tidelog's global offsets (commit order, strictly
 * increasing, not dense per tag); a given offset is exclusive. Live queries follow new events
 * after catching up; current queries end at the journal's end when they start.
 */
public final class TidelogReadJournal implements ReadJournal, EventsByPersistenceIdQuery, CurrentEventsByPersistenceIdQuery,
        EventsByTagQuery, CurrentEventsByTagQuery, PersistenceIdsQuery, CurrentPersistenceIdsQuery {
    /** The configuration path of the read journal in {@code reference.conf}. */
    public static final String IDENTIFIER = dev.tidelog.pekko.query.scaladsl.TidelogReadJournal.IDENTIFIER;

    private final TidelogQueries queries;

    /**
     * Created by {@link dev.tidelog.pekko.query.TidelogReadJournalProvider}.
     *
     * @param queries the queries of this read journal
     */
    public TidelogReadJournal(TidelogQueries queries) {
        this.queries = queries;
    }

    @Override
    public Source<EventEnvelope, NotUsed> eventsByPersistenceId(String persistenceId, long fromSequenceNr, long toSequenceNr) {
        return queries.eventsByPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, true);
    }

    @Override
    public Source<EventEnvelope, NotUsed> currentEventsByPersistenceId(String persistenceId, long fromSequenceNr, long toSequenceNr) {
        return queries.eventsByPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, false);
    }

    @Override
    public Source<EventEnvelope, NotUsed> eventsByTag(String tag, Offset offset) {
        return queries.eventsByTag(tag, offset, true);
    }

    @Override
    public Source<EventEnvelope, NotUsed> currentEventsByTag(String tag, Offset offset) {
        return queries.eventsByTag(tag, offset, false);
    }

    @Override
    public Source<String, NotUsed> persistenceIds() {
        return queries.persistenceIds(true);
    }

    @Override
    public Source<String, NotUsed> currentPersistenceIds() {
        return queries.persistenceIds(false);
    }
}
