package io.closeconnect.users;

import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

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
}
