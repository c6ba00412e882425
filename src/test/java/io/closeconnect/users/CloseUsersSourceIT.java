package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.connect.runtime.rest.entities.ConfigInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConfigInfos;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/** The connector in a real Connect worker on a real broker, against the fake Close API. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CloseUsersSourceIT {

    private static final String KEY = "it-key";
    private static final ObjectMapper JSON = new ObjectMapper();

    private EmbeddedConnectCluster connect;

    @BeforeAll
    void startCluster() {
        Map<String, String> workerProps = ConnectClusters.workerProps();
        connect = ConnectClusters.start("close-users-it", 1, workerProps);
    }

    @AfterAll
    void stopCluster() {
        if (connect != null) {
            connect.stop();
        }
    }

    private static Map<String, String> connectorConfig(MockWebServer server, String topic, int pageSize, long pollMs) {
        Map<String, String> config = ConnectClusters.connectorConfig(server.url("/").toString(), KEY, topic, pageSize, pollMs);
        config.put(CloseUsersConfig.WATERMARK_LAG_MS, "1000");
        return config;
    }

    @Test
    void streamsEveryUserThenEachEdit() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 11, false);
        List<String> ids = api.addUsers(250);
        api.addUnknownField(ids.get(7), "+1 555 0100");
        try (MockWebServer server = new MockWebServer()) {
            server.setDispatcher(api);
            server.start();
            String topic = "users-stream";
            connect.kafka().createTopic(topic, 1);
            connect.configureConnector("stream", connectorConfig(server, topic, 50, 500));
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("stream", 1, "connector did not start");

            List<ConsumerRecord<byte[], byte[]>> snapshot = consume(topic, 250);
            Set<String> keys = new HashSet<>();
            for (ConsumerRecord<byte[], byte[]> record : snapshot) {
                String key = new String(record.key(), StandardCharsets.UTF_8);
                JsonNode value = JSON.readTree(record.value());
                assertEquals(key, value.get("id").asText());
                assertEquals(value.get("date_updated").asLong(), record.timestamp(), "record time is date_updated");
                keys.add(key);
            }
            assertEquals(new HashSet<>(ids), keys, "the snapshot holds every user");
            JsonNode withExtra = snapshot.stream()
                    .filter(r -> new String(r.key(), StandardCharsets.UTF_8).equals(ids.get(7)))
                    .map(r -> readTree(r.value())).findFirst().orElseThrow();
            assertEquals("\"+1 555 0100\"", withExtra.get("extra").get("phone_number").asText());

            api.edit(ids.get(3));
            api.edit(ids.get(200));
            api.delete(ids.get(100));
            String added = api.insertAt(0);
            // Two edits, one new user, and one removal: a removal record, then a tombstone.
            List<ConsumerRecord<byte[], byte[]>> all = consume(topic, 255);
            List<String> laterKeys = new ArrayList<>();
            List<ConsumerRecord<byte[], byte[]>> ofRemoved = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> record : all.subList(250, all.size())) {
                String key = new String(record.key(), StandardCharsets.UTF_8);
                laterKeys.add(key);
                if (key.equals(ids.get(100))) {
                    ofRemoved.add(record);
                }
            }
            assertEquals(Set.of(ids.get(3), ids.get(200), added, ids.get(100)), new HashSet<>(laterKeys));
            assertEquals(2, ofRemoved.size(), "a removal record and a tombstone for the deleted user");
            JsonNode removal = readTree(ofRemoved.get(0).value());
            assertTrue(removal.get("removed").asBoolean(), "the removal record says so: " + removal);
            assertEquals("not_found", removal.get("removal_reason").asText());
            assertNull(ofRemoved.get(1).value(), "then a tombstone");
            connect.deleteConnector("stream");
        }
    }

    @Test
    void stoppedMidSweepResumesFromTheStoredSkip() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 12, false);
        List<String> ids = api.addUsers(300);
        api.responseDelayMs(100);
        try (MockWebServer server = new MockWebServer()) {
            server.setDispatcher(api);
            server.start();
            String topic = "users-resume";
            connect.kafka().createTopic(topic, 1);
            connect.configureConnector("resume", connectorConfig(server, topic, 10, 600_000));
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("resume", 1, "connector did not start");

            waitFor(() -> api.requestCount() >= 12, 60_000, "the sweep to get going");
            connect.stopConnector("resume");
            connect.assertions().assertConnectorIsStopped("resume", "connector did not stop");
            int requestsBeforeResume = api.requestCount();
            assertTrue(requestsBeforeResume < 32, "the sweep must still be in progress; it made " + requestsBeforeResume);

            List<ConnectorOffset> offsets = connect.connectorOffsets("resume").offsets();
            Map<String, Object> main = Map.of("close_api_url", server.url("/").toString().replaceAll("/$", ""),
                    "resource", "users");
            ConnectorOffset sweep = offsets.stream().filter(o -> o.partition().equals(main)).findFirst()
                    .orElseThrow(() -> new AssertionError("no sweep offset: " + offsets));
            assertTrue(sweep.offset() != null, "offsets: " + offsets);
            long storedSkip = ((Number) sweep.offset().get("skip")).longValue();
            assertTrue(storedSkip > 0, "a position mid-sweep was stored: " + sweep.offset());
            assertTrue(sweep.offset().get("sweep_started") != null);
            for (ConnectorOffset offset : offsets) {
                assertEquals(server.url("/").toString().replaceAll("/$", ""), offset.partition().get("close_api_url"));
                assertFalse(offset.toString().contains(KEY), "no key in an offset or a partition: " + offset);
            }
            connect.resumeConnector("resume");
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("resume", 1, "connector did not resume");
            List<ConsumerRecord<byte[], byte[]>> records = consumeUntilKeys(topic, new HashSet<>(ids), 120_000);

            List<Long> after = api.requestedSkips().subList(requestsBeforeResume, api.requestCount());
            assertFalse(after.isEmpty());
            assertTrue(after.get(0) >= storedSkip - 9 && after.get(0) <= storedSkip,
                    "the first request after resuming is at the stored _skip " + storedSkip + ": " + after);
            // The walk goes on from there to the end of the list before anything is read at the top
            // again (the users whose intents the stopped task stored, but not their records, go out
            // in one more walk from the top).
            int top = after.indexOf(0L);
            for (int i = 1; i < (top < 0 ? after.size() : top); i++) {
                assertTrue(after.get(i) > after.get(i - 1), "the sweep was not started over: " + after);
            }
            assertTrue(top < 0 || after.get(top - 1) >= 300 - 10, "the walk reached the end first: " + after);
            assertTrue(records.size() < 300 + 20, "few duplicates: " + records.size() + " records for 300 users");
            connect.deleteConnector("resume");
        }
    }

    @Test
    void workerValidationRejectsABadValueNamingTheKey() {
        Map<String, String> config = new HashMap<>();
        config.put("name", "validate-me");
        config.put("connector.class", CloseUsersSourceConnector.class.getName());
        ConnectClusters.createTopicsCompacted(config);
        config.put(CloseUsersConfig.API_KEY, KEY);
        config.put(CloseUsersConfig.PAGE_SIZE, "5000");
        config.put(CloseUsersConfig.ORDER_BY, "email");
        ConfigInfos infos = connect.validateConnectorConfig(CloseUsersSourceConnector.class.getSimpleName(), config);
        Map<String, List<String>> errors = new HashMap<>();
        for (ConfigInfo info : infos.configs()) {
            if (!info.configValue().errors().isEmpty()) {
                errors.put(info.configValue().name(), info.configValue().errors());
            }
        }
        assertEquals(Set.of(CloseUsersConfig.PAGE_SIZE, CloseUsersConfig.ORDER_BY), errors.keySet(), errors.toString());
        assertTrue(errors.get(CloseUsersConfig.PAGE_SIZE).get(0).contains("page.size"), errors.toString());
        assertTrue(errors.get(CloseUsersConfig.PAGE_SIZE).get(0).contains("1000"), errors.toString());
        assertTrue(errors.get(CloseUsersConfig.ORDER_BY).get(0).contains("last_name,first_name"), errors.toString());
    }

    private List<ConsumerRecord<byte[], byte[]>> consume(String topic, int count) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        connect.kafka().consume(count, 60_000, topic).forEach(records::add);
        records.sort((a, b) -> Long.compare(a.offset(), b.offset()));
        return records;
    }

    private List<ConsumerRecord<byte[], byte[]>> consumeUntilKeys(String topic, Set<String> keys, long timeoutMs)
            throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            connect.kafka().consumeAll(30_000, topic).forEach(records::add);
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

    private static void waitFor(java.util.function.BooleanSupplier condition, long timeoutMs, String what)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    private static JsonNode readTree(byte[] bytes) {
        try {
            return JSON.readTree(bytes);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
