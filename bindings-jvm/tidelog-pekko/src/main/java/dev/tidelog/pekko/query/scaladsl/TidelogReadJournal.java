package dev.tidelog.pekko.query.scaladsl;

import dev.tidelog.pekko.query.TidelogQueries;
import org.apache.pekko.NotUsed;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.scaladsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.persistence.query.scaladsl.CurrentEventsByTagQuery;
import org.apache.pekko.persistence.query.scaladsl.CurrentPersistenceIdsQuery;
import org.apache.pekko.persistence.query.scaladsl.EventsByPersistenceIdQuery;
import org.apache.pekko.persistence.query.scaladsl.EventsByTagQuery;
import org.apache.pekko.persistence.query.scaladsl.PersistenceIdsQuery;
import org.apache.pekko.persistence.query.scaladsl.ReadJournal;
import org.apache.pekko.stream.scaladsl.Source;

/**
 * Pekko Persistence Query read journal on Tidelog, Scala API. Obtain it with
 * {@code PersistenceQuery(system).readJournalFor[TidelogReadJournal](TidelogReadJournal.IDENTIFIER)}.
 *
 * <p>Offsets are {@link Offset#sequence} of Tidelog's global offsets (commit order, strictly
 * increasing, not dense per tag); a given offset is exclusive. Live queries follow new events
 * after catching up; current queries end at the journal's end when they start.
 */
public final class TidelogReadJournal implements ReadJournal, EventsByPersistenceIdQuery, CurrentEventsByPersistenceIdQuery,
        EventsByTagQuery, CurrentEventsByTagQuery, PersistenceIdsQuery, CurrentPersistenceIdsQuery {
    /** The configuration path of the read journal in {@code reference.conf}. */
    public static final String IDENTIFIER = "pekko.persistence.query.journal.tidelog";

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
        return queries.eventsByPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, true).asScala();
    }

    @Override
    public Source<EventEnvelope, NotUsed> currentEventsByPersistenceId(String persistenceId, long fromSequenceNr, long toSequenceNr) {
        return queries.eventsByPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, false).asScala();
    }

    @Override
    public Source<EventEnvelope, NotUsed> eventsByTag(String tag, Offset offset) {
        return queries.eventsByTag(tag, offset, true).asScala();
    }

    @Override
    public Source<EventEnvelope, NotUsed> currentEventsByTag(String tag, Offset offset) {
        return queries.eventsByTag(tag, offset, false).asScala();
    }

    @Override
    public Source<String, NotUsed> persistenceIds() {
        return queries.persistenceIds(true).asScala();
    }

    @Override
    public Source<String, NotUsed> currentPersistenceIds() {
        return queries.persistenceIds(false).asScala();
    }
}
