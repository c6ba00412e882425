package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

class SweepStateTest {

    private static final long T1 = Timestamps.parseMicros("2024-05-01T10:00:00.000001Z");
    private static final long T2 = Timestamps.parseMicros("2024-05-01T10:05:00.123456Z");

    @Test
    void offsetRoundTripsExactlyWithMicroseconds() {
        SweepState state = new SweepState(42, T1, T2,
                List.of(new SweepState.Version("user_a", T1), new SweepState.Version("user_b", T2)),
                Map.of("user_c", T2 + 1));
        Map<String, Object> map = state.toMap();
        assertEquals(42L, map.get("skip"));
        assertEquals("2024-05-01T10:00:00.000001Z", map.get("watermark"));
        assertEquals("user_a@2024-05-01T10:00:00.000001Z,user_b@2024-05-01T10:05:00.123456Z", map.get("anchors"));
        assertEquals(state, SweepState.fromMap(map));
    }

    @Test
    void offsetHoldsOnlyPrimitivesAsConnectRequires() {
        SweepState state = new SweepState(1, T1, T2, List.of(new SweepState.Version("user_a", T1)), Map.of());
        state.toMap().values().forEach(v -> assertTrue(v == null || v instanceof String || v instanceof Long, "" + v));
    }

    @Test
    void restIntegersAndPartialOffsetsAreAccepted() {
        Map<String, Object> map = new HashMap<>();
        map.put("skip", 0);
        map.put("watermark", "2024-05-01T10:00:00+02:00");
        SweepState state = SweepState.fromMap(map);
        assertEquals(Timestamps.parseMicros("2024-05-01T08:00:00Z"), state.watermark());
        assertTrue(!state.sweepInProgress());
        assertEquals(SweepState.initial(), SweepState.fromMap(null));
    }

    @Test
    void badOffsetsAreRejectedNamingTheKey() {
        assertRejected(Map.of("skip", -1L), "skip");
        assertRejected(Map.of("skip", "12"), "skip");
        assertRejected(Map.of("watermark", "yesterday"), "watermark");
        assertRejected(Map.of("watermark", 5L), "watermark");
        assertRejected(Map.of("anchors", "user_a"), "anchors");
        assertRejected(Map.of("skip", 5L, "sweep_started", "2024-01-01T00:00:00Z", "anchors",
                "a@2024-01-01T00:00:00Z,b@2024-01-01T00:00:00Z,c@2024-01-01T00:00:00Z,d@2024-01-01T00:00:00Z,e@2024-01-01T00:00:00Z"), "anchors");
        assertRejected(Map.of("skip", 5L), "sweep_started");
        assertRejected(Map.of("_skip", 5L), "_skip");
    }

    private static void assertRejected(Map<String, ?> offset, String key) {
        ConnectException e = assertThrows(ConnectException.class, () -> SweepState.fromMap(offset));
        assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
    }

    @Test
    void completingASweepMovesTheWatermarkToTheSweepStartAndForgetsOlderEmits() {
        SweepState state = new SweepState(90, T1, T2, List.of(new SweepState.Version("user_a", T2)),
                Map.of("user_old", T2 - 5, "user_new", T2 + 5));
        SweepState done = state.completed();
        assertEquals(T2, done.watermark());
        assertEquals(0, done.skip());
        assertEquals(Map.of("user_new", T2 + 5), done.recent());
        assertTrue(done.anchors().isEmpty());
        assertTrue(!done.sweepInProgress());
    }

    @Test
    void partitionKeysKeepOneOrderInEveryJvm() {
        Map<String, String> partition = SweepState.partition("https://api.close.com");
        assertEquals(List.of("close_api_url", "resource"), new ArrayList<>(partition.keySet()));
        assertEquals(new ArrayList<>(new HashMap<>(partition).keySet()), new ArrayList<>(partition.keySet()),
                "the order Connect's JSON round trip gives back");
    }

    @Test
    void recentIsCappedSoABulkImportKeepsTheOffsetSmall() {
        SweepState state = new SweepState(0, T1, T2, List.of(), Map.of());
        for (int i = 0; i < SweepState.MAX_RECENT + 500; i++) {
            CloseUser user = new CloseUser("user_" + i, T2 + 1 + i, null);
            SweepState next = state.processed(user, i, true);
            if (i >= SweepState.MAX_RECENT) {
                assertTrue(next.recent() == state.recent(), "a full recent is shared, not copied, by the next state");
            }
            state = next;
        }
        assertEquals(SweepState.MAX_RECENT, state.recent().size());
        String encoded = (String) state.toMap().get("recent");
        assertEquals(SweepState.MAX_RECENT, encoded.split(",").length);
        assertTrue(encoded.length() < 64_000, "offset stays small: " + encoded.length());
        CloseUser again = new CloseUser("user_3", T2 + 10_000, null);
        assertEquals(T2 + 10_000, state.processed(again, 0, true).recent().get("user_3"),
                "a user already in a full recent is still updated");
    }

    @Test
    void theOrderIsStoredAndAChangedOrderRestartsTheWalkKeepingTheWatermark() {
        SweepState inProgress = new SweepState(40, T1, T2, List.of(new SweepState.Version("user_a", T2)), Map.of(), "");
        assertEquals("", inProgress.toMap().get("order_by"));
        assertEquals(inProgress, SweepState.fromMap(inProgress.toMap()));
        assertTrue(inProgress.inOrder("") == inProgress);
        SweepState switched = inProgress.inOrder("first_name,last_name");
        assertEquals(0, switched.skip());
        assertTrue(switched.anchors().isEmpty());
        assertEquals(T1, switched.watermark());
        assertEquals(T2, switched.sweepStarted());
        assertEquals("first_name,last_name", switched.orderBy());
        SweepState handWritten = SweepState.fromMap(Map.of("watermark", "2024-05-01T10:00:00Z"));
        assertEquals("last_name,first_name", handWritten.inOrder("last_name,first_name").orderBy());
        assertRejected(Map.of("order_by", "email"), "order_by");
    }
}
