package io.closeconnect.users;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.metrics.Measurable;
import org.apache.kafka.connect.source.SourceTaskContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The task's metrics: the figures, each declared once below with its name, description and value,
 * and published through one of two paths, both fed from that one declaration:
 *
 * <ul>
 *   <li>Kafka's plugin metrics (KIP-877, workers on Kafka 4.1 or later): the worker registers them
 *       under the MBean {@code kafka.connect:type=plugins,connector=<name>,task=<n>}
 *       ({@link PluginMetricsPublisher});</li>
 *   <li>otherwise the connector's own MBean, {@value SyncMetricsMBean#DOMAIN}{@code
 *       :type=task-metrics,connector=<name>,task=0} ({@link SyncMetricsMBean}).</li>
 * </ul>
 *
 * Each metric is one attribute of the MBean, a double, under the same name on both paths.
 *
 * <p>Only the task's poll thread writes; JMX threads read. The fields are volatile and have a single
 * writer, so reads see whole, recent values without locks.
 */
final class SyncMetrics implements AutoCloseable {

    static final String SWEEPS_COMPLETED = "sweeps-completed-total";
    static final String SWEEP_DURATION_LAST = "sweep-duration-last-ms";
    static final String SWEEP_DURATION_AVG = "sweep-duration-avg-ms";
    static final String SWEEP_PAGES_LAST = "sweep-pages-last";
    static final String USERS_SEEN_LAST = "users-seen-last-sweep";
    static final String USERS_EMITTED_LAST = "users-emitted-last-sweep";
    static final String USERS_EMITTED_TOTAL = "users-emitted-total";
    static final String HTTP_REQUESTS = "http-requests-total";
    static final String HTTP_RATE_LIMITED = "http-rate-limited-total";
    static final String HTTP_RETRIES = "http-retries-total";
    static final String RATE_LIMIT_WAIT = "rate-limit-wait-ms-total";
    static final String LAST_SWEEP_COMPLETED = "last-sweep-completed-timestamp-ms";
    static final String WATERMARK_LAG = "watermark-lag-ms";
    static final String REMOVALS_ANNOUNCED = "removals-announced-total";
    static final String REMOVALS_HELD = "removals-held";
    static final String CONFIRMATION_REQUESTS = "confirmation-requests-total";
    static final String USERS_ANNOUNCED = "users-announced";

    private static final Logger log = LoggerFactory.getLogger(SyncMetrics.class);

    /** One metric as declared: what both publishing paths register. */
    record Metric(String name, String description, Measurable value) {
        /** The value now; the figures ignore the metric config, so none is needed. */
        double valueAt(long nowMs) {
            return value.measure(null, nowMs);
        }
    }

    private final List<Metric> declared = new ArrayList<>();
    /** What unpublishes the metrics; set by {@link #forTask}, closed by the task's stop(), on another thread. */
    private volatile AutoCloseable published;

    private volatile long sweepsCompleted;
    private volatile long sweepDurationLastMs = -1;
    private volatile long sweepDurationTotalMs;
    private volatile long sweepPagesLast = -1;
    private volatile long usersSeenLast = -1;
    private volatile long usersEmittedLast = -1;
    private volatile long usersEmittedTotal;
    private volatile long httpRequests;
    private volatile long httpRateLimited;
    private volatile long httpRetries;
    private volatile long rateLimitWaitMs;
    private volatile long lastSweepCompletedMs = -1;
    private volatile long removalsAnnounced;
    private volatile long removalsHeld;
    private volatile long confirmationRequests;
    private volatile long usersAnnounced = -1;
    /** The watermark in epoch micros, or null before the first sweep completes. */
    private volatile Long watermarkMicros;

    /** Declares every metric; {@link #forTask} publishes them. */
    SyncMetrics() {
        add(SWEEPS_COMPLETED, "Sweeps completed since the task started.", (config, now) -> sweepsCompleted);
        add(SWEEP_DURATION_LAST, "Duration of the last completed sweep, in ms; -1 before the first.",
                (config, now) -> sweepDurationLastMs);
        add(SWEEP_DURATION_AVG, "Average duration of the sweeps completed since the task started, in ms; "
                + "NaN before the first.", (config, now) -> sweepsCompleted == 0 ? Double.NaN
                        : (double) sweepDurationTotalMs / sweepsCompleted);
        add(SWEEP_PAGES_LAST, "Pages read by the last completed sweep; -1 before the first.", (config, now) -> sweepPagesLast);
        add(USERS_SEEN_LAST, "Users on the pages the last completed sweep read (pages overlap, so some count twice); "
                + "-1 before the first.", (config, now) -> usersSeenLast);
        add(USERS_EMITTED_LAST, "Users emitted by the last completed sweep; -1 before the first.",
                (config, now) -> usersEmittedLast);
        add(USERS_EMITTED_TOTAL, "Users emitted since the task started.", (config, now) -> usersEmittedTotal);
        add(HTTP_REQUESTS, "HTTP requests sent to Close since the task started, retries included.",
                (config, now) -> httpRequests);
        add(HTTP_RATE_LIMITED, "429 answers from Close since the task started.", (config, now) -> httpRateLimited);
        add(HTTP_RETRIES, "Requests retried after a 5xx, a malformed answer, a timeout or a connection failure "
                + "since the task started.", (config, now) -> httpRetries);
        add(RATE_LIMIT_WAIT, "Time spent waiting on Close's rate limit since the task started, in ms.",
                (config, now) -> rateLimitWaitMs);
        add(LAST_SWEEP_COMPLETED, "When the last sweep completed, in epoch ms; -1 before the first.",
                (config, now) -> lastSweepCompletedMs);
        add(WATERMARK_LAG, "Now minus the watermark, in ms: how old a change can be and still not be "
                + "emitted; NaN before the first sweep completes.", (config, now) -> {
                    Long watermark = watermarkMicros;
                    return watermark == null ? Double.NaN : now - Timestamps.toMillis(watermark);
                });
        add(REMOVALS_ANNOUNCED, "Users announced removed since the task started.", (config, now) -> removalsAnnounced);
        add(REMOVALS_HELD, "Removals the last completed sweep held because they were more than the removal "
                + "threshold allows; 0 when none.", (config, now) -> removalsHeld);
        add(CONFIRMATION_REQUESTS, "Requests for one user (GET /api/v1/user/{id}/) sent to confirm a removal "
                + "since the task started.", (config, now) -> confirmationRequests);
        add(USERS_ANNOUNCED, "Users the topic announces: emitted and not removed since.", (config, now) -> usersAnnounced);
    }

    /**
     * The metrics of a task, published through the worker's plugin metrics where it has them
     * (Kafka 4.1+), else as the connector's own MBean, named after the connector in the task's
     * config ({@code name}).
     */
    static SyncMetrics forTask(SourceTaskContext context) {
        SyncMetrics metrics = new SyncMetrics();
        AutoCloseable published;
        try {
            published = PluginMetricsPublisher.publish(context, metrics.declared());
        } catch (LinkageError e) {
            // A worker before 4.1: SourceTaskContext has no pluginMetrics(), or there is no PluginMetrics class.
            published = null;
        }
        if (published == null) {
            Map<String, String> configs = context.configs();
            String connector = configs == null ? "unnamed" : configs.getOrDefault("name", "unnamed");
            SyncMetricsMBean mbean = SyncMetricsMBean.register(connector, metrics.declared());
            log.info("This Connect worker has no plugin metrics (Kafka 4.1+); the task's metrics are published as "
                    + "the MBean {}", mbean.objectName());
            published = mbean;
        }
        metrics.published = published;
        return metrics;
    }

    private void add(String name, String description, Measurable value) {
        declared.add(new Metric(name, description, value));
    }

    /** Every metric, in the order declared. */
    List<Metric> declared() {
        return List.copyOf(declared);
    }

    /** The HTTP client's counters since the task started. */
    void http(long requests, long rateLimited, long retries) {
        this.httpRequests = requests;
        this.httpRateLimited = rateLimited;
        this.httpRetries = retries;
    }

    void rateLimitWaited(long millis) {
        rateLimitWaitMs += millis;
    }

    void emitted(int users) {
        usersEmittedTotal += users;
    }

    void removals(int announced, int confirmations) {
        removalsAnnounced += announced;
        confirmationRequests += confirmations;
    }

    void held(int removals) {
        removalsHeld = removals;
    }

    void announced(int users) {
        usersAnnounced = users;
    }

    void watermark(Long micros) {
        this.watermarkMicros = micros;
    }

    void sweepCompleted(long durationMs, long pages, long usersSeen, long usersEmitted, long completedAtMs) {
        sweepDurationLastMs = durationMs;
        sweepDurationTotalMs += durationMs;
        sweepPagesLast = pages;
        usersSeenLast = usersSeen;
        usersEmittedLast = usersEmitted;
        lastSweepCompletedMs = completedAtMs;
        sweepsCompleted++;
    }

    long sweepsCompleted() {
        return sweepsCompleted;
    }

    /** Unpublishes the metrics; the worker also drops plugin metrics when the task ends. */
    @Override
    public void close() {
        AutoCloseable publishedNow = published;
        published = null;
        if (publishedNow == null) {
            return;
        }
        try {
            publishedNow.close();
        } catch (Exception e) {
            log.debug("Could not unpublish the task's metrics", e);
        }
    }
}
