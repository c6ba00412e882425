package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

class SweepCoverageTest {

    private static final String URL = "https://api.close.com";
    private static final long T = Timestamps.parseMicros("2024-05-01T10:00:00Z");

    private static String id(int n) {
        return String.format("user_%043d", n);
    }

    private static UserLedger ledgerOf(int users) {
        UserLedger ledger = UserLedger.empty(URL);
        for (int n = 0; n < users; n++) {
            ledger.announce(id(n), T);
        }
        return ledger;
    }

    /** Every shard as the ledger would write it now (a checkpoint only writes the shards that changed). */
    private static Map<Map<String, String>, Map<String, Object>> stored(UserLedger ledger) {
        Map<Map<String, String>, Map<String, Object>> stored = new HashMap<>();
        ledger.checkpoint();
        for (int s = 0; s < UserLedger.SHARDS; s++) {
            stored.put(UserLedger.partition(URL, s), new LinkedHashMap<>(ledger.carriedOffset(idInShard(s))));
        }
        return stored;
    }

    private static String idInShard(int shard) {
        for (int n = 0; ; n++) {
            if (UserLedger.shardOf(id(n)) == shard) {
                return id(n);
            }
        }
    }

    @Test
    void theUsersNotSeenAreTheCandidates() {
        UserLedger ledger = ledgerOf(300);
        SweepCoverage coverage = SweepCoverage.start(ledger);
        assertEquals(300, coverage.size());
        for (int n = 0; n < 300; n++) {
            if (n % 7 != 0) {
                coverage.saw(id(n));
            }
        }
        coverage.saw("user_new");
        ledger.announce("user_new", T);
        ledger.markRemoved(id(7));
        List<String> unseen = coverage.unseen(ledger);
        List<String> expected = new ArrayList<>();
        for (int n = 0; n < 300; n += 7) {
            if (n != 7) {
                expected.add(id(n));
            }
        }
        unseen.sort(null);
        assertEquals(expected, unseen, "every 7th user, but not the one announced removed, nor a new one");
        assertTrue(coverage.seen("user_new"), "a user the sweep did not have to see counts as seen");
        assertFalse(coverage.seen(id(14)));
    }

    @Test
    void aRestoredCoverageSaysTheSameAgainstTheStoredLedger() {
        UserLedger ledger = ledgerOf(1_000);
        ledger.checkpoint();
        SweepCoverage coverage = SweepCoverage.start(ledger);
        for (int n = 0; n < 1_000; n += 3) {
            coverage.saw(id(n));
        }
        for (int n = 1_000; n < 1_100; n++) {
            ledger.announce(id(n), T); // users the sweep emitted for the first time: appended
        }
        ledger.announce(id(5), T + 1); // a new version: in place
        UserLedger restored = UserLedger.restore(URL, stored(ledger));
        SweepCoverage back = SweepCoverage.decode(coverage.encodeBase(), coverage.encodeSeen(), restored);
        assertEquals(List.of(), back.unknownShards());
        assertEquals(coverage.unseen(ledger), back.unseen(restored));
        assertEquals(coverage.encodeSeen(), back.encodeSeen());
        assertEquals(coverage.encodeBase(), back.encodeBase());
    }

    @Test
    void aShardStoredAtAnotherPointCountsAsSeenNeverAsMissing() {
        UserLedger ledger = ledgerOf(640);
        Map<Map<String, String>, Map<String, Object>> before = stored(ledger);
        SweepCoverage coverage = SweepCoverage.start(ledger);
        // A shard whose stored offset lost users the sweep started with (a shard behind the sweep's
        // offset after an at-least-once crash): its hash no longer matches.
        int shard = UserLedger.shardOf(id(0));
        Map<String, String> partition = UserLedger.partition(URL, shard);
        Map<Map<String, String>, Map<String, Object>> lagging = new HashMap<>(before);
        lagging.put(partition, new LinkedHashMap<>(Map.of("announced", "")));
        SweepCoverage back = SweepCoverage.decode(coverage.encodeBase(), coverage.encodeSeen(),
                UserLedger.restore(URL, lagging));
        assertEquals(List.of(shard), back.unknownShards());
        List<String> unseen = back.unseen(UserLedger.restore(URL, lagging));
        assertEquals(640 - countInShard(shard, 640), unseen.size(), "the other shards' users are still candidates");
        assertTrue(unseen.stream().noneMatch(id -> UserLedger.shardOf(id) == shard));
    }

    @Test
    void malformedCoverageIsRefusedNamingTheKey() {
        assertThrows(ConnectException.class, () -> SweepCoverage.decode("1.0", "", UserLedger.empty(URL)));
        ConnectException base = assertThrows(ConnectException.class,
                () -> SweepCoverage.decode(",".repeat(63).replace(",", "x.0,") + "0.0", "", UserLedger.empty(URL)));
        assertTrue(base.getMessage().contains("'seen_base'") && base.getMessage().contains("'x.0'"), base.getMessage());
        ConnectException seen = assertThrows(ConnectException.class,
                () -> SweepCoverage.decode(SweepCoverage.start(UserLedger.empty(URL)).encodeBase(), "@@", UserLedger.empty(URL)));
        assertTrue(seen.getMessage().contains("'seen'"), seen.getMessage());
    }

    @Test
    void theStoredBaseIsEachShardsCountAndAnFnvHashOfItsIds() {
        // The format of 'seen_base' in the sweep's offset, which a task of this version must read back:
        // per shard, the number of users and a 32-bit FNV-1a over each id followed by a comma.
        UserLedger ledger = UserLedger.empty(URL);
        ledger.announce("user_a", T);
        String[] entries = SweepCoverage.start(ledger).encodeBase().split(",", -1);
        assertEquals(UserLedger.SHARDS, entries.length);
        for (int s = 0; s < UserLedger.SHARDS; s++) {
            // 811c9dc5: the FNV offset basis (no ids); a893316a: FNV-1a over "user_a,"
            String expected = s == UserLedger.shardOf("user_a") ? "1.a893316a" : "0.811c9dc5";
            assertEquals(expected, entries[s], "shard " + s);
        }
    }

    @Test
    void aShardThatStartsWithOtherUsersCountsAsSeenThoughItsCountMatches() {
        UserLedger ledger = ledgerOf(640);
        SweepCoverage coverage = SweepCoverage.start(ledger);
        int shard = UserLedger.shardOf(id(0));
        // The same number of users in that shard, but the first one replaced by another user of the shard.
        UserLedger other = UserLedger.empty(URL);
        boolean replaced = false;
        for (java.util.Iterator<String> ids = ledger.ids(shard); ids.hasNext(); ) {
            String id = ids.next();
            other.announce(replaced ? id : idInShardAfter(shard, 640), T);
            replaced = true;
        }
        Map<Map<String, String>, Map<String, Object>> stored = stored(ledger);
        other.checkpoint();
        stored.put(UserLedger.partition(URL, shard), new LinkedHashMap<>(other.carriedOffset(id(0))));
        UserLedger restored = UserLedger.restore(URL, stored);
        assertEquals(ledger.shardSize(shard), restored.shardSize(shard));
        SweepCoverage back = SweepCoverage.decode(coverage.encodeBase(), coverage.encodeSeen(), restored);
        assertEquals(List.of(shard), back.unknownShards());
        assertTrue(back.seen(id(0)), "a user of the unknown shard counts as seen");
        assertTrue(back.unseen(restored).stream().noneMatch(id -> UserLedger.shardOf(id) == shard));
        assertEquals(640 - countInShard(shard, 640), back.unseen(restored).size());
    }

    private static String idInShardAfter(int shard, int from) {
        for (int n = from; ; n++) {
            if (UserLedger.shardOf(id(n)) == shard) {
                return id(n);
            }
        }
    }

    private static int countInShard(int shard, int users) {
        int count = 0;
        for (int n = 0; n < users; n++) {
            count += UserLedger.shardOf(id(n)) == shard ? 1 : 0;
        }
        return count;
    }
}
