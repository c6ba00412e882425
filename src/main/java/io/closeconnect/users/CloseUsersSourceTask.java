package io.closeconnect.users;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The task's lifecycle: restore the sync state from offset storage at start, read one page per
 * {@link #poll()}, pause between sweeps, and stop promptly.
 */
public class CloseUsersSourceTask extends SourceTask {

    private static final Logger log = LoggerFactory.getLogger(CloseUsersSourceTask.class);
    private static final long MAX_IDLE_WAIT_MS = 1_000L;
    /**
     * The longest one {@link #poll()} blocks. The worker calls {@link #stop()} only after poll()
     * returns, on the same thread, so a page that waits on backoff or rate limits for minutes is
     * fetched on {@link #fetcher} while poll() returns null every second.
     */
    private static final long MAX_POLL_BLOCK_MS = 1_000L;
    /** The pause between two steps of a sweep that only waits for intents to be stored. */
    private static final long WAITING_STEP_PAUSE_MS = 500L;

    private CloseUsersConfig config;
    private Sleeper sleeper;
    private CloseApiClient client;
    private UserSweep sweep;
    private UserRecordMapper mapper;
    private Heartbeats heartbeats;
    private Map<String, String> partition;
    private long nextSweepAtMs;
    private SweepStats stats;
    private SyncMetrics metrics;
    private ExecutorService fetcher;
    private Future<UserSweep.Step> pending;
    private DeliveryTracker delivery;
    /** When the next step may start while the sweep only waits for intents to be stored. */
    private long nextStepAtMs;
    private long pendingSkip;
    private long pendingStartMs;

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        // AbstractConfig logs every value at INFO here, with close.api.key shown as [hidden].
        config = new CloseUsersConfig(props);
        sleeper = new Sleeper();
        client = new CloseApiClient(config, sleeper);
        partition = SweepState.partition(config.apiUrl());
        List<Map<String, String>> partitions = new ArrayList<>();
        partitions.add(partition);
        partitions.addAll(UserLedger.partitions(config.apiUrl()));
        Map<Map<String, String>, Map<String, Object>> offsets = context.offsetStorageReader().offsets(partitions);
        SweepState stored = SweepState.fromMap(offsets.get(partition));
        UserLedger ledger = UserLedger.restore(config.apiUrl(), offsets);
        SweepState restored = stored.inOrder(config.orderBy());
        if (stored.sweepInProgress() && stored.orderBy() != null && !stored.orderBy().equals(config.orderBy())) {
            log.warn("{} changed from '{}' to '{}' during a sweep: walking the list again from the start", 
                    CloseUsersConfig.ORDER_BY, stored.orderBy(), config.orderBy());
        }
        RemovalValve valve = new RemovalValve(config.removalHoldPercent(), config.removalHoldMin(),
                config.removalRelease());
        delivery = new DeliveryTracker("required".equalsIgnoreCase(props.get("exactly.once.support")));
        nextStepAtMs = 0;
        sweep = new UserSweep(client, config.pageSize(), config.watermarkLagMs(), ledger, restored, valve, delivery);
        restored = sweep.state();
        mapper = new UserRecordMapper(config.topic());
        heartbeats = new Heartbeats(config.heartbeatTopic(), config.apiUrl());
        fetcher = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "close-users-fetch");
            thread.setDaemon(true);
            return thread;
        });
        pending = null;
        metrics = SyncMetrics.forTask(context);
        metrics.watermark(restored.watermark());
        nextSweepAtMs = 0;
        stats = new SweepStats(0);
        log.info("Close users task reading {} (page.size={}, poll.interval.ms={}, watermark.lag.ms={}) into topic {}, "
                        + "heartbeats into {}", config.apiUrl(), config.pageSize(), config.pollIntervalMs(),
                config.watermarkLagMs(), config.topic(), config.heartbeatTopic());
        if (restored.sweepInProgress()) {
            log.info("Resuming the sweep in progress at _skip={} ({}; {} users announced)", restored.skip(),
                    switch (restored.phase()) {
                        case CONFIRM -> "confirming missing users";
                        case RELEASE -> "walking the list once more for users waiting for their first record";
                        default -> "walking the list";
                    },
                    ledger.memberCount());
        } else if (ledger.stored() || restored.watermark() != null) {
            log.info("Starting a sweep: {} users announced, watermark {}", ledger.memberCount(),
                    describe(restored.watermark()));
        } else {
            log.info("Starting with the initial snapshot: nothing announced yet");
        }
        metrics.announced(ledger.memberCount());
    }

    @Override
    public List<SourceRecord> poll() throws InterruptedException {
        try {
            if (sleeper.stopped()) {
                return null;
            }
            delivery.polling();
            if (pending == null) {
                long pauseMs = nextStepAtMs - System.currentTimeMillis();
                if (sweep.inProgress() && pauseMs > 0) {
                    sleeper.sleep(Math.min(pauseMs, MAX_IDLE_WAIT_MS));
                    return null;
                }
                if (!sweep.inProgress()) {
                    long waitMs = nextSweepAtMs - System.currentTimeMillis();
                    if (waitMs > 0) {
                        sleeper.sleep(Math.min(waitMs, MAX_IDLE_WAIT_MS));
                        return null;
                    }
                    stats = new SweepStats(client.requests());
                }
                pendingSkip = sweep.state().skip();
                pendingStartMs = System.currentTimeMillis();
                pending = fetcher.submit(sweep::step);
            }
            long skip = pendingSkip;
            long pageStartMs = pendingStartMs;
            UserSweep.Step step;
            try {
                step = pending.get(MAX_POLL_BLOCK_MS, TimeUnit.MILLISECONDS);
                pending = null;
            } catch (TimeoutException e) {
                return null;
            } catch (ExecutionException e) {
                pending = null;
                throw rethrow(e.getCause());
            } finally {
                long waited = client.takeRateLimitWaitMillis();
                stats.rateLimitWaitMs += waited;
                metrics.rateLimitWaited(waited);
                metrics.http(client.requests(), client.rateLimited(), client.retries());
            }
            List<SourceRecord> records = new ArrayList<>(step.outputs().size() + step.checkpoints().size() + 1);
            int emitted = 0;
            int removals = 0;
            for (UserSweep.Output output : step.outputs()) {
                if (output instanceof UserSweep.Changed changed) {
                    records.add(mapper.toRecord(changed.user(), changed.partition(), changed.offset()));
                    emitted++;
                } else if (output instanceof UserSweep.Removed removed) {
                    addRemoval(records, removed);
                    removals++;
                }
            }
            long now = System.currentTimeMillis();
            int announced = sweep.ledger().memberCount();
            for (UserLedger.Checkpoint checkpoint : step.checkpoints()) {
                records.add(heartbeats.record(checkpoint.partition(), checkpoint.offset(), step.state(), announced, now));
            }
            records.add(heartbeats.record(partition, step.state().toMap(), step.state(), announced, now));
            // A sweep that only waits for intents to be stored steps again after a pause; its heartbeat
            // keeps transactions (exactly-once) and offset commits coming meanwhile.
            nextStepAtMs = step.waiting() ? now + WAITING_STEP_PAUSE_MS : 0;
            delivery.returned(records);
            if (step.pageRead()) {
                stats.page(step.usersSeen(), emitted);
            } else {
                stats.emitted += emitted;
            }
            stats.removed += removals;
            stats.confirmations += step.confirmations();
            metrics.emitted(emitted);
            metrics.removals(removals, step.confirmations());
            metrics.announced(announced);
            if (step.pageRead()) {
                boolean lastPage = step.completed() || step.state().phase() == SweepState.Phase.CONFIRM;
                log.debug("Page at _skip={}: {} users, {} to emit, {} ms{}", skip, step.usersSeen(), emitted,
                        now - pageStartMs, lastPage ? ", last page" : "");
            } else if (step.confirmations() > 0) {
                log.debug("Confirmed {} announced users missing from the list with Close: {} removed, {} to emit, {} ms",
                        step.confirmations(), removals, emitted, now - pageStartMs);
            } else {
                log.debug("Waiting for Connect to store the intents of {} users before they go out ({} released)",
                        sweep.waiting(), emitted + removals);
            }
            if (step.completed()) {
                Long watermark = sweep.state().watermark();
                long durationMs = now - stats.startedMs;
                UserSweep.RemovalSummary summary = sweep.lastRemovals();
                metrics.watermark(watermark);
                metrics.held(summary.held());
                metrics.sweepCompleted(durationMs, stats.pages, stats.usersSeen, stats.emitted, now);
                log.info("Sweep completed: {} pages, {} users seen, {} emitted, {} removed, {} ms, {} requests, {} ms "
                                + "waiting on rate limits; {} users announced ({} missing from the list, {} confirmed "
                                + "with Close, {} held); watermark now {}",
                        stats.pages, stats.usersSeen, stats.emitted, stats.removed, durationMs,
                        client.requests() - stats.requestsAtStart, stats.rateLimitWaitMs, announced,
                        summary.candidates(), stats.confirmations, summary.held(), describe(watermark));
                nextSweepAtMs = now + config.pollIntervalMs();
            }
            return records;
        } catch (InterruptedException e) {
            if (sleeper.stopped()) {
                return null;
            }
            throw e;
        } finally {
            if (sleeper.stopped()) {
                // stop() may have closed the client while this thread was about to send; release again.
                client.close();
            }
        }
    }

    /** The worker reports a record delivered (or dropped): the sweep's intents ride on these. */
    @Override
    public void commitRecord(SourceRecord record, org.apache.kafka.clients.producer.RecordMetadata metadata) {
        if (delivery != null) {
            delivery.acknowledged(record);
        }
    }

    /** The worker committed offsets. */
    @Override
    public void commit() {
        if (delivery != null) {
            delivery.committed();
        }
    }

    /** The records of one removal, as {@code removal.output} says: a removal record, a tombstone, both or neither. */
    private void addRemoval(List<SourceRecord> records, UserSweep.Removed removed) {
        if (config.removalRecord()) {
            records.add(mapper.toRemovalRecord(removed.id(), removed.lastVersion(), removed.current(),
                    removed.removedAtMicros(), removed.reason().text, removed.partition(), removed.offset()));
        }
        if (config.removalTombstone()) {
            records.add(mapper.toTombstone(removed.id(), removed.removedAtMicros(), removed.partition(),
                    removed.offset()));
        }
    }

    /**
     * Ends every wait at once and cancels the request in flight, from the worker's thread. A
     * {@link #poll()} blocked on Close returns null promptly; the HTTP client's resources are released.
     */
    @Override
    public void stop() {
        boolean first = sleeper != null && !sleeper.stopped();
        if (sleeper != null) {
            sleeper.wakeUp();
        }
        if (client != null) {
            client.close();
        }
        if (fetcher != null) {
            fetcher.shutdownNow();
            try {
                fetcher.awaitTermination(500, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (metrics != null) {
            metrics.close();
        }
        if (first) {
            log.info("Close users task stopped");
        }
    }

    /** The page fetch's failure, as poll() throws it: the task fails with the fetch's own message. */
    private InterruptedException rethrow(Throwable cause) throws InterruptedException {
        if (cause instanceof InterruptedException interrupted) {
            return interrupted;
        }
        if (cause instanceof RuntimeException runtime) {
            throw runtime;
        }
        if (cause instanceof Error error) {
            throw error;
        }
        throw new org.apache.kafka.connect.errors.ConnectException(cause);
    }

    private static String describe(Long watermark) {
        return watermark == null ? "none (initial snapshot)" : Timestamps.format(watermark);
    }

    /** Counters for the sweep in progress. */
    private static final class SweepStats {
        private final long startedMs = System.currentTimeMillis();
        private final long requestsAtStart;
        private long pages;
        private long usersSeen;
        private long emitted;
        private long removed;
        private long confirmations;
        private long rateLimitWaitMs;

        SweepStats(long requestsAtStart) {
            this.requestsAtStart = requestsAtStart;
        }

        void page(int seen, int emittedOnPage) {
            pages++;
            usersSeen += seen;
            emitted += emittedOnPage;
        }
    }
}
