package io.closeconnect.users;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.common.metrics.internals.PluginMetricsImpl;
import org.apache.kafka.connect.source.SourceTaskContext;
import org.apache.kafka.connect.storage.OffsetStorageReader;

/**
 * A task context for unit tests: an offset storage the test fills ({@link #commit}), and real
 * plugin metrics on a private registry.
 */
final class TestTaskContext implements SourceTaskContext {

    final Metrics metrics = new Metrics();
    private final Map<String, String> configs;
    private final PluginMetricsImpl pluginMetrics;
    /** What {@link #pluginMetrics()} does instead of answering, as on a worker older than 4.1; null: answer. */
    Error pluginMetricsError;
    /** What {@link #pluginMetrics()} throws instead, as a worker that refuses plugin metrics would; null: answer. */
    RuntimeException pluginMetricsRefusal;

    TestTaskContext(Map<String, String> configs) {
        this.configs = configs;
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put("connector", "test");
        tags.put("task", "0");
        this.pluginMetrics = new PluginMetricsImpl(metrics, tags);
    }

    /** The current value of one of the task's plugin metrics, or null when it is not registered. */
    Object metric(String name) {
        var metric = metrics.metrics().get(metrics.metricName(name, "plugins",
                new HashMap<>(Map.of("connector", "test", "task", "0"))));
        return metric == null ? null : metric.metricValue();
    }

    /**
     * The connector setting under which records go out in the poll that finds them: with
     * exactly-once required, a batch and its offsets commit together, so no change of membership
     * waits for an earlier batch to be stored. Tests of stopping, logging and metrics use it, so that
     * each poll's records are the page's; {@code TaskOffsetsTest} covers the waiting itself.
     */
    static final String EXACTLY_ONCE_SUPPORT = "exactly.once.support";

    /** The records of a poll that go to the user topic: user records, removals and tombstones, not heartbeats. */
    static java.util.List<org.apache.kafka.connect.source.SourceRecord> userRecords(
            java.util.List<org.apache.kafka.connect.source.SourceRecord> records) {
        return records == null ? null : records.stream()
                .filter(r -> !r.topic().equals(CloseUsersConfig.DEFAULT_HEARTBEAT_TOPIC)).toList();
    }

    @Override
    public Map<String, String> configs() {
        return configs;
    }

    /** Offset storage: what {@link #commit} stored, per source partition; empty at first. */
    final Map<Map<String, ?>, Map<String, Object>> offsets = new HashMap<>();

    /**
     * One turn of a worker's loop: polls the task, then acknowledges every record it returned
     * ({@code commitRecord}), stores their offsets and calls {@code commit()}, as an at-least-once
     * worker does once the records are delivered and the offsets committed.
     */
    java.util.List<org.apache.kafka.connect.source.SourceRecord> pollAndCommit(
            org.apache.kafka.connect.source.SourceTask task) throws InterruptedException {
        java.util.List<org.apache.kafka.connect.source.SourceRecord> records = task.poll();
        if (records != null) {
            for (org.apache.kafka.connect.source.SourceRecord record : records) {
                task.commitRecord(record, null);
            }
            commit(records);
        }
        task.commit();
        return records;
    }

    /** Stores the offsets of these records, as a worker does once they are delivered. */
    void commit(java.util.List<org.apache.kafka.connect.source.SourceRecord> records) {
        if (records == null) {
            return;
        }
        for (org.apache.kafka.connect.source.SourceRecord record : records) {
            // Through Connect's JSON offset storage: a copy of strings and longs.
            offsets.put(new LinkedHashMap<>(record.sourcePartition()), new LinkedHashMap<>(record.sourceOffset()));
        }
    }

    @Override
    public OffsetStorageReader offsetStorageReader() {
        return new OffsetStorageReader() {
            @Override
            public <T> Map<String, Object> offset(Map<String, T> partition) {
                return offsets.get(partition);
            }

            @Override
            public <T> Map<Map<String, T>, Map<String, Object>> offsets(Collection<Map<String, T>> partitions) {
                Map<Map<String, T>, Map<String, Object>> found = new HashMap<>();
                for (Map<String, T> partition : partitions) {
                    if (offsets.containsKey(partition)) {
                        found.put(partition, offsets.get(partition));
                    }
                }
                return found;
            }
        };
    }

    @Override
    public PluginMetrics pluginMetrics() {
        if (pluginMetricsError != null) {
            throw pluginMetricsError;
        }
        if (pluginMetricsRefusal != null) {
            throw pluginMetricsRefusal;
        }
        return pluginMetrics;
    }
}
