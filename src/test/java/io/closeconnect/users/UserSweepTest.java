package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.closeconnect.users.fake.FakeCloseApi;

/** The sweep against a fake API that changes its users between page requests. */
class UserSweepTest {

    private static FakeCloseApi fake(long seed) {
        return new FakeCloseApi("key", seed, true);
    }

    @Test
    void firstSweepEmitsEveryUserOnceAndNextSweepNothing() throws Exception {
        FakeCloseApi api = fake(1);
        api.addUsers(95);
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(1);
        assertEquals(95, harness.emitted().size());
        assertEquals(0, harness.duplicates());
        assertEquals(List.of(), harness.missingCurrentVersions());

        harness.runSweeps(2);
        assertEquals(95, harness.emitted().size(), "unchanged users are not emitted again");
    }

    @Test
    void pagesOverlapByOneUserSoRequestsStayNearTheMinimum() throws Exception {
        FakeCloseApi api = fake(2);
        api.addUsers(1000);
        SweepHarness harness = new SweepHarness(api, 100);
        harness.runSweeps(1);
        // ceil(1000 / 99) pages: _skip 0, 99, 198, ..., 990
        assertEquals(11, api.requestCount());
        assertEquals(List.of(0L, 99L, 198L, 297L, 396L, 495L, 594L, 693L, 792L, 891L, 990L), api.requestedSkips());
    }

    @Test
    void userEditedBehindThePositionIsEmittedByTheNextSweep() throws Exception {
        // The classic bug: a watermark of max(date_updated seen) skips a user edited behind the
        // position when a user ahead is edited later still.
        FakeCloseApi api = fake(3);
        List<String> ids = api.addUsers(100);
        AtomicInteger request = new AtomicInteger();
        api.beforeEachRequest(a -> {
            int n = request.incrementAndGet();
            if (n == 4) {
                a.edit(ids.get(2));   // behind: pages 1-3 are done
            } else if (n == 5) {
                a.edit(ids.get(90));  // ahead, and later
            }
        });
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(1);
        long behindVersion = api.currentVersions().get(ids.get(2));
        assertFalse(harness.emittedSet().contains(new SweepState.Version(ids.get(2), behindVersion)),
                "the first sweep had passed user 2 when it changed");
        harness.runSweeps(1);
        assertTrue(harness.emittedSet().contains(new SweepState.Version(ids.get(2), behindVersion)),
                "the next sweep emits the edit made behind the position");
        assertEquals(List.of(), harness.missingCurrentVersions());
        assertEquals(0, harness.duplicates());
    }

    @Test
    void deletionsAheadOfTheWalkDoNotMakeItSkipUsers() throws Exception {
        FakeCloseApi api = fake(4);
        List<String> ids = api.addUsers(100);
        AtomicInteger request = new AtomicInteger();
        api.beforeEachRequest(a -> {
            if (request.incrementAndGet() == 4) {
                // Three users before the position disappear: the rest shift back by three.
                a.delete(ids.get(5));
                a.delete(ids.get(6));
                a.delete(ids.get(20));
            }
        });
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(1);
        assertEquals(List.of(), harness.missingCurrentVersions(), "the snapshot has every user still there");
        assertEquals(0, harness.duplicates());
    }

    @Test
    void insertionsAheadOfTheWalkDoNotMakeItRepeatUsers() throws Exception {
        FakeCloseApi api = fake(5);
        api.addUsers(100);
        AtomicInteger request = new AtomicInteger();
        api.beforeEachRequest(a -> {
            if (request.incrementAndGet() == 4) {
                a.insertAt(3);
                a.insertAt(3);
            }
        });
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(2);
        assertEquals(List.of(), harness.missingCurrentVersions());
        assertEquals(0, harness.duplicates());
        assertEquals(102, harness.emitted().size());
    }

    @Test
    void renameThatMovesUsersInNameOrderLosesNothing() throws Exception {
        FakeCloseApi api = fake(6).order(FakeCloseApi.Order.LAST_NAME_FIRST_NAME);
        api.addUsers(100);
        String ahead = api.userIdAt(80);
        String behind = api.userIdAt(5);
        AtomicInteger request = new AtomicInteger();
        api.beforeEachRequest(a -> {
            int n = request.incrementAndGet();
            if (n == 5) {
                a.rename(ahead, "Aaron", "Aaaa");    // jumps from ahead to the very front
                a.rename(behind, "Zed", "Zzzz");     // jumps from behind to the very end
            }
        });
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(2);
        assertEquals(List.of(), harness.missingCurrentVersions());
        assertEquals(List.of(), harness.missingStableVersions());
    }

    @Test
    void crashBetweenPagesResumesFromTheStoredSkip() throws Exception {
        FakeCloseApi api = fake(7);
        api.addUsers(100);
        SweepHarness harness = new SweepHarness(api, 10);
        for (int i = 0; i < 4; i++) {
            harness.step();
        }
        SweepState restored = harness.crash(0);
        assertTrue(restored.sweepInProgress());
        assertEquals(36, restored.skip(), "pages at 0, 9, 18 and 27 were read; the last user read is at 36");
        int before = api.requestCount();
        harness.runSweeps(1);
        List<Long> after = api.requestedSkips().subList(before, api.requestCount());
        assertEquals(restored.skip(), after.get(0), "the first request after the restart is at the stored _skip");
        int top = after.indexOf(0L);
        assertTrue(top > 0, "the walk goes on to the end before anything is read at the top: " + after);
        for (int i = 1; i < top; i++) {
            assertTrue(after.get(i) > after.get(i - 1), "the walk goes on from the stored _skip: " + after);
        }
        // The users of the last page before the restart waited for their intent, which the crash left
        // stored but their records unsent: the same sweep walks the list once more and emits them.
        assertEquals(100, harness.emitted().size(), "every user emitted by the sweep the crash interrupted");
        assertEquals(0, harness.duplicates());
        int requests = api.requestCount();
        harness.runSweeps(1);
        assertEquals(100, harness.emitted().size());
        assertTrue(api.requestCount() - requests <= 12, "the next sweep walks the list once: 0, 9, ..., 99");
    }

    @Test
    void aCrashRepeatsOnlyTheUsersWhoseLedgerShardWasNotStored() throws Exception {
        FakeCloseApi api = fake(8);
        api.addUsers(30);
        SweepHarness harness = new SweepHarness(api, 10);
        harness.step();
        harness.step();
        // The second batch's records were delivered (the first page's users, whose intents the first
        // batch stored), but the offsets of its last records (ledger checkpoints and the sweep's
        // position) were lost: only users of the shards whose checkpoint was lost can come again.
        int lost = 3;
        List<SweepHarness.Delivered> tail = harness.records.subList(harness.records.size() - lost, harness.records.size());
        java.util.Set<java.util.Map<String, String>> lostShards = new java.util.HashSet<>();
        tail.forEach(r -> lostShards.add(r.partition()));
        long repeatable = harness.records.stream()
                .filter(r -> r.kind() == SweepHarness.Kind.USER && r.batch() == 2)
                .filter(r -> lostShards.contains(r.partition()))
                .count();
        assertTrue(tail.stream().anyMatch(r -> r.partition().containsKey(UserLedger.PARTITION_SHARD)),
                "the lost records hold a ledger checkpoint");
        harness.crash(lost);
        harness.runSweeps(2);
        assertEquals(List.of(), harness.tableMismatches());
        assertTrue(harness.duplicates() <= repeatable,
                harness.duplicates() + " duplicates, at most " + repeatable + " users in the lost shards");
        int before = harness.duplicates();
        harness.restartExactly();
        harness.runSweeps(1);
        assertEquals(before, harness.duplicates(), "with every offset stored, a restart repeats nothing");
    }

    @Test
    void editDuringSweepIsNotEmittedTwice() throws Exception {
        FakeCloseApi api = fake(9);
        List<String> ids = api.addUsers(50);
        AtomicInteger request = new AtomicInteger();
        api.beforeEachRequest(a -> {
            if (request.incrementAndGet() == 2) {
                a.edit(ids.get(40)); // ahead: seen in its new version by this sweep
            }
        });
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(1);
        harness.crash(0);
        harness.runSweeps(2);
        assertEquals(0, harness.duplicates(), "the next sweep does not emit it again, even after a restart");
    }

    /**
     * Randomized schedules: edits, renames, inserts, removals (404 and moves to another
     * organization) and re-adds between requests, in both orders, with crashes that lose a few
     * uncommitted offsets. After changes stop, the topic read as a table is Close's list; every
     * version that lived through a whole sweep is emitted; no removal is false or late; without
     * crashes, nothing is emitted twice.
     */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
    void randomizedSchedulesKeepTheInvariants(int block) throws Exception {
        for (int run = 0; run < 40; run++) {
            long seed = block * 1000L + run;
            Random rnd = new Random(seed);
            SweepHarness harness = SweepHarness.randomChurn(seed, rnd, List.of(1, 2, 3, 5, 10, 25));
            FakeCloseApi api = harness.api;
            int pageSize = harness.pageSize;
            double crashRate = rnd.nextDouble() < 0.5 ? 0 : 0.05;
            int steps = 0;
            while (harness.completedSweeps < 5) {
                if (++steps > 20_000) {
                    throw new AssertionError("seed " + seed + " page " + pageSize
                            + " users " + api.userCount() + " sweeps " + harness.completedSweeps
                            + " skips " + api.requestedSkips().subList(api.requestCount() - 40, api.requestCount()));
                }
                harness.step();
                if (rnd.nextDouble() < crashRate) {
                    int lost = rnd.nextInt(3);
                    harness.crash(lost);
                }
            }
            api.beforeEachRequest(a -> { });
            harness.runSweeps(2);
            String context = "seed " + seed + ", page size " + pageSize + ", crashes " + harness.crashes;
            assertEquals(List.of(), harness.tableMismatches(), context);
            assertEquals(List.of(), harness.missingStableVersions(), context);
            assertEquals(List.of(), harness.falseRemovals(), context);
            assertEquals(List.of(), harness.lateRemovals(2), context);
            if (harness.crashes == 0) {
                assertEquals(0, harness.duplicates(), context);
            }
        }
    }

    @Test
    void steadyChurnEmitsNothingTwice() throws Exception {
        Random rnd = new Random(42);
        FakeCloseApi api = fake(42);
        api.addUsers(2000);
        api.beforeEachRequest(a -> {
            for (int i = 0; i < 3; i++) {
                a.randomChange(rnd, 6, 2, 1, 1);
            }
        });
        SweepHarness harness = new SweepHarness(api, 50);
        harness.runSweeps(10);
        api.beforeEachRequest(a -> { });
        harness.runSweeps(2);
        assertEquals(List.of(), harness.tableMismatches());
        assertEquals(0, harness.duplicates(), harness.duplicates() + " duplicates in " + harness.emitted().size());
    }

    @Test
    void bulkImportDuringASweepLosesNothingAndRepeatsNothing() throws Exception {
        FakeCloseApi api = fake(43);
        api.addUsers(100);
        SweepHarness harness = new SweepHarness(api, 50);
        harness.runSweeps(1);
        AtomicInteger request = new AtomicInteger();
        api.beforeEachRequest(a -> {
            if (request.incrementAndGet() == 2) {
                a.addUsers(3000);
            }
        });
        harness.runSweeps(1);
        harness.crash(0);
        api.beforeEachRequest(a -> { });
        harness.runSweeps(2);
        assertEquals(List.of(), harness.tableMismatches());
        assertEquals(0, harness.duplicates(), "the ledger has room for every import, across a restart");
    }

    @Test
    void changingTheOrderDuringASweepWalksAgainAndLosesNothing() throws Exception {
        for (long seed = 0; seed < 40; seed++) {
            FakeCloseApi api = fake(100 + seed);
            List<String> ids = api.addUsers(60);
            SweepHarness harness = new SweepHarness(api, 10);
            harness.runSweeps(1);
            Random rnd = new Random(seed);
            for (int i = 0; i < 20; i++) {
                api.edit(ids.get(rnd.nextInt(ids.size())));
            }
            for (int i = 0; i < 3; i++) {
                harness.step();
            }
            // The operator switches close.users.order.by; the task restarts mid-sweep.
            api.order(FakeCloseApi.Order.LAST_NAME_FIRST_NAME);
            SweepState restored = harness.crash(0, "last_name,first_name");
            assertEquals(0, restored.skip(), "a position from the other order is not used");
            assertEquals("last_name,first_name", restored.toMap().get("order_by"));
            harness.runSweeps(1);
            assertEquals(List.of(), harness.missingCurrentVersions(), "seed " + seed);
        }
    }
}
