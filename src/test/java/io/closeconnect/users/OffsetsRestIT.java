package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import jakarta.ws.rs.core.Response;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.closeconnect.users.UserTopicReader.Delivered;
import io.closeconnect.users.UserTopicReader.Version;
import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * Managing offsets through the worker's REST API (KIP-875), as an operator would: read them while
 * the connector is stopped, move the watermark back to replay updates since a moment, and delete
 * them to take a new snapshot.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OffsetsRestIT {

    private static final String KEY = "offsets-key";
    private static final String CONNECTOR = "close-users-offsets";
    private static final String TOPIC = "close-users-offsets";
    private static final int PAGE_SIZE = 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private EmbeddedConnectCluster connect;

    @BeforeAll
    void startCluster() {
        Map<String, String> workerProps = ConnectClusters.workerProps();
        connect = ConnectClusters.start("close-users-offsets", 1, workerProps);
    }

    @AfterAll
    void stopCluster() {
        if (connect != null) {
            connect.stop();
        }
    }

    @Test
    void readPatchAndDeleteTheOffsets() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 21, false);
        List<String> ids = api.addUsers(60);
        try (MockWebServer server = new MockWebServer();
             UserTopicReader reader = new UserTopicReader(connect.kafka(), TOPIC)) {
            server.setDispatcher(api);
            server.start();
            String apiUrl = server.url("/").toString().replaceAll("/$", "");
            connect.kafka().createTopic(TOPIC, 1);
            connect.configureConnector(CONNECTOR, connectorConfig(server));
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1, "connector did not start");
            reader.readUntil(d -> ids(d).size() == 60, 60_000, "the snapshot");

            // Two batches of edits with a chosen moment between them.
            api.edit(ids.get(0));
            api.edit(ids.get(1));
            api.edit(ids.get(10));
            reader.readUntil(d -> versions(d).containsAll(current(api, ids.get(0), ids.get(1), ids.get(10))),
                    60_000, "the first batch");
            Thread.sleep(50);
            long chosenMicros = Timestamps.toMicros(Instant.now());
            Thread.sleep(50);
            api.edit(ids.get(10));
            api.edit(ids.get(20));
            api.edit(ids.get(21));
            api.delete(ids.get(30));
            String inserted = api.insertAt(5);
            Set<Version> updatedSinceChosen = current(api, ids.get(10), ids.get(20), ids.get(21), inserted);
            assertEquals(updatedSinceChosen, updatedAfter(api, chosenMicros), "the batches straddle the chosen moment");
            reader.readUntil(d -> versions(d).containsAll(updatedSinceChosen), 60_000, "the second batch");
            // The removal goes out once its intent is stored, and confirmed again: a tombstone last.
            String deleted = ids.get(30);
            reader.readUntil(d -> d.stream().anyMatch(r -> r.id().equals(deleted)
                    && r.kind() == UserTopicReader.Kind.TOMBSTONE), 60_000, "the removal");
            awaitSweeps(api, 1);

            connect.stopConnector(CONNECTOR);
            connect.assertions().assertConnectorIsStopped(CONNECTOR, "connector did not stop");

            // GET shows the documented shape: the sweep's offset, and the shards of the ledger of announced users.
            JsonNode stored = getOffsets();
            JsonNode partition = JSON.valueToTree(Map.of("close_api_url", apiUrl, "resource", "users"));
            JsonNode offset = sweepOffset(stored, partition);
            assertEquals(Set.of("skip", "watermark", "sweep_started", "anchors", "order_by", "ledger", "phase",
                    "seen_base", "seen", "organizations"), fieldNames(offset), stored.toString());
            // The organizations the listed users belong to: a credential of another account is refused.
            assertEquals(FakeCloseApi.ORGANIZATION, offset.get("organizations").asText());
            assertTrue(offset.get("skip").isIntegralNumber() && offset.get("skip").asLong() >= 0, offset.toString());
            assertTrue(Timestamps.parseMicros(offset.get("watermark").asText()) < chosenMicros + 60_000_000L);
            assertTrue(offset.get("sweep_started").isNull()
                    || Timestamps.parseMicros(offset.get("sweep_started").asText()) > 0, offset.toString());
            assertTrue(offset.get("anchors").isTextual(), offset.toString());
            assertEquals("complete", offset.get("ledger").asText(), offset.toString());
            Map<String, String> announced = new java.util.TreeMap<>();
            for (JsonNode entry : stored) {
                JsonNode shard = entry.get("partition");
                if (shard.equals(partition)) {
                    continue;
                }
                assertEquals(apiUrl, shard.get("close_api_url").asText(), stored.toString());
                assertEquals("users.announced", shard.get("resource").asText(), stored.toString());
                assertTrue(shard.get("shard").asText().matches("[0-9]{2}"), shard.toString());
                assertEquals(Set.of("announced"), fieldNames(entry.get("offset")), entry.toString());
                String list = entry.get("offset").get("announced").asText();
                for (String version : list.isEmpty() ? new String[0] : list.split(",")) {
                    String[] parts = version.split("@");
                    announced.put(parts[0], parts[1]);
                }
            }
            // The ledger holds exactly the live users, each with the version announced for it.
            Map<String, Long> live = api.currentVersions();
            assertEquals(new java.util.TreeSet<>(live.keySet()), announced.keySet(), "the ledger holds the live users");
            live.forEach((id, micros) -> assertEquals(micros, Timestamps.parseMicros(announced.get(id)),
                    "the version announced for " + id));
            assertFalse(stored.toString().contains(KEY), "the API key is not in the offsets");

            // PATCH: bad offsets are refused with a message that names the problem.
            Response negativeSkip = patchOffset(partition, JSON.createObjectNode().put("skip", -1)
                    .put("sweep_started", "2024-01-01T00:00:00Z"));
            assertTrue(negativeSkip.getStatus() >= 400, "status " + negativeSkip.getStatus());
            assertTrue(body(negativeSkip).contains("'skip' must be 0 or more"), body(negativeSkip));
            Response badWatermark = patchOffset(partition, JSON.createObjectNode().put("watermark", "last tuesday"));
            assertTrue(badWatermark.getStatus() >= 400 && body(badWatermark).contains("'watermark'"), body(badWatermark));
            ObjectNode otherUrl = JSON.createObjectNode().put("close_api_url", "https://elsewhere.example").put("resource", "users");
            Response wrongPartition = patchOffset(otherUrl, JSON.createObjectNode().put("watermark", "2024-01-01T00:00:00Z"));
            assertTrue(wrongPartition.getStatus() >= 400 && body(wrongPartition).contains("close.api.url"), body(wrongPartition));
            // What GET returned goes back unchanged: its integers arrive as Long.
            Response same = patchOffset(partition, offset);
            assertEquals(200, same.getStatus(), body(same));
            assertEquals(offset, sweepOffset(getOffsets(), partition));

            // PATCH the watermark back to the chosen moment: exactly the users updated since then come again.
            String chosen = Timestamps.format(chosenMicros);
            Response replay = patchOffset(partition, JSON.createObjectNode().put("watermark", chosen));
            assertEquals(200, replay.getStatus(), body(replay));
            assertEquals(JSON.createObjectNode().put("watermark", chosen), sweepOffset(getOffsets(), partition));
            int beforeReplay = reader.delivered().size();
            connect.resumeConnector(CONNECTOR);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1, "connector did not resume");
            reader.readUntil(d -> versions(d.subList(beforeReplay, d.size())).containsAll(updatedSinceChosen),
                    60_000, "the replay");
            awaitSweeps(api, 2);
            List<Delivered> replayed = after(reader.readFor(1_000), beforeReplay);
            assertEquals(Map.of(), UserTopicReader.duplicates(replayed), "replayed once each");
            assertEquals(updatedSinceChosen, versions(replayed), "the replay holds exactly the users updated since " + chosen);

            // DELETE the offsets: a full snapshot follows.
            connect.stopConnector(CONNECTOR);
            connect.assertions().assertConnectorIsStopped(CONNECTOR, "connector did not stop");
            Response reset = connect.requestDelete(offsetsUrl());
            assertEquals(200, reset.getStatus(), body(reset));
            // The worker reads the offsets back from its store, which can trail the DELETE briefly under load.
            long deadline = System.currentTimeMillis() + 30_000;
            while (!getOffsets().isEmpty() && System.currentTimeMillis() < deadline) {
                Thread.sleep(200);
            }
            assertEquals(0, getOffsets().size(), "no offsets after DELETE");
            Set<Version> everyone = updatedAfter(api, Long.MIN_VALUE);
            int beforeSnapshot = reader.delivered().size();
            connect.resumeConnector(CONNECTOR);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1, "connector did not resume");
            reader.readUntil(d -> versions(d.subList(beforeSnapshot, d.size())).containsAll(everyone),
                    60_000, "the new snapshot");
            awaitSweeps(api, 2);
            List<Delivered> snapshot = after(reader.readFor(1_000), beforeSnapshot);
            assertEquals(Map.of(), UserTopicReader.duplicates(snapshot), "each user once in the new snapshot");
            assertEquals(everyone, versions(snapshot), "the new snapshot holds every live user, current version");
            assertEquals(60, snapshot.size());
            connect.deleteConnector(CONNECTOR);
        }
    }

    private static Map<String, String> connectorConfig(MockWebServer server) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", CloseUsersSourceConnector.class.getName());
        ConnectClusters.createTopicsCompacted(config);
        config.put("tasks.max", "1");
        config.put(CloseUsersConfig.API_KEY, KEY);
        config.put(CloseUsersConfig.API_URL, server.url("/").toString());
        config.put(CloseUsersConfig.TOPIC, TOPIC);
        config.put(CloseUsersConfig.PAGE_SIZE, Integer.toString(PAGE_SIZE));
        config.put(CloseUsersConfig.POLL_INTERVAL_MS, "300");
        config.put(CloseUsersConfig.WATERMARK_LAG_MS, "200");
        return config;
    }

    /** The sweep's own offset among those GET returned. */
    private static JsonNode sweepOffset(JsonNode stored, JsonNode partition) {
        for (JsonNode entry : stored) {
            if (entry.get("partition").equals(partition)) {
                return entry.get("offset");
            }
        }
        throw new AssertionError("no offset for " + partition + " in " + stored);
    }

    private String offsetsUrl() {
        return connect.endpointForResource("connectors/" + CONNECTOR + "/offsets");
    }

    /** The {@code offsets} array of {@code GET /connectors/{name}/offsets}. */
    private JsonNode getOffsets() throws Exception {
        Response response = connect.requestGet(offsetsUrl());
        assertEquals(200, response.getStatus(), body(response));
        return JSON.readTree(body(response)).get("offsets");
    }

    private Response patchOffset(JsonNode partition, JsonNode offset) {
        ObjectNode request = JSON.createObjectNode();
        ObjectNode entry = request.putArray("offsets").addObject();
        entry.set("partition", partition);
        entry.set("offset", offset);
        return connect.requestPatch(offsetsUrl(), request.toString());
    }

    private static String body(Response response) {
        return String.valueOf(response.getEntity());
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new HashSet<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }

    /** Waits until the task has walked the whole list this many more times. */
    private static void awaitSweeps(FakeCloseApi api, int sweeps) throws InterruptedException {
        int pages = api.userCount() / (PAGE_SIZE - 1) + 2;
        int target = api.requestCount() + sweeps * pages;
        waitFor(() -> api.requestCount() >= target, 60_000, sweeps + " more sweeps");
    }

    private static Set<Version> current(FakeCloseApi api, String... ids) {
        Map<String, Long> versions = api.currentVersions();
        Set<Version> result = new HashSet<>();
        for (String id : ids) {
            result.add(Version.ofMicros(id, versions.get(id)));
        }
        return result;
    }

    private static Set<Version> updatedAfter(FakeCloseApi api, long micros) {
        Set<Version> result = new HashSet<>();
        api.currentVersions().forEach((id, updated) -> {
            if (updated > micros) {
                result.add(Version.ofMicros(id, updated));
            }
        });
        return result;
    }

    private static Set<String> ids(List<Delivered> delivered) {
        Set<String> ids = new HashSet<>();
        delivered.forEach(record -> ids.add(record.id()));
        return ids;
    }

    private static Set<Version> versions(List<Delivered> delivered) {
        Set<Version> versions = new HashSet<>();
        delivered.forEach(record -> versions.add(record.version()));
        return versions;
    }

    private static List<Delivered> after(List<Delivered> delivered, int from) {
        return delivered.subList(from, delivered.size());
    }

    private static void waitFor(BooleanSupplier condition, long timeoutMs, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("Timed out after " + timeoutMs + " ms waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
