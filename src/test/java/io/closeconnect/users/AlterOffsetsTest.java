package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

/** {@link CloseUsersSourceConnector#alterOffsets}: what operators may write through the offsets REST API. */
class AlterOffsetsTest {

    private static final String URL = "https://api.example.test";
    private static final Map<String, String> CONFIG = Map.of(
            CloseUsersConfig.API_KEY, "secret-key",
            CloseUsersConfig.API_URL, URL + "/");

    private final CloseUsersSourceConnector connector = new CloseUsersSourceConnector();

    private boolean alter(Map<String, ?> partition, Map<String, ?> offset) {
        Map<Map<String, ?>, Map<String, ?>> offsets = new HashMap<>();
        offsets.put(partition, offset);
        return connector.alterOffsets(CONFIG, offsets);
    }

    private String rejection(Map<String, ?> partition, Map<String, ?> offset) {
        return assertThrows(ConnectException.class, () -> alter(partition, offset)).getMessage();
    }

    private static Map<String, Object> offset(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    @Test
    void acceptsAnOffsetTheTaskWrote() {
        UserLedger ledger = UserLedger.empty(URL);
        ledger.announce("user_a", 1_700_000_050_000_000L);
        SweepCoverage coverage = SweepCoverage.start(ledger);
        coverage.saw("user_a");
        SweepState state = SweepState.initial().started(1_700_000_100_000_000L, coverage)
                .walked(41, java.util.List.of(new SweepState.Version("user_a", 1_700_000_050_000_000L)), coverage);
        assertTrue(alter(SweepState.partition(URL), state.toMap()));
        for (UserLedger.Checkpoint checkpoint : ledger.checkpoint()) {
            assertTrue(alter(checkpoint.partition(), checkpoint.offset()));
        }
        assertTrue(alter(SweepState.partition(URL), state.confirming(coverage).toMap()));
        assertTrue(alter(SweepState.partition(URL), state.completed(List.of("orga_a")).toMap()));
    }

    @Test
    void acceptsIntegersAsTheRestApiDeliversThem() {
        // JSON numbers from PATCH /offsets arrive as Long; Integer from Java callers is fine too.
        assertTrue(alter(SweepState.partition(URL), offset("skip", 7L, "sweep_started", "2024-01-31T00:00:00.000000Z")));
        assertTrue(alter(SweepState.partition(URL), offset("skip", 7, "sweep_started", "2024-01-31T00:00:00.000000Z")));
    }

    @Test
    void acceptsAWatermarkAloneAsAReplayFromThatMoment() {
        assertTrue(alter(SweepState.partition(URL), offset("watermark", "2024-01-31T00:00:00Z")));
        assertTrue(alter(SweepState.partition(URL), offset("watermark", "2024-01-31T00:00:00.123456+02:00")));
    }

    @Test
    void acceptsNullAsAReset() {
        assertTrue(alter(SweepState.partition(URL), null));
        // Also for the partition of an earlier URL, so that stale offsets can be removed.
        assertTrue(alter(SweepState.partition("https://old.example.test"), null));
    }

    @Test
    void rejectsAPartitionThatIsNotTheUsersPartition() {
        assertTrue(rejection(Map.of("close_api_url", URL), offset()).contains("'resource' to be \"users\" or"));
        assertTrue(rejection(Map.of("close_api_url", URL, "resource", "leads"), offset())
                .contains("'resource' to be \"users\" or \"users.announced\""));
        assertTrue(rejection(Map.of("resource", "users"), offset()).contains("'close_api_url'"));
        assertTrue(rejection(Map.of("close_api_url", 5L, "resource", "users"), offset()).contains("'close_api_url'"));
        assertTrue(rejection(Map.of("close_api_url", URL, "resource", "users", "x", "y"), offset())
                .contains("unknown key 'x'"));
        assertTrue(rejection(null, offset()).contains("partition is missing"));
    }

    @Test
    void rejectsOffsetsForAnotherUrlThanTheConfiguredOne() {
        String message = rejection(SweepState.partition("https://other.example.test"), offset("watermark", "2024-01-31T00:00:00Z"));
        assertTrue(message.contains("https://other.example.test") && message.contains(URL)
                && message.contains(CloseUsersConfig.API_URL), message);
    }

    @Test
    void rejectsAWrongOffsetShapeNamingTheKey() {
        Map<String, String> partition = SweepState.partition(URL);
        assertTrue(rejection(partition, offset("skip", -1L, "sweep_started", "2024-01-31T00:00:00Z")).contains("'skip' must be 0 or more"));
        assertTrue(rejection(partition, offset("skip", "7")).contains("'skip' must be a whole number"));
        assertTrue(rejection(partition, offset("skip", 7.5)).contains("'skip' must be a whole number"));
        assertTrue(rejection(partition, offset("watermark", "yesterday")).contains("'watermark' must be an ISO-8601 timestamp"));
        assertTrue(rejection(partition, offset("watermark", 1_700_000_000_000L)).contains("'watermark' must be an ISO-8601"));
        assertTrue(rejection(partition, offset("sweep_started", "2024-13-01T00:00:00Z")).contains("'sweep_started'"));
        assertTrue(rejection(partition, offset("anchors", "user_a")).contains("'anchors'"));
        assertTrue(rejection(partition, offset("recent", "user_a@soon")).contains("'recent'"));
        assertTrue(rejection(partition, offset("skip", 7L)).contains("'sweep_started' must be set"));
        assertTrue(rejection(partition, offset("watermak", "2024-01-31T00:00:00Z")).contains("'watermak' is unknown"));
    }

    @Test
    void checksTheLedgerShardsToo() {
        String user = "user_" + "a".repeat(43);
        int shard = UserLedger.shardOf(user);
        Map<String, String> partition = UserLedger.partition(URL, shard);
        assertTrue(alter(partition, offset("announced", user + "@2024-01-31T00:00:00.000000Z")));
        assertTrue(alter(partition, offset("announced", "")));
        assertTrue(alter(partition, null));
        assertTrue(alter(UserLedger.partition("https://old.example.test", shard), null));
        String wrongShard = rejection(UserLedger.partition(URL, (shard + 1) % UserLedger.SHARDS),
                offset("announced", user + "@2024-01-31T00:00:00Z"));
        assertTrue(wrongShard.contains("belongs to shard " + UserLedger.shardName(shard)), wrongShard);
        assertTrue(rejection(partition, offset("announced", user)).contains("id@timestamp"));
        assertTrue(rejection(partition, offset("announced", 5L)).contains("'announced' as a string"));
        assertTrue(rejection(partition, offset("users", "")).contains("unknown key 'users'"));
        String future = Instant.now().plus(1, ChronoUnit.DAYS).toString();
        String message = rejection(partition, offset("announced", user + "@" + future));
        assertTrue(message.contains("future"), message);
        assertTrue(rejection(Map.of("close_api_url", URL, "resource", "users.announced", "shard", "64"), offset())
                .contains("'shard' to be a string from \"00\" to \"63\""));
        assertTrue(rejection(Map.of("close_api_url", URL, "resource", "users.announced"), offset())
                .contains("'shard'"));
        assertTrue(rejection(Map.of("close_api_url", URL, "resource", "users", "shard", "01"), offset())
                .contains("unknown key 'shard'"));
        String otherUrl = rejection(UserLedger.partition("https://other.example.test", shard), offset("announced", ""));
        assertTrue(otherUrl.contains("\"shard\"") || otherUrl.contains("shard="), otherUrl);
    }

    @Test
    void rejectsAWatermarkInTheFuture() {
        String future = Instant.now().plus(1, ChronoUnit.DAYS).toString();
        String message = rejection(SweepState.partition(URL), offset("watermark", future));
        assertTrue(message.contains("'watermark'") && message.contains("future"), message);
    }

    @Test
    void rejectsEveryOtherTimestampInTheFuture() {
        String past = "2024-01-31T00:00:00Z";
        String future = Instant.now().plus(1, ChronoUnit.DAYS).toString();
        String started = rejection(SweepState.partition(URL), offset("skip", 5L, "sweep_started", future));
        assertTrue(started.contains("'sweep_started'") && started.contains("future"), started);
        String recent = rejection(SweepState.partition(URL), offset("recent", "user_a@" + future));
        assertTrue(recent.contains("'recent'") && recent.contains("future"), recent);
        String anchors = rejection(SweepState.partition(URL),
                offset("skip", 5L, "sweep_started", past, "anchors", "user_a@" + future));
        assertTrue(anchors.contains("'anchors'") && anchors.contains("future"), anchors);
    }

    @Test
    void messagesNeverContainTheApiKey() {
        String message = rejection(SweepState.partition("https://other.example.test"), offset("skip", "x"));
        assertEquals(-1, message.indexOf("secret-key"), message);
    }
}
