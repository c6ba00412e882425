package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

class UserLedgerTest {

    private static final String URL = "https://api.close.com";
    private static final long T1 = Timestamps.parseMicros("2024-05-01T10:00:00.000001Z");
    private static final long T2 = Timestamps.parseMicros("2024-05-01T10:05:00.123456Z");

    private static String id(int n) {
        return String.format("user_%043d", n);
    }

    /** Stores every checkpoint as Connect would, and restores a ledger from what was stored. */
    private static Map<Map<String, String>, Map<String, Object>> store(UserLedger ledger,
                                                                       Map<Map<String, String>, Map<String, Object>> into) {
        for (UserLedger.Checkpoint checkpoint : ledger.checkpoint()) {
            into.put(checkpoint.partition(), new LinkedHashMap<>(checkpoint.offset()));
        }
        return into;
    }

    @Test
    void remembersTheVersionAnnouncedForEachUser() {
        UserLedger ledger = UserLedger.empty(URL);
        assertNull(ledger.announced("user_a"));
        ledger.announce("user_a", T1);
        ledger.announce("user_b", T1);
        ledger.announce("user_a", T2);
        assertEquals(T2, ledger.announced("user_a"));
        assertEquals(2, ledger.memberCount());
        ledger.markRemoved("user_a");
        assertNull(ledger.announced("user_a"), "a user announced removed is no longer announced");
        assertEquals(UserLedger.State.REMOVED, ledger.state("user_a"));
        assertEquals(1, ledger.memberCount());
        ledger.markRemoved("user_a");
        ledger.markRemoved("user_never");
        assertEquals(1, ledger.memberCount(), "marking twice, or marking an unknown user, changes nothing");
        ledger.announce("user_a", T1);
        assertEquals(T1, ledger.announced("user_a"), "a user listed again is announced again");
        assertEquals(2, ledger.memberCount());
        ledger.markRemoved("user_b");
        ledger.purgeRemoved();
        assertNull(ledger.state("user_b"), "purged");
        assertEquals(1, ledger.memberCount());
    }

    @Test
    void recordsCarryTheShardAsLastWrittenAndCheckpointsCarryTheNewOne() {
        UserLedger ledger = UserLedger.empty(URL);
        Map<String, Object> before = ledger.carriedOffset("user_a");
        assertEquals(Map.of("announced", ""), before);
        ledger.announce("user_a", T1);
        assertSame(before, ledger.carriedOffset("user_a"), "a record never claims its own announcement");
        List<UserLedger.Checkpoint> checkpoints = ledger.checkpoint();
        assertEquals(1, checkpoints.size(), "only the changed shard is written");
        UserLedger.Checkpoint checkpoint = checkpoints.get(0);
        assertEquals(ledger.partitionOf("user_a"), checkpoint.partition());
        assertEquals(Map.of("announced", "user_a@2024-05-01T10:00:00.000001Z"), checkpoint.offset());
        assertSame(checkpoint.offset(), ledger.carriedOffset("user_a"), "from now on records carry the new offset");
        assertEquals(List.of(), ledger.checkpoint(), "nothing changed since");
        ledger.announce("user_a", T1);
        assertEquals(List.of(), ledger.checkpoint(), "announcing the same version again changes nothing");
    }

    @Test
    void partitionsAreStableAndNamedByShard() {
        Map<String, String> partition = UserLedger.partition(URL, 7);
        assertEquals(List.of("close_api_url", "resource", "shard"), new ArrayList<>(partition.keySet()));
        assertEquals(Map.of("close_api_url", URL, "resource", "users.announced", "shard", "07"), partition);
        assertEquals(UserLedger.SHARDS, UserLedger.partitions(URL).size());
        assertEquals("63", UserLedger.partitions(URL).get(63).get("shard"));
        // The shard of an id is fixed by the Java language's String.hashCode: pinned, so that a
        // change to the mix cannot silently move every user to another shard.
        assertEquals(UserLedger.shardOf("user_abc"), UserLedger.shardOf(new String("user_abc")));
        assertEquals(13, UserLedger.shardOf("user_0000000000000000000000000000000000000000001"));
    }

    @Test
    void usersSpreadEvenlyOverTheShards() {
        int[] counts = new int[UserLedger.SHARDS];
        int users = 64_000;
        for (int n = 0; n < users; n++) {
            counts[UserLedger.shardOf(id(n))]++;
        }
        for (int count : counts) {
            assertTrue(count > users / UserLedger.SHARDS * 0.8 && count < users / UserLedger.SHARDS * 1.2,
                    "shard sizes " + java.util.Arrays.toString(counts));
        }
    }

    @Test
    void restoresExactlyWhatWasStoredInOrderWithMarks() {
        UserLedger ledger = UserLedger.empty(URL);
        Map<Map<String, String>, Map<String, Object>> stored = new HashMap<>();
        for (int n = 0; n < 500; n++) {
            ledger.announce(id(n), T1 + n);
        }
        store(ledger, stored);
        ledger.announce(id(3), T2);
        ledger.markRemoved(id(4));
        ledger.announce("user,with@odd%chars", T2);
        store(ledger, stored);
        UserLedger restored = UserLedger.restore(URL, stored);
        assertTrue(restored.stored());
        assertFalse(UserLedger.restore(URL, Map.of()).stored());
        assertEquals(ledger.memberCount(), restored.memberCount());
        for (int n = 0; n < 500; n++) {
            assertEquals(ledger.announced(id(n)), restored.announced(id(n)), id(n));
        }
        assertEquals(T2, restored.announced("user,with@odd%chars"));
        assertEquals(UserLedger.State.REMOVED, restored.state(id(4)));
        for (int s = 0; s < UserLedger.SHARDS; s++) {
            assertEquals(ids(ledger, s), ids(restored, s), "shard " + s + " keeps its order");
        }
        assertEquals(ledger.carriedOffset(id(0)), restored.carriedOffset(id(0)), "records carry what was stored");
    }

    @Test
    void appendingToAShardWritesTheSameTextAsWritingItWhole() {
        UserLedger appended = UserLedger.empty(URL);
        UserLedger whole = UserLedger.empty(URL);
        for (int round = 0; round < 5; round++) {
            for (int n = round * 100; n < round * 100 + 100; n++) {
                appended.announce(id(n), T1 + n);
            }
            appended.checkpoint();
        }
        for (int n = 0; n < 500; n++) {
            whole.announce(id(n), T1 + n);
        }
        whole.announce(id(0), T2);
        whole.announce(id(0), T1);
        whole.checkpoint();
        for (int n = 0; n < 500; n += 37) {
            assertEquals(whole.carriedOffset(id(n)), appended.carriedOffset(id(n)));
        }
    }

    @Test
    void aRewindForgetsAnnouncementsAfterTheMoment() {
        UserLedger ledger = UserLedger.empty(URL);
        ledger.announce("user_old", T1);
        ledger.announce("user_new", T2);
        ledger.markRemoved("user_gone");
        ledger.checkpoint();
        ledger.rewind(T1 + 1);
        assertEquals(T1, ledger.announced("user_old"));
        assertEquals(T1 + 1, ledger.announced("user_new"), "still announced (a removal candidate), but older");
        assertEquals(1, ledger.checkpoint().size(), "only the shard that changed is written");
    }

    @Test
    void malformedShardsAreRefusedNamingShardAndEntry() {
        String user = id(1);
        int shard = UserLedger.shardOf(user);
        assertRefused(Map.of("announced", user + "@2024-01-01T00:00:00Z," + user + "@2024-01-02T00:00:00Z"), shard,
                "twice");
        assertRefused(Map.of("announced", user + "@2024-01-01T00:00:00Z"), (shard + 1) % 64, "belongs to shard");
        assertRefused(Map.of("announced", user), shard, "id@timestamp");
        assertRefused(Map.of("announced", "@2024-01-01T00:00:00Z"), shard, "id@timestamp");
        assertRefused(Map.of("announced", user + "@soon"), shard, "'" + user + "@soon'");
        assertRefused(Map.of("announced", 3L), shard, "as a string");
        assertRefused(Map.of("announced", "", "extra", ""), shard, "unknown key 'extra'");
        assertRefused(Map.of("announced", "user%zz@2024-01-01T00:00:00Z"), shard, "%zz");
        assertEquals(Map.of(), UserLedger.decode(Map.of("announced", ""), shard));
    }

    private static void assertRefused(Map<String, ?> offset, int shard, String fragment) {
        ConnectException e = assertThrows(ConnectException.class, () -> UserLedger.decode(offset, shard));
        assertTrue(e.getMessage().contains(fragment) && e.getMessage().contains("shard " + UserLedger.shardName(shard)),
                e.getMessage());
    }

    @Test
    void aShardStaysFarBelowKafkasMessageLimitAtMaxSkipUsers() {
        // Close lets no client page past 250,000 users; at that size every shard must still fit a
        // 1 MB offset record with room to spare (BENCHMARKS.md has the figures at 1k, 10k and 100k).
        UserLedger ledger = UserLedger.empty(URL);
        long now = Timestamps.parseMicros("2026-11-28T17:51:50.100000Z");
        for (int n = 0; n < 250_000; n++) {
            ledger.announce(id(n), now - n);
        }
        int largest = 0;
        for (UserLedger.Checkpoint checkpoint : ledger.checkpoint()) {
            largest = Math.max(largest, ((String) checkpoint.offset().get("announced")).length());
        }
        assertTrue(largest < 400_000, "largest shard: " + largest + " characters");
    }

    /** Batches up to {@code last} are stored. */
    private static Delivery storedUpTo(long last) {
        return new Delivery() {
            @Override
            public long nextBatch() {
                return last + 1;
            }

            @Override
            public boolean stored(long batch) {
                return batch <= last;
            }
        };
    }

    @Test
    void anIntentIsAMemberNotYetAnnouncedAndStoredWithItsBatch() {
        UserLedger ledger = UserLedger.empty(URL);
        Delivery upTo2 = storedUpTo(2);
        ledger.intendAdd("user_a", T1, 3);
        assertEquals(UserLedger.State.ADDING, ledger.state("user_a"));
        assertTrue(ledger.member("user_a"));
        assertNull(ledger.announced("user_a"), "being added is not announced");
        assertEquals(T1, ledger.version("user_a"));
        assertEquals(1, ledger.memberCount());
        assertEquals(List.of("user_a"), ledger.adding());
        assertFalse(ledger.intentStored("user_a", upTo2), "batch 3 is not stored yet");
        ledger.intendAdd("user_a", T1, 2);
        assertTrue(ledger.intentStored("user_a", upTo2), "the same intent carried again by an earlier batch");
        assertFalse(ledger.intentStored("user_never", storedUpTo(Long.MAX_VALUE)), "no entry, no intent");
        assertFalse(ledger.member("user_never"));
        assertEquals(Long.MIN_VALUE, ledger.version("user_never"));

        ledger.announce("user_a", T1);
        assertEquals(List.of(), ledger.adding());
        assertTrue(ledger.intentStored("user_a", storedUpTo(0)), "an announcement needs no batch");

        ledger.intendRemove("user_a", 5);
        assertEquals(UserLedger.State.REMOVING, ledger.state("user_a"));
        assertEquals(T1, ledger.version("user_a"), "a removal keeps the version last announced");
        assertTrue(ledger.member("user_a"), "still a member until the removal is out");
        assertEquals(1, ledger.memberCount());
        assertFalse(ledger.intentStored("user_a", storedUpTo(4)));
        assertTrue(ledger.intentStored("user_a", storedUpTo(5)));

        ledger.intendRemove("user_never", 5);
        assertNull(ledger.state("user_never"), "no removal of a user never announced");
        ledger.markRemoved("user_a");
        ledger.intendRemove("user_a", 6);
        assertEquals(UserLedger.State.REMOVED, ledger.state("user_a"), "nor of one announced removed");
        assertEquals(0, ledger.memberCount());
    }

    @Test
    void intentsAndRemovalMarksAreStoredWithTheirMarksAndRestoredAsStored() {
        UserLedger ledger = UserLedger.empty(URL);
        ledger.intendAdd("user_a", T1, 7);
        ledger.announce("user_b", T1);
        ledger.intendRemove("user_b", 7);
        ledger.announce("user_c", T2);
        ledger.markRemoved("user_c");
        Map<Map<String, String>, Map<String, Object>> stored = store(ledger, new HashMap<>());
        assertEquals("user_a@+2024-05-01T10:00:00.000001Z", stored.get(ledger.partitionOf("user_a")).get("announced"));
        assertEquals("user_b@~2024-05-01T10:00:00.000001Z", stored.get(ledger.partitionOf("user_b")).get("announced"));
        assertEquals("user_c@-", stored.get(ledger.partitionOf("user_c")).get("announced"));
        UserLedger restored = UserLedger.restore(URL, stored);
        assertEquals(UserLedger.State.ADDING, restored.state("user_a"));
        assertEquals(T1, restored.version("user_a"));
        assertEquals(UserLedger.State.REMOVING, restored.state("user_b"));
        assertEquals(T1, restored.version("user_b"));
        assertEquals(UserLedger.State.REMOVED, restored.state("user_c"));
        assertEquals(2, restored.memberCount(), "the removed mark is no member");
        assertTrue(restored.intentStored("user_a", storedUpTo(0)), "what was restored is stored for good");
        assertTrue(restored.intentStored("user_b", storedUpTo(0)));
    }

    @Test
    void shardsWrittenWhileBuildingAreMarkedAndRewrittenWithoutTheMarkOnceBuilt() {
        UserLedger ledger = UserLedger.empty(URL);
        ledger.building(true);
        ledger.announce("user_a", T1);
        ledger.announce("user_b", T1);
        Map<Map<String, String>, Map<String, Object>> stored = store(ledger, new HashMap<>());
        assertEquals(Map.of("announced", "user_a@2024-05-01T10:00:00.000001Z", "ledger", "building"),
                stored.get(ledger.partitionOf("user_a")));
        UserLedger restored = UserLedger.restore(URL, stored);
        assertTrue(restored.stored());
        assertTrue(restored.storedWhileBuilding(), "every stored shard has the mark");
        assertFalse(UserLedger.restore(URL, Map.of()).storedWhileBuilding(), "nothing stored, nothing built");

        ledger.building(true);
        assertEquals(List.of(), ledger.checkpoint(), "still building: nothing to rewrite");
        ledger.building(false);
        List<UserLedger.Checkpoint> rewritten = ledger.checkpoint();
        assertEquals(2, rewritten.size(), "every shard that holds users, and only those");
        for (UserLedger.Checkpoint checkpoint : rewritten) {
            assertFalse(checkpoint.offset().containsKey("ledger"), checkpoint.toString());
            stored.put(checkpoint.partition(), checkpoint.offset());
        }
        ledger.building(false);
        assertEquals(List.of(), ledger.checkpoint(), "left once");
        stored.put(ledger.partitionOf("user_a"), Map.of("announced", "", "ledger", "building"));
        assertFalse(UserLedger.restore(URL, stored).storedWhileBuilding(), "one shard written once built is enough");
        assertTrue(UserLedger.restore(URL, stored).stored());
    }

    @Test
    void aShardMarkedWithAnythingButBuildingIsRefused() {
        int shard = UserLedger.shardOf("user_a");
        assertRefused(Map.of("announced", "", "ledger", "complete"), shard, "'ledger' = complete");
        assertEquals(Map.of(), UserLedger.decode(Map.of("announced", "", "ledger", "building"), shard));
    }

    @Test
    void aRewindKeepsVersionsAtTheMomentAndLeavesIntentsAlone() {
        UserLedger ledger = UserLedger.empty(URL);
        ledger.announce("user_a", T1);
        ledger.intendAdd("user_b", T2, 1);
        ledger.checkpoint();
        ledger.rewind(T1);
        assertEquals(List.of(), ledger.checkpoint(), "nothing announced after T1: nothing changed");
        assertEquals(T1, ledger.announced("user_a"));
        assertEquals(T2, ledger.version("user_b"), "an intent is not an announcement to forget");
        ledger.purgeRemoved();
        assertEquals(List.of(), ledger.checkpoint(), "nothing removed, nothing purged");
    }

    @Test
    void shardNamesHaveTwoDigits() {
        assertEquals("00", UserLedger.shardName(0));
        assertEquals("09", UserLedger.shardName(9));
        assertEquals("10", UserLedger.shardName(10));
    }

    private static List<String> ids(UserLedger ledger, int shard) {
        List<String> ids = new ArrayList<>();
        for (Iterator<String> it = ledger.ids(shard); it.hasNext(); ) {
            ids.add(it.next());
        }
        return ids;
    }

    @Test
    void moreShardsArePinnedAndAMissingOrEmptyTimestampIsRefused() {
        // Values of the shard mix computed outside Java (String.hashCode, then the mix, modulo 64).
        assertEquals(36, UserLedger.shardOf("user_a"));
        assertEquals(59, UserLedger.shardOf("user_b"));
        assertEquals(28, UserLedger.shardOf("user_c"));
        assertEquals(12, UserLedger.shardOf("user_d"));
        assertEquals(URL, UserLedger.empty(URL).apiUrl());
        int shard = UserLedger.shardOf("user_a");
        assertRefused(Map.of("announced", "user_a@"), shard, "'user_a@' in 'announced', which is not of the form");
        assertRefused(Map.of("ledger", "building"), shard, "as a string of id@timestamp entries separated by commas, not null");
    }
}
