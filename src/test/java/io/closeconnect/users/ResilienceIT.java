package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.connect.runtime.rest.entities.ConfigInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConfigInfos;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * The connector in a real worker against a Close that misbehaves: about 10% of the answers are
 * 429s, 503 HTML pages, 500s, truncated JSON, HTML with status 200, bodies without data and
 * dropped connections. Then a revoked key (401), which must fail the task with a plain message.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResilienceIT {

    private static final String KEY = "api_resilience_it_key";

    private EmbeddedConnectCluster connect;

    @BeforeAll
    void startCluster() {
        Map<String, String> workerProps = ConnectClusters.workerProps();
        connect = ConnectClusters.start("close-resilience-it", 1, workerProps);
    }

    @AfterAll
    void stopCluster() {
        if (connect != null) {
            connect.stop();
        }
    }

    private static Map<String, String> connectorConfig(MockWebServer server, String topic, int pageSize, long pollMs) {
        Map<String, String> config = ConnectClusters.connectorConfig(server.url("/").toString(), KEY, topic, pageSize, pollMs);
        config.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "5");
        config.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "50");
        config.put(CloseUsersConfig.HTTP_TIMEOUT_MS, "5000");
        return config;
    }

    @Test
    void everyUserArrivesThroughFaultsWithNoGapAndIntactOffsets() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 21, false);
        List<String> ids = api.addUsers(1200);
        int pageSize = 20;
        try (MockWebServer server = new MockWebServer()) {
            server.setDispatcher(api);
            server.start();
            String topic = "users-faults";
            connect.kafka().createTopic(topic, 1);
            connect.configureConnector("faults", connectorConfig(server, topic, pageSize, 600_000));
            // Every kind of fault at least once, in the first requests, then 10% at random.
            for (FakeCloseApi.Fault fault : List.of(FakeCloseApi.Fault.STATUS_429, FakeCloseApi.Fault.STATUS_503_HTML,
                    FakeCloseApi.Fault.TRUNCATED_JSON, FakeCloseApi.Fault.DISCONNECT, FakeCloseApi.Fault.HTML_200,
                    FakeCloseApi.Fault.NO_DATA, FakeCloseApi.Fault.STATUS_500)) {
                api.queueFault(fault);
            }
            api.faultRate(0.10);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("faults", 1, "connector did not start");

            List<ConsumerRecord<byte[], byte[]>> records = consumeUntilKeys(topic, new HashSet<>(ids), 120_000);
            List<String> keys = new ArrayList<>();
            records.forEach(r -> keys.add(new String(r.key(), StandardCharsets.UTF_8)));
            assertEquals(ids, keys, "every user once, in list order: no gap, no duplicate");

            int served = api.requestCount();
            int faults = server.getRequestCount() - served;
            assertTrue(faults >= 6, "the fake served " + faults + " faults among " + server.getRequestCount() + " requests");

            // Retries ask for the same page again: the served pages step by exactly one page each
            // (less the one-user overlap), so no page was skipped and none was read twice.
            List<Long> skips = api.requestedSkips();
            List<Long> expected = new ArrayList<>();
            for (long skip = 0; skip < ids.size() - 1; skip += pageSize - 1) {
                expected.add(skip);
            }
            assertEquals(expected, skips.subList(0, expected.size()), "served pages in order");

            // The completed sweep is stored (its heartbeat carries the offset, though the last pages
            // emitted nothing new): a restart starts the next sweep, which emits nothing again.
            waitFor(() -> sweepCompleted("faults"), 30_000, "the completed sweep's offset");
            Map<String, ?> offset = sweepOffset("faults");
            assertFalse(offset.toString().contains(KEY));
            assertEquals("RUNNING", connect.connectorStatus("faults").tasks().get(0).state(),
                    "faults never fail the task");
            connect.stopConnector("faults");
            connect.assertions().assertConnectorIsStopped("faults", "connector did not stop");
            int requestsBefore = api.requestCount();
            connect.resumeConnector("faults");
            int sweep = (ids.size() - 1) / (pageSize - 1) + 1;
            waitFor(() -> api.requestCount() >= requestsBefore + sweep, 60_000, "a whole sweep after the restart");
            assertEquals(0L, api.requestedSkips().get(requestsBefore), "the next sweep starts at the top");
            TimeUnit.SECONDS.sleep(2);
            List<ConsumerRecord<byte[], byte[]>> after = new ArrayList<>();
            connect.kafka().consumeAll(10_000, topic).forEach(after::add);
            assertEquals(ids.size(), after.size(), "nothing emitted again after the restart");
            connect.deleteConnector("faults");
        }
    }

    @Test
    void aRevokedKeyFailsTheTaskWithTheKeyToCheckInItsTrace() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 22, false);
        List<String> ids = api.addUsers(40);
        try (MockWebServer server = new MockWebServer()) {
            server.setDispatcher(api);
            server.start();
            String topic = "users-revoked";
            connect.kafka().createTopic(topic, 1);
            connect.configureConnector("revoked", connectorConfig(server, topic, 20, 300));
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("revoked", 1, "connector did not start");
            consumeUntilKeys(topic, new HashSet<>(ids), 60_000);

            int before = server.getRequestCount();
            api.apiKey("api_rotated_key"); // the connector's key no longer works
            connect.assertions().assertConnectorIsRunningAndTasksHaveFailed("revoked", 1, "the task did not fail on 401");

            ConnectorStateInfo.TaskState task = connect.connectorStatus("revoked").tasks().get(0);
            assertEquals("FAILED", task.state());
            assertTrue(task.trace().contains("401 Unauthorized"), task.trace());
            assertTrue(task.trace().contains("Check close.api.key"), task.trace());
            assertFalse(task.trace().contains(KEY), "no key in the trace");
            assertEquals(1, server.getRequestCount() - before, "one 401, no retry storm");
            connect.deleteConnector("revoked");
        }
    }

    @Test
    void theWorkersValidationRejectsAWrongKeyOnTheKey() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 23, false);
        try (MockWebServer server = new MockWebServer()) {
            server.setDispatcher(api);
            server.start();
            Map<String, String> config = connectorConfig(server, "unused", 10, 1000);
            config.put("name", "wrong-key");
            config.put(CloseUsersConfig.API_KEY, "api_typo_key");
            ConfigInfos infos = connect.validateConnectorConfig(CloseUsersSourceConnector.class.getSimpleName(), config);
            Map<String, List<String>> errors = new HashMap<>();
            for (ConfigInfo info : infos.configs()) {
                if (!info.configValue().errors().isEmpty()) {
                    errors.put(info.configValue().name(), info.configValue().errors());
                }
            }
            assertEquals(Set.of(CloseUsersConfig.API_KEY), errors.keySet(), errors.toString());
            assertTrue(errors.get(CloseUsersConfig.API_KEY).get(0).contains("check close.api.key"), errors.toString());
            assertFalse(errors.toString().contains("api_typo_key"));
        }
    }

    /** The sweep's own offset (not the ledger's shards), or null before one is stored. */
    private Map<String, ?> sweepOffset(String connector) {
        for (ConnectorOffset offset : connect.connectorOffsets(connector).offsets()) {
            if (SweepState.RESOURCE_USERS.equals(offset.partition().get(SweepState.PARTITION_RESOURCE))) {
                return offset.offset();
            }
        }
        return null;
    }

    /** Whether the stored offset is that of a completed sweep: a watermark, no sweep in progress. */
    private boolean sweepCompleted(String connector) {
        Map<String, ?> offset = sweepOffset(connector);
        return offset != null && offset.get(SweepState.WATERMARK) != null && offset.get(SweepState.SWEEP_STARTED) == null
                && ((Number) offset.get(SweepState.SKIP)).longValue() == 0;
    }

    private List<ConsumerRecord<byte[], byte[]>> consumeUntilKeys(String topic, Set<String> keys, long timeoutMs)
            throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            connect.kafka().consumeAll(30_000, topic).forEach(records::add);
            records.sort((a, b) -> Long.compare(a.offset(), b.offset()));
            Set<String> seen = new HashSet<>();
            records.forEach(r -> seen.add(new String(r.key(), StandardCharsets.UTF_8)));
            if (seen.containsAll(keys)) {
                return records;
            }
            if (System.currentTimeMillis() > deadline) {
                Set<String> missing = new HashSet<>(keys);
                missing.removeAll(seen);
                throw new AssertionError(missing.size() + " users never arrived, e.g. " + missing.iterator().next());
            }
            TimeUnit.MILLISECONDS.sleep(500);
        }
    }

    private static void waitFor(BooleanSupplier condition, long timeoutMs, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
    }
}
