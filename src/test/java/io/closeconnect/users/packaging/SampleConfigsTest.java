package io.closeconnect.users.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigValue;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.closeconnect.users.CloseUsersConfig;
import io.closeconnect.users.CloseUsersSourceConnector;
import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/** The sample configs in config/ (shipped in the archive's etc/) are valid and agree with each other. */
class SampleConfigsTest {

    private static final Set<String> CONNECT_KEYS = Set.of("name", "connector.class", "tasks.max");
    private static final String TOPIC_CREATION = "topic.creation.default.";

    @Test
    void standaloneAndRestConfigsHoldTheSameSettings() throws IOException {
        assertEquals(properties(), json());
    }

    @Test
    void everyKeyIsKnownAndTheConnectorAcceptsTheValues() throws IOException {
        Map<String, String> config = properties();
        assertEquals(CloseUsersSourceConnector.class.getName(), config.get("connector.class"));
        assertEquals("${env:CLOSE_API_KEY}", config.get(CloseUsersConfig.API_KEY),
                "the samples must keep the key out of the file");
        for (String key : config.keySet()) {
            assertTrue(CONNECT_KEYS.contains(key) || key.startsWith(TOPIC_CREATION)
                    || CloseUsersConfig.CONFIG_DEF.names().contains(key), "config/ sets an unknown key: " + key);
        }
        // As the worker would see it: the provider resolved the key. The live credential check goes
        // to a local fake Close API instead of close.api.url, which this machine cannot reach.
        try (MockWebServer close = new MockWebServer()) {
            close.setDispatcher(new FakeCloseApi("api_resolved_by_the_worker", 1, true));
            close.start();
            Map<String, String> resolved = new HashMap<>(config);
            resolved.put(CloseUsersConfig.API_KEY, "api_resolved_by_the_worker");
            resolved.put(CloseUsersConfig.API_URL, close.url("/").toString());
            Config result = new CloseUsersSourceConnector().validate(resolved);
            for (ConfigValue value : result.configValues()) {
                assertEquals(List.of(), value.errorMessages(), value.name());
            }
        }
    }

    /**
     * Connect creates the topic compacted, for every topic the connector writes (so not tied to the
     * user topic's name): time-based retention would delete the snapshot's records, whose
     * timestamps are old date_updated values. PluginInstallIT checks that workers do create it so.
     */
    @Test
    void bothCreateEveryTopicCompactedWithOnePartitionAndTheBrokersReplicationFactor() throws IOException {
        Map<String, String> expected = Map.of(
                TOPIC_CREATION + "cleanup.policy", "compact",
                TOPIC_CREATION + "partitions", "1",
                TOPIC_CREATION + "replication.factor", "-1");
        for (Map<String, String> config : List.of(properties(), json())) {
            Map<String, String> creation = new HashMap<>();
            config.forEach((k, v) -> {
                if (k.startsWith("topic.creation.")) {
                    creation.put(k, v);
                }
            });
            assertEquals(expected, creation);
        }
    }

    @Test
    void theAvroWorkerExampleUsesAvroValuesStringKeysAndTheEnvProvider() throws IOException {
        Properties worker = new Properties();
        try (Reader reader = Files.newBufferedReader(Paths.get("config", "connect-avro-worker.properties"))) {
            worker.load(reader);
        }
        assertEquals("io.confluent.connect.avro.AvroConverter", worker.getProperty("value.converter"));
        assertTrue(worker.getProperty("value.converter.schema.registry.url").startsWith("http"));
        assertEquals("org.apache.kafka.connect.storage.StringConverter", worker.getProperty("key.converter"));
        assertEquals("env", worker.getProperty("config.providers"));
        assertEquals("org.apache.kafka.common.config.provider.EnvVarConfigProvider",
                worker.getProperty("config.providers.env.class"));
    }

    private static Map<String, String> properties() throws IOException {
        Properties props = new Properties();
        try (Reader reader = Files.newBufferedReader(Paths.get("config", "close-users-source.properties"))) {
            props.load(reader);
        }
        Map<String, String> map = new HashMap<>();
        props.stringPropertyNames().forEach(k -> map.put(k, props.getProperty(k)));
        return map;
    }

    private static Map<String, String> json() throws IOException {
        JsonNode root = new ObjectMapper().readTree(Paths.get("config", "close-users-source.json").toFile());
        Map<String, String> map = new HashMap<>();
        root.path("config").fields().forEachRemaining(e -> map.put(e.getKey(), e.getValue().asText()));
        assertEquals(root.path("name").asText(), map.get("name") == null ? root.path("name").asText() : map.get("name"));
        map.put("name", root.path("name").asText());
        return map;
    }
}
