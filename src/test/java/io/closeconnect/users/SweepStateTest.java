package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

class SweepStateTest {

    private static final long T1 = Timestamps.parseMicros("2024-05-01T10:00:00.000001Z");
    private static final long T2 = Timestamps.parseMicros("2024-05-01T10:05:00.123456Z");
    private static final String STARTED = "2024-01-01T00:00:00Z";

    private static SweepState midWalk() {
        UserLedger ledger = UserLedger.empty("https://x");
        ledger.announce("user_a", T1);
        ledger.announce("user,odd@id%", T1);
        SweepCoverage coverage = SweepCoverage.start(ledger);
        coverage.saw("user_a");
        return SweepState.initial().inOrder("last_name,first_name").started(T2, coverage)
                .walked(42, List.of(new SweepState.Version("user_a", T1), new SweepState.Version("user,odd@id%", T2)),
                        coverage);
    }

    @Test
    void offsetRoundTripsExactlyWithMicroseconds() {
        SweepState state = midWalk();
        Map<String, Object> map = state.toMap();
        assertEquals(42L, map.get("skip"));
        assertEquals("2024-05-01T10:05:00.123456Z", map.get("sweep_started"));
        assertEquals("user_a@2024-05-01T10:00:00.000001Z,user%2Codd%40id%25@2024-05-01T10:05:00.123456Z",
                map.get("anchors"), "an id with ',', '@' or '%' is percent-encoded, not refused");
        assertEquals("complete", map.get("ledger"));
        assertEquals("walk", map.get("phase"));
        assertEquals("last_name,first_name", map.get("order_by"));
        assertEquals(state, SweepState.fromMap(map));
        SweepState confirming = state.confirming(SweepCoverage.start(UserLedger.empty("https://x")));
        assertEquals(confirming, SweepState.fromMap(confirming.toMap()));
        assertEquals("confirm", confirming.toMap().get("phase"));
    }

    @Test
    void offsetHoldsOnlyPrimitivesAsConnectRequires() {
        midWalk().toMap().values().forEach(v -> assertTrue(v == null || v instanceof String || v instanceof Long, "" + v));
    }

    @Test
    void restIntegersAndPartialOffsetsAreAccepted() {
        Map<String, Object> map = new HashMap<>();
        map.put("skip", 0);
        map.put("watermark", "2024-05-01T10:00:00+02:00");
        SweepState state = SweepState.fromMap(map);
        assertEquals(Timestamps.parseMicros("2024-05-01T08:00:00Z"), state.watermark());
        assertTrue(!state.sweepInProgress());
        assertNull(state.ledger(), "an offset without 'ledger' was written by hand or by an earlier version");
        assertEquals(SweepState.initial(), SweepState.fromMap(null));
        assertEquals(SweepState.LedgerStatus.COMPLETE, SweepState.initial().ledger(),
                "no offset at all: whatever the ledger holds is what was announced");
        Map<String, Object> legacy = new HashMap<>(Map.of("skip", 5L, "sweep_started", STARTED,
                "anchors", "user_a@" + STARTED, "recent", "user_b@2024-01-02T00:00:00Z"));
        SweepState old = SweepState.fromMap(legacy);
        assertEquals(SweepState.Phase.WALK, old.phase(), "an old sweep in progress was walking");
        assertEquals(Map.of("user_b", Timestamps.parseMicros("2024-01-02T00:00:00Z")), old.recent());
        assertEquals(old, SweepState.fromMap(old.toMap()), "recent is kept while the ledger is built");
    }

    @Test
    void badOffsetsAreRejectedNamingTheKey() {
        assertRejected(Map.of("skip", -1L), "skip");
        assertRejected(Map.of("skip", "12"), "skip");
        assertRejected(Map.of("watermark", "yesterday"), "watermark");
        assertRejected(Map.of("watermark", 5L), "watermark");
        assertRejected(Map.of("anchors", "user_a"), "anchors");
        assertRejected(Map.of("skip", 5L, "sweep_started", STARTED, "anchors",
                "a@" + STARTED + ",b@" + STARTED + ",c@" + STARTED + ",d@" + STARTED + ",e@" + STARTED), "anchors");
        assertRejected(Map.of("skip", 5L), "sweep_started");
        assertRejected(Map.of("anchors", "user_a@" + STARTED), "sweep_started");
        assertRejected(Map.of("phase", "walk"), "sweep_started");
        assertRejected(Map.of("_skip", 5L), "_skip");
        assertRejected(Map.of("ledger", "maybe"), "ledger");
        assertRejected(Map.of("sweep_started", STARTED, "phase", "sleep"), "phase");
        assertRejected(Map.of("sweep_started", STARTED, "seen", ""), "seen_base");
        assertRejected(Map.of("sweep_started", STARTED, "seen", "", "seen_base", "1.ff"), "seen_base");
        assertRejected(Map.of("sweep_started", STARTED, "seen", "***", "seen_base", ",".repeat(63).replace(",", "0.0,") + "0.0"),
                "seen");
        assertRejected(Map.of("recent", "@" + STARTED), "recent");
        assertRejected(Map.of("recent", "user_a@" + STARTED + ",@" + STARTED), "recent");
        assertRejected(Map.of("recent", "user%zz@" + STARTED), "recent");
        assertRejected(Map.of("order_by", "email"), "order_by");
    }

    private static void assertRejected(Map<String, ?> offset, String key) {
        ConnectException e = assertThrows(ConnectException.class, () -> SweepState.fromMap(offset));
        assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
    }

    @Test
    void completingASweepMovesTheWatermarkToTheSweepStartAndEndsThePhase() {
        SweepState legacy = SweepState.fromMap(Map.of("watermark", "2024-05-01T09:00:00Z", "skip", 3L,
                "sweep_started", "2024-05-01T10:05:00.123456Z", "recent", "user_b@2024-05-01T10:06:00Z"));
        SweepState done = legacy.completed(List.of());
        assertEquals(T2, done.watermark());
        assertEquals(0, done.skip());
        assertTrue(done.anchors().isEmpty());
        assertTrue(!done.sweepInProgress());
        assertNull(done.phase());
        assertNull(done.seen());
        assertEquals(Map.of(), done.recent(), "the ledger replaces recent once a sweep built it");
        assertEquals(SweepState.LedgerStatus.COMPLETE, done.ledger());
        SweepState later = SweepState.fromMap(Map.of("watermark", "2024-06-01T00:00:00Z", "sweep_started",
                "2024-05-01T00:00:00Z")).completed(List.of());
        assertEquals(Timestamps.parseMicros("2024-06-01T00:00:00Z"), later.watermark(), "the watermark never moves back");
    }

    @Test
    void anotherOrderWalksAgainFromTheStartButKeepsWhatTheSweepSaw() {
        SweepState state = midWalk();
        SweepState same = state.inOrder("last_name,first_name");
        assertEquals(state, same);
        SweepState other = state.inOrder("");
        assertEquals(0, other.skip());
        assertTrue(other.anchors().isEmpty());
        assertEquals(state.seen(), other.seen());
        assertEquals(state.sweepStarted(), other.sweepStarted());
        SweepState confirming = state.confirming(SweepCoverage.start(UserLedger.empty("https://x")));
        assertEquals(confirming.seen(), confirming.inOrder("").seen(), "a confirmation phase has no position to lose");
        assertEquals(SweepState.Phase.CONFIRM, confirming.inOrder("").phase());
    }

    @Test
    void partitionKeysKeepOneOrderInEveryJvm() {
        Map<String, String> partition = SweepState.partition("https://api.close.com");
        assertEquals(List.of("close_api_url", "resource"), new ArrayList<>(partition.keySet()));
        assertTrue(partition instanceof LinkedHashMap || partition.getClass().getName().contains("Unmodifiable"));
    }

    @Test
    void organizationsAndRecentAreStoredSortedSoThatAnOffsetIsTheSameWhateverTheSetsOrder() {
        SweepState started = SweepState.fromMap(Map.of("sweep_started", STARTED));
        java.util.Set<String> listed = new java.util.LinkedHashSet<>(List.of("orga_c", "orga_a", "orga_b"));
        assertEquals(List.of("orga_a", "orga_b", "orga_c"), started.completed(listed).organizations());
        assertEquals("orga_a,orga_b,orga_c", started.completed(listed).toMap().get("organizations"));
        java.util.Set<String> many = new java.util.LinkedHashSet<>();
        for (int i = 25; i > 0; i--) {
            many.add(String.format("orga_%02d", i));
        }
        assertEquals(SweepState.MAX_ORGANIZATIONS, started.completed(many).organizations().size());
        assertEquals("orga_01", started.completed(many).organizations().get(0), "the first ones in sorted order");
        assertEquals("orga_20", started.completed(many).organizations().get(19));

        // Eight entries: a map's iteration order (randomized per JVM) is sorted by chance once in 40,320.
        List<String> ids = List.of("user_h", "user_c", "user_f", "user_a", "user_g", "user_b", "user_e", "user_d");
        SweepState old = SweepState.fromMap(Map.of("watermark", STARTED, "recent",
                String.join(",", ids.stream().map(id -> id + "@2024-01-01T00:00:00Z").toList())));
        assertEquals(String.join(",", ids.stream().sorted().map(id -> id + "@2024-01-01T00:00:00.000000Z").toList()),
                old.toMap().get("recent"));
    }

    @Test
    void atMostTwentyOrganizationsAndNoEntryWithoutATimestamp() {
        List<String> twenty = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            twenty.add("orga_" + i);
        }
        assertEquals(twenty, SweepState.fromMap(Map.of("organizations", String.join(",", twenty))).organizations());
        twenty.add("orga_20");
        assertRejected(Map.of("organizations", String.join(",", twenty)), "organizations");
        ConnectException e = assertThrows(ConnectException.class,
                () -> SweepState.fromMap(Map.of("sweep_started", STARTED, "anchors", "user_a@")));
        assertTrue(e.getMessage().contains("'user_a@', which is not of the form id@timestamp"), e.getMessage());
    }
}
