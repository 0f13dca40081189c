package dev.tidelog;

import java.util.Objects;

/**
 * What a live tail follows ({@link Journal#subscribe(TailSource)}, {@link Journal#tail(TailSource)}):
 * every event, one tag, or one stream, from a position. {@code from} 0 and 1 both mean "from the
 * beginning". A tail catches up from storage, then delivers each newly committed event, exactly
 * once and in order (global offset; sequence number for a stream). Deleted events are skipped,
 * as reads skip them.
 */
public sealed interface TailSource {
    /**
     * Every event with {@code globalOffset >= fromOffset}, in commit order.
     *
     * @param fromOffset first global offset delivered
     */
    record All(long fromOffset) implements TailSource {
        /** Validates. */
        public All {
            Journal.nonNegative("fromOffset", fromOffset);
        }
    }

    /**
     * Events carrying {@code tag} with {@code globalOffset >= fromOffset}, in commit order.
     *
     * @param tag the tag, not empty
     * @param fromOffset first global offset delivered
     */
    record Tag(String tag, long fromOffset) implements TailSource {
        /** Validates. */
        public Tag {
            Objects.requireNonNull(tag, "tag");
            Journal.nonNegative("fromOffset", fromOffset);
        }
    }

    /**
     * The events of one stream with {@code sequenceNr >= fromSequenceNr}, in order.
     *
     * @param persistenceId the stream
     * @param fromSequenceNr first sequence number delivered
     */
    record Stream(String persistenceId, long fromSequenceNr) implements TailSource {
        /** Validates. */
        public Stream {
            Objects.requireNonNull(persistenceId, "persistenceId");
            Journal.nonNegative("fromSequenceNr", fromSequenceNr);
        }
    }

    /**
     * @param fromOffset first global offset delivered
     * @return every event from {@code fromOffset}
     */
    static TailSource all(long fromOffset) {
        return new All(fromOffset);
    }

    /**
     * @param tag the tag
     * @param fromOffset first global offset delivered
     * @return the events of {@code tag} from {@code fromOffset}
     */
    static TailSource tag(String tag, long fromOffset) {
        return new Tag(tag, fromOffset);
    }

    /**
     * @param persistenceId the stream
     * @param fromSequenceNr first sequence number delivered
     * @return the events of the stream from {@code fromSequenceNr}
     */
    static TailSource stream(String persistenceId, long fromSequenceNr) {
        return new Stream(persistenceId, fromSequenceNr);
    }
}
