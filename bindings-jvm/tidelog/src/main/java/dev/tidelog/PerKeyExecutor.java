package dev.tidelog;

import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs tasks of one key (a persistence id) one at a time, in the order they were submitted, and
 * tasks of different keys in parallel on an underlying executor. Completing a future through it
 * moves the future's dependent stages (user code) off the thread that produced the result, so a
 * slow continuation of one stream never holds up another stream, nor the journal's own threads.
 *
 * <p>A key's lane exists only while it has work, so memory does not grow with the number of keys.
 */
public final class PerKeyExecutor {
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final Executor pool;
    private final ConcurrentHashMap<String, Lane> lanes = new ConcurrentHashMap<>();

    /**
     * @param pool runs the lanes; it needs as many threads as continuations may block at once
     */
    public PerKeyExecutor(Executor pool) {
        this.pool = java.util.Objects.requireNonNull(pool, "pool");
    }

    private static final class Shared {
        static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "tidelog-continuation-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * A per-key executor over the process-wide cached pool of daemon threads that journals use
     * by default ({@code tidelog-continuation-N}).
     *
     * @return a new executor sharing that pool
     */
    public static PerKeyExecutor shared() {
        return new PerKeyExecutor(Shared.POOL);
    }

    /**
     * Runs {@code task} after the tasks submitted before it for {@code key}.
     *
     * @param key the ordering key
     * @param task the task; an exception it throws is dropped (complete futures, do not throw)
     */
    public void execute(String key, Runnable task) {
        while (true) {
            Lane lane = lanes.computeIfAbsent(key, Lane::new);
            synchronized (lane) {
                if (lane.retired) {
                    continue; // emptied and removed meanwhile: take a fresh lane
                }
                lane.tasks.add(task);
                if (!lane.scheduled) {
                    lane.scheduled = true;
                    pool.execute(lane);
                }
                return;
            }
        }
    }

    private final class Lane implements Runnable {
        private final String key;
        private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
        private boolean scheduled;
        private boolean retired;

        Lane(String key) {
            this.key = key;
        }

        @Override
        public void run() {
            while (true) {
                Runnable task;
                synchronized (this) {
                    task = tasks.poll();
                    if (task == null) {
                        scheduled = false;
                        retired = true;
                        lanes.remove(key, this);
                        return;
                    }
                }
                try {
                    task.run();
                } catch (RuntimeException e) {
                    // A task's failure belongs to its future; the lane carries on.
                }
            }
        }
    }
}
