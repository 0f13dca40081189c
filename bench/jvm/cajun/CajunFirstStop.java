import com.cajunsystems.ActorSystem;
import com.cajunsystems.StatefulActor;
import com.cajunsystems.persistence.BatchedMessageJournal;
import com.cajunsystems.persistence.SnapshotStore;
import dev.tidelog.cajun.JavaSerialization;
import dev.tidelog.cajun.TidelogPersistenceProvider;
import dev.tidelog.Options;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Run once per JVM by cajun-first-stop.sh; prints one line of measurements:
 * <ul>
 *   <li>provider_ms, first_stop_ms, second_stop_ms: creating the provider, then the first and a later
 *       Cajun StatefulActor stop (stop() until its persistence shut down);
 *   <li>fast_actor_ms: a fast actor's message handled while a slow actor's handler sleeps 1 s (both on
 *       one provider), from tell to handled;
 *   <li>other_stream_ms: with the plain JVM binding, a stage that sleeps 1 s on one stream's future,
 *       then another stream's append, from call to completion.
 * </ul>
 */
public final class CajunFirstStop {
    static final class Counter extends StatefulActor<Long, Integer> {
        Counter(ActorSystem system, String id, BatchedMessageJournal<Integer> journal, SnapshotStore<Long> snapshots) {
            super(system, id, 0L, journal, snapshots);
        }

        @Override
        protected Long processMessage(Long state, Integer message) {
            return state + message;
        }
    }

    private static double stopOne(ActorSystem system, TidelogPersistenceProvider provider, String id) throws Exception {
        Counter actor = new Counter(system, id, provider.createBatchedMessageJournal(id), provider.createSnapshotStore(id));
        actor.start();
        if (!actor.waitForStateInitialization(30_000)) throw new IllegalStateException("no state");
        actor.tell(1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Long.valueOf(1).equals(actor.getState()) && System.nanoTime() < deadline) Thread.sleep(1);
        long start = System.nanoTime();
        actor.stop();
        actor.getPersistenceShutdownFuture().get(30, TimeUnit.SECONDS);
        return (System.nanoTime() - start) / 1e6;
    }

    /** Sleeps a second in its handler, or records when it handled a message. */
    static final class Timed extends StatefulActor<Long, Integer> {
        final boolean slow;
        volatile long handledAt;

        Timed(ActorSystem system, String id, TidelogPersistenceProvider provider, boolean slow) {
            super(system, id, 0L, provider.<Integer>createBatchedMessageJournal(id), provider.<Long>createSnapshotStore(id));
            this.slow = slow;
        }

        @Override
        protected Long processMessage(Long state, Integer message) {
            if (slow) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            } else {
                handledAt = System.nanoTime();
            }
            return state + message;
        }
    }

    private static double fastDuringSlow(ActorSystem system, TidelogPersistenceProvider provider) throws Exception {
        Timed slow = new Timed(system, "slow", provider, true), fast = new Timed(system, "fast", provider, false);
        slow.start();
        fast.start();
        if (!slow.waitForStateInitialization(30_000) || !fast.waitForStateInitialization(30_000)) throw new IllegalStateException("no state");
        slow.tell(1);
        Thread.sleep(100); // the slow handler is asleep by now
        long sent = System.nanoTime();
        fast.tell(1);
        long deadline = sent + TimeUnit.SECONDS.toNanos(30);
        while (fast.handledAt == 0 && System.nanoTime() < deadline) Thread.sleep(1);
        return (fast.handledAt - sent) / 1e6;
    }

    private static double otherStream(dev.tidelog.Journal journal) throws Exception {
        journal.appendAsync("slow-stream", dev.tidelog.NewEvent.of("x")).thenRun(() -> {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Thread.sleep(100);
        long start = System.nanoTime();
        journal.appendAsync("fast-stream", dev.tidelog.NewEvent.of("y")).join();
        return (System.nanoTime() - start) / 1e6;
    }

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        TidelogPersistenceProvider provider = new TidelogPersistenceProvider(Path.of(args[0]), Options.defaults(), JavaSerialization.INSTANCE);
        provider.registerAsDefault();
        double providerMs = (System.nanoTime() - t0) / 1e6;
        ActorSystem system = new ActorSystem();
        double first = stopOne(system, provider, "first");
        double second = stopOne(system, provider, "second");
        double fastMs = fastDuringSlow(system, provider);
        double otherMs = otherStream(provider.journal());
        System.out.printf("provider_ms=%.1f first_stop_ms=%.1f second_stop_ms=%.1f fast_actor_ms=%.1f other_stream_ms=%.1f%n",
            providerMs, first, second, fastMs, otherMs);
        system.shutdown();
        provider.close();
        System.exit(0);
    }
}
