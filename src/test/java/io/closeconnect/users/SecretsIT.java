package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.apache.log4j.AppenderSkeleton;
import org.apache.log4j.Level;
import org.apache.log4j.Logger;
import org.apache.log4j.spi.LoggingEvent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * Runs the connector with recognisable secrets, through faults, rate limits and a fatal 401, and
 * checks that neither the API key nor the OAuth token shows up in any log line (captured from the
 * worker's own logging), task trace, source partition or offset (read back through the REST API
 * and straight from the offsets topic). The token also goes through a FileConfigProvider, as the
 * README recommends, and must not reach the config topic.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecretsIT {

    private static final String KEY = "SECRETKEY-8c1f-do-not-leak";
    private static final String TOKEN = "SECRETTOKEN-77ab-do-not-leak";
    private static final String CLUSTER = "close-secrets-it";

    private final CapturingAppender appender = new CapturingAppender();
    private final Map<String, Level> savedLevels = new HashMap<>();
    private EmbeddedConnectCluster connect;
    private Path secretsFile;

    /** Every log event, rendered with its throwable, from every logger of the JVM. */
    static final class CapturingAppender extends AppenderSkeleton {
        private final List<String> lines = new ArrayList<>();

        @Override
        protected synchronized void append(LoggingEvent event) {
            StringBuilder line = new StringBuilder(event.getLoggerName()).append(' ').append(event.getRenderedMessage());
            String[] throwable = event.getThrowableStrRep();
            if (throwable != null) {
                for (String frame : throwable) {
                    line.append('\n').append(frame);
                }
            }
            lines.add(line.toString());
        }

        synchronized List<String> lines() {
            return List.copyOf(lines);
        }

        @Override
        public void close() {
        }

        @Override
        public boolean requiresLayout() {
            return false;
        }
    }

    @BeforeAll
    void startCluster() throws Exception {
        Logger.getRootLogger().addAppender(appender);
        for (String logger : List.of("io.closeconnect", "okhttp3", "org.apache.kafka.connect")) {
            savedLevels.put(logger, Logger.getLogger(logger).getLevel());
        }
        Logger.getLogger("io.closeconnect").setLevel(Level.DEBUG);
        Logger.getLogger("okhttp3").setLevel(Level.DEBUG);
        Logger.getLogger("org.apache.kafka.connect").setLevel(Level.INFO);

        secretsFile = Files.createTempFile("close-secrets", ".properties");
        Files.writeString(secretsFile, "token=" + TOKEN + "\n");

        Map<String, String> workerProps = ConnectClusters.workerProps();
        workerProps.put("config.providers", "file");
        workerProps.put("config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider");
        connect = ConnectClusters.start(CLUSTER, 1, workerProps);
    }

    @AfterAll
    void stopCluster() throws Exception {
        try {
            if (connect != null) {
                connect.stop();
            }
        } finally {
            Logger.getRootLogger().removeAppender(appender);
            savedLevels.forEach((logger, level) -> Logger.getLogger(logger).setLevel(level));
            Files.deleteIfExists(secretsFile);
        }
    }

    private Map<String, String> connectorConfig(MockWebServer server, String topic) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", CloseUsersSourceConnector.class.getName());
        ConnectClusters.createTopicsCompacted(config);
        config.put("tasks.max", "1");
        config.put(CloseUsersConfig.API_URL, server.url("/").toString());
        config.put(CloseUsersConfig.TOPIC, topic);
        config.put(CloseUsersConfig.PAGE_SIZE, "10");
        config.put(CloseUsersConfig.POLL_INTERVAL_MS, "300");
        config.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "5");
        config.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "20");
        return config;
    }

    private static void queueEveryFault(FakeCloseApi api) {
        for (FakeCloseApi.Fault fault : List.of(FakeCloseApi.Fault.STATUS_429, FakeCloseApi.Fault.STATUS_503_HTML,
                FakeCloseApi.Fault.STATUS_500, FakeCloseApi.Fault.TRUNCATED_JSON, FakeCloseApi.Fault.HTML_200,
                FakeCloseApi.Fault.NO_DATA, FakeCloseApi.Fault.DISCONNECT)) {
            api.queueFault(fault);
        }
    }

    /** Runs a connector through a snapshot with faults, then revokes the credential so that the task fails. */
    private void runUntilFailed(String name, FakeCloseApi api, MockWebServer server, Map<String, String> config,
                                List<String> ids) throws Exception {
        String topic = config.get(CloseUsersConfig.TOPIC);
        connect.kafka().createTopic(topic, 1);
        queueEveryFault(api);
        connect.configureConnector(name, config);
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(name, 1, "connector did not start");
        consumeUntilKeys(topic, new HashSet<>(ids));
        TimeUnit.SECONDS.sleep(1); // an offset flush
        api.apiKey("api_rotated").acceptBearer("oauth_rotated");
        connect.assertions().assertConnectorIsRunningAndTasksHaveFailed(name, 1, "the task did not fail on 401");
    }

    private void assertNoSecretAnywhere(String name, String secret) throws Exception {
        List<String> lines = appender.lines();
        assertTrue(lines.stream().anyMatch(l -> l.contains("Close rate limit hit (429)")),
                "the capture sees the connector's own warnings");
        assertTrue(lines.stream().anyMatch(l -> l.contains("401 Unauthorized")), "and its fatal error");
        for (String line : lines) {
            // The test harness (EmbeddedConnect*) logs REST responses, and PUT /connectors/x/config
            // echoes a literal secret back, as the worker stores it: that is what config providers
            // are for (see the OAuth test). Every other line, the worker's included, must be clean.
            if (line.startsWith("org.apache.kafka.connect.util.clusters.")) {
                continue;
            }
            assertFalse(line.contains(secret), "a log line holds the secret: " + line);
        }

        String trace = connect.connectorStatus(name).tasks().get(0).trace();
        assertTrue(trace.contains("401"), trace);
        assertFalse(trace.contains(secret), trace);

        List<ConnectorOffset> offsets = connect.connectorOffsets(name).offsets();
        // The sweep's offset and the ledger's shards: none holds the secret.
        assertTrue(offsets.stream().anyMatch(o -> "users".equals(o.partition().get("resource"))
                && o.offset() != null && o.offset().containsKey(SweepState.SKIP)), offsets.toString());
        assertTrue(offsets.stream().anyMatch(o -> "users.announced".equals(o.partition().get("resource"))),
                offsets.toString());
        for (ConnectorOffset offset : offsets) {
            assertFalse(offset.partition().toString().contains(secret), offsets.toString());
            assertFalse(String.valueOf(offset.offset()).contains(secret), offsets.toString());
        }

        List<String> rawOffsets = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : connect.kafka().consumeAll(10_000, "connect-offset-topic-" + CLUSTER)) {
            rawOffsets.add(text(record.key()) + " " + text(record.value()));
        }
        assertTrue(rawOffsets.stream().anyMatch(r -> r.contains(name)), "the offsets topic has this connector's offsets");
        for (String raw : rawOffsets) {
            assertFalse(raw.contains(secret), "the offsets topic holds the secret: " + raw);
        }
    }

    @Test
    void theApiKeyNeverAppearsInLogsTracesPartitionsOrOffsets() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 31, false);
        List<String> ids = api.addUsers(60);
        try (MockWebServer server = new MockWebServer()) {
            server.setDispatcher(api);
            server.start();
            Map<String, String> config = connectorConfig(server, "users-secret-key");
            config.put(CloseUsersConfig.API_KEY, KEY);
            runUntilFailed("secret-key", api, server, config, ids);
            assertNoSecretAnywhere("secret-key", KEY);
            connect.deleteConnector("secret-key");
        }
    }

    @Test
    void anOAuthTokenFromAFileConfigProviderStaysOutOfTheConfigTopicAndTheLogs() throws Exception {
        FakeCloseApi api = new FakeCloseApi("api_unused", 32, false).acceptBearer(TOKEN);
        List<String> ids = api.addUsers(60);
        try (MockWebServer server = new MockWebServer()) {
            server.setDispatcher(api);
            server.start();
            Map<String, String> config = connectorConfig(server, "users-secret-token");
            config.put(CloseUsersConfig.OAUTH_ACCESS_TOKEN, "${file:" + secretsFile + ":token}");
            runUntilFailed("secret-token", api, server, config, ids);
            assertNoSecretAnywhere("secret-token", TOKEN);

            assertEquals("${file:" + secretsFile + ":token}",
                    connect.connectorInfo("secret-token").config().get(CloseUsersConfig.OAUTH_ACCESS_TOKEN),
                    "the stored config holds the reference, not the token");
            for (ConsumerRecord<byte[], byte[]> record : connect.kafka().consumeAll(10_000, "connect-config-topic-" + CLUSTER)) {
                assertFalse(text(record.value()).contains(TOKEN), "the config topic holds the token");
            }
            connect.deleteConnector("secret-token");
        }
    }

    private static String text(byte[] bytes) {
        return bytes == null ? "" : new String(bytes, StandardCharsets.UTF_8);
    }

    private void consumeUntilKeys(String topic, Set<String> keys) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            Set<String> seen = new HashSet<>();
            connect.kafka().consumeAll(30_000, topic).forEach(r -> seen.add(text(r.key())));
            if (seen.containsAll(keys)) {
                return;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("not every user arrived on " + topic);
            }
            TimeUnit.MILLISECONDS.sleep(300);
        }
    }
}
