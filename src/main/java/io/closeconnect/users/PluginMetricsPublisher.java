package io.closeconnect.users;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.source.SourceTaskContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the task's metrics through Kafka's plugin metrics (KIP-877, Kafka 4.1+): the worker
 * registers them as attributes of {@code kafka.connect:type=plugins,connector=<name>,task=<n>}.
 * The only class that names {@link PluginMetrics}, so that older workers, which lack it, never load it.
 */
final class PluginMetricsPublisher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PluginMetricsPublisher.class);

    private final PluginMetrics registry;
    private final List<MetricName> registered = new ArrayList<>();

    private PluginMetricsPublisher(PluginMetrics registry) {
        this.registry = registry;
    }

    /**
     * Registers every metric with the task's plugin metrics.
     *
     * @return what unregisters them, or null when the worker has no plugin metrics
     * @throws LinkageError on a worker whose API predates plugin metrics
     */
    static PluginMetricsPublisher publish(SourceTaskContext context, List<SyncMetrics.Metric> metrics) {
        PluginMetrics registry;
        try {
            registry = context.pluginMetrics();
        } catch (UnsupportedOperationException e) {
            return null;
        }
        if (registry == null) {
            return null;
        }
        PluginMetricsPublisher publisher = new PluginMetricsPublisher(registry);
        for (SyncMetrics.Metric metric : metrics) {
            MetricName name = registry.metricName(metric.name(), metric.description(), new LinkedHashMap<>());
            registry.addMetric(name, metric.value());
            publisher.registered.add(name);
        }
        return publisher;
    }

    @Override
    public void close() {
        for (MetricName name : registered) {
            try {
                registry.removeMetric(name);
            } catch (RuntimeException e) {
                log.debug("Metric {} was already removed", name.name(), e);
            }
        }
        registered.clear();
    }
}
