package io.closeconnect.users;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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

    private CloseUsersConfig config;
    private Sleeper sleeper;
    private CloseApiClient client;
    private UserSweep sweep;
    private UserRecordMapper mapper;
    private long nextSweepAtMs;
    private SweepStats stats;

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        config = new CloseUsersConfig(props);
        sleeper = new Sleeper();
        client = new CloseApiClient(config, sleeper);
        Map<String, String> partition = SweepState.partition(config.apiUrl());
        SweepState restored = SweepState.fromMap(context.offsetStorageReader().offset(partition));
        sweep = new UserSweep(client, config.pageSize(), config.watermarkLagMs(), restored);
        mapper = new UserRecordMapper(partition, config.topic());
        nextSweepAtMs = 0;
        stats = new SweepStats();
        if (restored.sweepInProgress()) {
            log.info("Resuming the sweep in progress at _skip={} (watermark {})", restored.skip(),
                    describe(restored.watermark()));
        } else {
            log.info("Starting with watermark {}", describe(restored.watermark()));
        }
    }

    @Override
    public List<SourceRecord> poll() throws InterruptedException {
        try {
            if (!sweep.inProgress()) {
                long waitMs = nextSweepAtMs - System.currentTimeMillis();
                if (waitMs > 0) {
                    sleeper.sleep(Math.min(waitMs, MAX_IDLE_WAIT_MS));
                    return null;
                }
                stats = new SweepStats();
            }
            UserSweep.Step step = sweep.step();
            List<SourceRecord> records = new ArrayList<>(step.emits().size());
            for (UserSweep.Emit emit : step.emits()) {
                records.add(mapper.toRecord(emit.user(), emit.stateAfter().toMap()));
            }
            stats.page(step.usersSeen(), records.size());
            if (step.completed()) {
                log.info("Sweep completed: {} pages, {} users seen, {} emitted, {} ms; watermark now {}",
                        stats.pages, stats.usersSeen, stats.emitted, stats.elapsedMs(),
                        describe(sweep.state().watermark()));
                nextSweepAtMs = System.currentTimeMillis() + config.pollIntervalMs();
            }
            return records.isEmpty() ? null : records;
        } catch (InterruptedException e) {
            if (sleeper.stopped()) {
                return null;
            }
            throw e;
        }
    }

    @Override
    public void stop() {
        if (sleeper != null) {
            sleeper.wakeUp();
        }
        if (client != null) {
            client.close();
        }
    }

    private static String describe(Long watermark) {
        return watermark == null ? "none (initial snapshot)" : Timestamps.format(watermark);
    }

    /** Counters for the sweep in progress. */
    private static final class SweepStats {
        private final long startedMs = System.currentTimeMillis();
        private long pages;
        private long usersSeen;
        private long emitted;

        void page(int seen, int emittedOnPage) {
            pages++;
            usersSeen += seen;
            emitted += emittedOnPage;
        }

        long elapsedMs() {
            return System.currentTimeMillis() - startedMs;
        }
    }
}
