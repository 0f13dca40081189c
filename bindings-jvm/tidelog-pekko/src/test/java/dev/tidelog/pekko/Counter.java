package dev.tidelog.pekko;

import java.io.Serializable;
import java.util.Collections;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/** A typed event-sourced counter: each {@code Add} persists {@code times} events in one atomic write. */
final class Counter extends EventSourcedBehavior<Counter.Command, Counter.Added, Counter.State> {
    interface Command extends Serializable {}

    record Add(int amount, int times, ActorRef<Done> replyTo) implements Command {}

    record Get(ActorRef<State> replyTo) implements Command {}

    record Added(int amount) implements Serializable {}

    record State(long total, long count) implements Serializable {}

    private final int snapshotEvery;

    Counter(PersistenceId id, int snapshotEvery) {
        super(id);
        this.snapshotEvery = snapshotEvery;
    }

    @Override
    public State emptyState() {
        return new State(0, 0);
    }

    @Override
    public CommandHandler<Command, Added, State> commandHandler() {
        return newCommandHandlerBuilder()
                .forAnyState()
                .onCommand(Add.class, (state, add) -> Effect()
                        .persist(Collections.nCopies(add.times(), new Added(add.amount())))
                        .thenReply(add.replyTo(), s -> Done.getInstance()))
                .onCommand(Get.class, (state, get) -> Effect().reply(get.replyTo(), state))
                .build();
    }

    @Override
    public EventHandler<State, Added> eventHandler() {
        return newEventHandlerBuilder()
                .forAnyState()
                .onEvent(Added.class, (state, e) -> new State(state.total() + e.amount(), state.count() + 1))
                .build();
    }

    @Override
    public RetentionCriteria retentionCriteria() {
        return RetentionCriteria.snapshotEvery(snapshotEvery, 2);
    }
}
