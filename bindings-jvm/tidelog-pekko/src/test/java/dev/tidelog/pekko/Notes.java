package dev.tidelog.pekko;

import java.io.Serializable;
import java.util.List;
import java.util.Set;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * A typed event-sourced actor persisting text events, tagged for the read-journal tests: every
 * event gets the tag {@code every}, and {@code colour:...} events the tag {@code colour} too.
 */
final class Notes extends EventSourcedBehavior<Notes.Command, String, Integer> {
    interface Command extends Serializable {}

    /** Persists {@code texts} in one atomic write and replies once they are stored. */
    record Write(List<String> texts, ActorRef<Done> replyTo) implements Command {}

    Notes(PersistenceId id) {
        super(id);
    }

    @Override
    public Integer emptyState() {
        return 0;
    }

    @Override
    public CommandHandler<Command, String, Integer> commandHandler() {
        return newCommandHandlerBuilder()
                .forAnyState()
                .onCommand(Write.class, (state, write) -> Effect().persist(write.texts()).thenReply(write.replyTo(), s -> Done.getInstance()))
                .build();
    }

    @Override
    public EventHandler<Integer, String> eventHandler() {
        return newEventHandlerBuilder().forAnyState().onAnyEvent((state, e) -> state + 1);
    }

    @Override
    public Set<String> tagsFor(String event) {
        int colon = event.indexOf(':');
        return colon < 0 ? Set.of("every") : Set.of("every", event.substring(0, colon));
    }
}
