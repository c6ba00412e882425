package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.apache.kafka.connect.util.clusters.WorkerHandle;

/** Starts the in-JVM Kafka broker and Connect worker the integration tests run the connector on. */
final class ConnectClusters {

    private ConnectClusters() {
    }

    /**
     * The worker settings the integration tests share: plugins found through the service-loader
     * file (about 5 s faster), string keys, schemaless JSON values that tests can read, and offsets
     * flushed every 500 ms. A mutable map, as the cluster builder requires.
     */
    static Map<String, String> workerProps() {
        Map<String, String> props = new HashMap<>();
        props.put("plugin.discovery", "service_load");
        props.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
        props.put("value.converter", "org.apache.kafka.connect.json.JsonConverter");
        props.put("value.converter.schemas.enable", "false");
        props.put("offset.flush.interval.ms", "500");
        return props;
    }

    /** A started cluster of one broker and {@code workers} workers. */
    static EmbeddedConnectCluster start(String name, int workers, Map<String, String> workerProps) {
        EmbeddedConnectCluster cluster = new EmbeddedConnectCluster.Builder()
                .name(name)
                .numWorkers(workers)
                .workerProps(workerProps)
                .build();
        cluster.start();
        return cluster;
    }

    /**
     * A connector config against a fake Close API at {@code closeUrl}, creating its topics (the user
     * topic and the heartbeat topic) as the sample configs do; callers add what their test needs.
     */
    static Map<String, String> connectorConfig(String closeUrl, String key, String topic, int pageSize, long pollMs) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", CloseUsersSourceConnector.class.getName());
        config.put("tasks.max", "1");
        config.put(CloseUsersConfig.API_KEY, key);
        config.put(CloseUsersConfig.API_URL, closeUrl);
        config.put(CloseUsersConfig.TOPIC, topic);
        config.put(CloseUsersConfig.PAGE_SIZE, Integer.toString(pageSize));
        config.put(CloseUsersConfig.POLL_INTERVAL_MS, Long.toString(pollMs));
        return createTopicsCompacted(config);
    }

    /**
     * Has Connect create every topic the connector writes (the user topic and the heartbeat topic)
     * compacted, with one partition and the broker's replication factor, as the sample configs do.
     */
    static Map<String, String> createTopicsCompacted(Map<String, String> config) {
        config.put("topic.creation.default.cleanup.policy", "compact");
        config.put("topic.creation.default.partitions", "1");
        config.put("topic.creation.default.replication.factor", "-1");
        return config;
    }

    /** The worker that runs task 0 of the connector. */
    static WorkerHandle workerRunningTheTask(EmbeddedConnectCluster connect, String connector) {
        String workerId = connect.connectorStatus(connector).tasks().get(0).workerId();
        List<WorkerHandle> candidates = new ArrayList<>();
        for (WorkerHandle worker : connect.workers()) {
            if (workerId.endsWith(":" + worker.url().getPort())) {
                candidates.add(worker);
            }
        }
        assertEquals(1, candidates.size(), "one worker runs the task " + workerId + ": " + connect.workers());
        return candidates.get(0);
    }
}
