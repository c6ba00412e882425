package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
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

    // ------------------------------------------------------------ single steps against a list set by hand

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private static final long V = 1_704_067_200_000_000L;

    /** A user list a test sets by hand: names, versions and organizations; it records every request. */
    private static final class ListSource implements UserSource {
        final List<CloseUser> users = new java.util.ArrayList<>();
        final Map<String, UserLookup> answers = new java.util.HashMap<>();
        final List<String> requests = new java.util.ArrayList<>();
        List<String> mine = List.of("orga_a");
        int largest = Integer.MAX_VALUE;
        int lookups;
        long clock = V + 1_000_000_000L;

        static CloseUser user(String id, long version, String lastName, String... organizations) {
            com.fasterxml.jackson.databind.node.ObjectNode node = JSON.createObjectNode();
            node.put("id", id);
            node.put("first_name", "Same");
            node.put("last_name", lastName);
            if (organizations.length > 0) {
                com.fasterxml.jackson.databind.node.ArrayNode array = node.putArray("organizations");
                for (String organization : organizations) {
                    array.add(organization);
                }
            }
            return new CloseUser(id, version, node);
        }

        ListSource add(int count, String prefix, String lastName, String... organizations) {
            for (int i = 0; i < count; i++) {
                String id = prefix + String.format("%04d", users.size());
                users.add(user(id, V, lastName == null ? id : lastName, organizations));
            }
            return this;
        }

        List<String> ids() {
            return users.stream().map(CloseUser::id).toList();
        }

        void remove(String id) {
            users.removeIf(u -> u.id().equals(id));
        }

        @Override
        public UserPage fetch(long skip, int limit) {
            int served = Math.min(limit, largest);
            requests.add(skip + "+" + served);
            clock += 1_000;
            List<CloseUser> page = new java.util.ArrayList<>();
            for (long i = skip; i < Math.min(users.size(), skip + served); i++) {
                page.add(users.get((int) i));
            }
            return new UserPage(page, skip + served < users.size(), clock, served);
        }

        @Override
        public UserLookup lookUp(String id) {
            lookups++;
            if (answers.containsKey(id)) {
                return answers.get(id);
            }
            for (CloseUser user : users) {
                if (user.id().equals(id)) {
                    return UserLookup.found(user);
                }
            }
            return UserLookup.notFound("Empty query");
        }

        @Override
        public List<String> myOrganizations() {
            return mine;
        }
    }

    /** A worker whose offsets are stored only when the test says so; every step is one batch. */
    private static final class ManualDelivery implements Delivery {
        long batches;
        long storedUpTo;

        @Override
        public long nextBatch() {
            return batches + 1;
        }

        @Override
        public boolean stored(long batch) {
            return batch <= storedUpTo;
        }

        void storeAll() {
            storedUpTo = batches;
        }
    }

    private static UserSweep sweepOf(ListSource source, int pageSize, UserLedger ledger, SweepState state,
                                     Delivery delivery) {
        return new UserSweep(source, pageSize, 0, ledger, state, new RemovalValve(100, 0, ""), delivery);
    }

    private static final String NAME_ORDER = "last_name,first_name";

    /** A first sweep in a name order, with an empty ledger, every batch stored at once. */
    private static UserSweep inNameOrder(ListSource source, int pageSize) {
        return sweepOf(source, pageSize, UserLedger.empty(SweepHarness.URL), complete().inOrder(NAME_ORDER),
                Delivery.IMMEDIATE);
    }

    private static UserSweep.Step step(UserSweep sweep, ManualDelivery delivery) throws InterruptedException {
        UserSweep.Step step = sweep.step();
        delivery.batches++;
        return step;
    }

    private static List<UserSweep.Step> runSweep(UserSweep sweep, ManualDelivery delivery, boolean store)
            throws InterruptedException {
        List<UserSweep.Step> steps = new java.util.ArrayList<>();
        for (int guard = 0; guard < 10_000; guard++) {
            UserSweep.Step step = step(sweep, delivery);
            steps.add(step);
            if (store) {
                delivery.storeAll();
            }
            if (step.completed()) {
                return steps;
            }
        }
        throw new AssertionError("the sweep does not complete");
    }

    private static List<UserSweep.Removed> removals(List<UserSweep.Step> steps) {
        return steps.stream().flatMap(s -> s.outputs().stream())
                .filter(o -> o instanceof UserSweep.Removed).map(o -> (UserSweep.Removed) o).toList();
    }

    private static List<UserSweep.Changed> changes(List<UserSweep.Step> steps) {
        return steps.stream().flatMap(s -> s.outputs().stream())
                .filter(o -> o instanceof UserSweep.Changed).map(o -> (UserSweep.Changed) o).toList();
    }

    private static SweepState complete() {
        return SweepState.initial().withLedger(SweepState.LedgerStatus.COMPLETE).inOrder("");
    }

    @Test
    void theSweepStartsTheLagBeforeItsFirstPageWasServed() throws Exception {
        ListSource source = new ListSource().add(5, "user_", null);
        UserSweep sweep = new UserSweep(source, 10, 5_000, UserLedger.empty(SweepHarness.URL), complete(),
                new RemovalValve(100, 0, ""), Delivery.IMMEDIATE);
        assertTrue(sweep.step().completed(), "one page");
        assertEquals(source.clock - 5_000_000L, sweep.state().watermark(), "the watermark of the sweep: its start");
    }

    @Test
    void offsetsWrittenWhileTheLedgerIsBuiltAreMarkedAcrossARestart() throws Exception {
        ListSource source = new ListSource().add(25, "user_", null);
        SweepState legacy = SweepState.fromMap(Map.of("watermark", "2023-01-01T00:00:00Z")).inOrder("");
        UserSweep sweep = sweepOf(source, 10, UserLedger.empty(SweepHarness.URL), legacy, Delivery.IMMEDIATE);
        UserSweep.Step first = sweep.step();
        assertFalse(first.checkpoints().isEmpty());
        Map<Map<String, String>, Map<String, Object>> stored = new java.util.HashMap<>();
        for (UserLedger.Checkpoint checkpoint : first.checkpoints()) {
            assertEquals("building", checkpoint.offset().get("ledger"), "the first sweep after an upgrade builds");
            stored.put(checkpoint.partition(), checkpoint.offset());
        }
        // The task restarts from the offsets it wrote: the sweep goes on building.
        SweepState restored = SweepState.fromMap(first.state().toMap()).inOrder("");
        assertEquals(SweepState.LedgerStatus.BUILDING, restored.ledger());
        UserSweep again = sweepOf(source, 10, UserLedger.restore(SweepHarness.URL, stored), restored,
                Delivery.IMMEDIATE);
        UserSweep.Step next = again.step();
        assertFalse(next.checkpoints().isEmpty());
        for (UserLedger.Checkpoint checkpoint : next.checkpoints()) {
            assertEquals("building", checkpoint.offset().get("ledger"), checkpoint.toString());
        }
        UserSweep.Step last = next;
        while (!last.completed()) {
            last = again.step();
        }
        assertFalse(last.checkpoints().isEmpty(), "once built, every shard is written again");
        for (UserLedger.Checkpoint checkpoint : last.checkpoints()) {
            assertFalse(checkpoint.offset().containsKey("ledger"), checkpoint.toString());
        }
    }

    @Test
    void usersWaitingForTheirIntentAreCountedAddsAndRemovalsAlike() throws Exception {
        ListSource source = new ListSource().add(3, "user_", null);
        UserLedger ledger = UserLedger.empty(SweepHarness.URL);
        ManualDelivery delivery = new ManualDelivery();
        UserSweep sweep = sweepOf(source, 10, ledger, complete(), delivery);
        runSweep(sweep, delivery, true);
        assertEquals(0, sweep.waiting());
        String gone = source.ids().get(0);
        source.remove(gone);
        source.add(2, "user_new_", null);
        step(sweep, delivery); // the one page: two new users wait for their intent
        assertEquals(2, sweep.waiting());
        step(sweep, delivery); // the missing user confirmed removed: its removal waits too
        assertEquals(UserLedger.State.REMOVING, ledger.state(gone));
        assertEquals(3, sweep.waiting());
        delivery.storeAll();
        List<UserSweep.Step> rest = runSweep(sweep, delivery, true);
        assertEquals(0, sweep.waiting());
        assertEquals(List.of(gone), removals(rest).stream().map(UserSweep.Removed::id).toList());
        assertNull(ledger.state(gone), "the completed sweep drops the marks of the users it removed");
    }

    @Test
    void aStepAsksCloseAboutAtMost25UsersReleasesAndNewConfirmationsTogether() throws Exception {
        ListSource source = new ListSource().add(100, "user_", null);
        UserLedger ledger = UserLedger.empty(SweepHarness.URL);
        ManualDelivery delivery = new ManualDelivery();
        UserSweep sweep = sweepOf(source, 100, ledger, complete(), delivery);
        runSweep(sweep, delivery, true);
        List<String> gone = source.ids().subList(0, 60);
        new java.util.ArrayList<>(gone).forEach(source::remove);
        step(sweep, delivery); // the walk: 60 candidates
        List<Integer> perStep = new java.util.ArrayList<>();
        for (int i = 0; i < 2; i++) { // 50 confirmed, their intents not stored yet
            int before = source.lookups;
            step(sweep, delivery);
            perStep.add(source.lookups - before);
        }
        assertEquals(List.of(25, 25), perStep);
        delivery.storeAll();
        int before = source.lookups;
        UserSweep.Step release = step(sweep, delivery);
        assertEquals(25, source.lookups - before, "25 of the 50 removals are confirmed again, and nothing else");
        assertEquals(25, removals(List.of(release)).size());
        assertEquals(25, release.confirmations());
        List<UserSweep.Step> rest = new java.util.ArrayList<>();
        int lookups = source.lookups;
        while (rest.isEmpty() || !rest.get(rest.size() - 1).completed()) {
            UserSweep.Step step = step(sweep, delivery);
            delivery.storeAll();
            assertTrue(source.lookups - lookups <= 25, "at most 25 a step: " + (source.lookups - lookups));
            lookups = source.lookups;
            rest.add(step);
        }
        assertEquals(35, removals(rest).size());
        assertEquals(120, source.lookups, "each of the 60 asked about twice");
        assertEquals(new UserSweep.RemovalSummary(60, 60, 0, 0), sweep.lastRemovals());
    }

    @Test
    void aRemovalWhoseSecondAnswerProvesNothingIsCalledOff() throws Exception {
        ListSource source = new ListSource().add(5, "user_", null);
        UserLedger ledger = UserLedger.empty(SweepHarness.URL);
        ManualDelivery delivery = new ManualDelivery();
        UserSweep sweep = sweepOf(source, 10, ledger, complete(), delivery);
        runSweep(sweep, delivery, true);
        String gone = source.ids().get(2);
        long version = ledger.version(gone);
        source.remove(gone);
        step(sweep, delivery);
        step(sweep, delivery);
        assertEquals(UserLedger.State.REMOVING, ledger.state(gone));
        source.answers.put(gone, UserLookup.inconclusive(403, "Forbidden"));
        delivery.storeAll();
        List<UserSweep.Step> rest = runSweep(sweep, delivery, true);
        assertEquals(List.of(), removals(rest));
        assertEquals(UserLedger.State.ANNOUNCED, ledger.state(gone), "announced again, as before");
        assertEquals(version, ledger.version(gone));
    }

    @Test
    void aRemovalCalledOffByTheSecondAnswerAnnouncesOrEmitsTheUser() throws Exception {
        for (boolean edited : new boolean[] {false, true}) {
            ListSource source = new ListSource().add(5, "user_", null);
            UserLedger ledger = UserLedger.empty(SweepHarness.URL);
            ManualDelivery delivery = new ManualDelivery();
            UserSweep sweep = sweepOf(source, 10, ledger, complete(), delivery);
            runSweep(sweep, delivery, true);
            CloseUser back = source.users.get(2);
            source.remove(back.id());
            step(sweep, delivery);
            step(sweep, delivery);
            assertEquals(UserLedger.State.REMOVING, ledger.state(back.id()));
            // Listed again before the removal went out: unchanged, or edited meanwhile.
            CloseUser now = edited ? ListSource.user(back.id(), V + 5, back.id()) : back;
            source.users.add(2, now);
            delivery.storeAll();
            List<UserSweep.Step> rest = runSweep(sweep, delivery, true);
            assertEquals(List.of(), removals(rest));
            assertEquals(UserLedger.State.ANNOUNCED, ledger.state(back.id()));
            assertEquals(now.updatedMicros(), ledger.version(back.id()));
            assertEquals(edited ? List.of(back.id() + "@" + (V + 5)) : List.of(),
                    changes(rest).stream().map(c -> c.user().id() + "@" + c.user().updatedMicros()).toList(),
                    edited ? "the new version is emitted" : "the topic holds it already");
        }
    }

    @Test
    void aUserBeingAddedWhoseRemovalIsCalledOffIsAddedAgainWithinTheSweep() throws Exception {
        ListSource source = new ListSource().add(5, "user_", null);
        String id = "user_late";
        UserLedger ledger = UserLedger.empty(SweepHarness.URL);
        for (String other : source.ids()) {
            ledger.announce(other, V);
        }
        // An earlier task stored the intent to add this user, then stopped before its record went out.
        ledger.intendAdd(id, V, 0);
        ManualDelivery delivery = new ManualDelivery();
        UserSweep sweep = sweepOf(source, 10, ledger, complete(), delivery);
        int guard = 0;
        while (ledger.state(id) != UserLedger.State.REMOVING) {
            step(sweep, delivery); // the walk, the walk once more for the user, its confirmation
            assertTrue(++guard < 10, "the user not listed is confirmed removed");
        }
        // It is listed again, edited, before its removal went out.
        source.users.add(ListSource.user(id, V + 7, id));
        delivery.storeAll();
        UserSweep.Step called = step(sweep, delivery);
        assertEquals(List.of(), removals(List.of(called)));
        assertEquals(UserLedger.State.ADDING, ledger.state(id), "its record may not be out: added again");
        assertEquals(V + 7, ledger.version(id));
        assertFalse(called.completed(), "the sweep waits for the new intent");
        delivery.storeAll();
        List<UserSweep.Step> rest = runSweep(sweep, delivery, true);
        assertEquals(List.of(id + "@" + (V + 7)),
                changes(rest).stream().map(c -> c.user().id() + "@" + c.user().updatedMicros()).toList(),
                "emitted by the same sweep, once its intent is stored");
        assertEquals(UserLedger.State.ANNOUNCED, ledger.state(id));
    }

    @Test
    void theOrganizationsKeptAreThoseOfTheLastSweepsList() throws Exception {
        ListSource source = new ListSource().add(6, "user_", null, "orga_a");
        source.mine = List.of("orga_a", "orga_b");
        UserLedger ledger = UserLedger.empty(SweepHarness.URL);
        ManualDelivery delivery = new ManualDelivery();
        UserSweep sweep = sweepOf(source, 10, ledger, complete(), delivery);
        runSweep(sweep, delivery, true);
        assertEquals(List.of("orga_a"), sweep.state().organizations());
        // The account moves to another organization, except one user who stays behind in the old one.
        CloseUser stayed = source.users.get(0);
        List<CloseUser> moved = new java.util.ArrayList<>();
        for (CloseUser user : source.users.subList(1, source.users.size())) {
            moved.add(ListSource.user(user.id(), V + 1, user.id(), "orga_b"));
        }
        source.users.clear();
        source.users.addAll(moved);
        source.answers.put(stayed.id(), UserLookup.found(stayed));
        List<UserSweep.Step> steps = runSweep(sweep, delivery, true);
        assertEquals(List.of("orga_b"), sweep.state().organizations(), "the last sweep's, not every one's");
        // The credential's orga_a is not borne out by this sweep's list: only orga_b counts, and the user
        // in orga_a alone has left.
        assertEquals(List.of(stayed.id() + ":" + Departures.Reason.LEFT_ORGANIZATION),
                removals(steps).stream().map(r -> r.id() + ":" + r.reason()).toList());
    }

    @Test
    void withoutOrganizationsInTheListTheCredentialsOwnJudge() throws Exception {
        ListSource source = new ListSource().add(4, "user_", null); // users listed without organizations
        source.mine = List.of("orga_a");
        ManualDelivery delivery = new ManualDelivery();
        UserSweep sweep = sweepOf(source, 10, UserLedger.empty(SweepHarness.URL), complete(), delivery);
        runSweep(sweep, delivery, true);
        assertEquals(List.of(), sweep.state().organizations());
        CloseUser left = source.users.get(1);
        source.remove(left.id());
        source.answers.put(left.id(), UserLookup.found(ListSource.user(left.id(), V, left.id(), "orga_z")));
        List<UserSweep.Step> steps = runSweep(sweep, delivery, true);
        assertEquals(List.of(left.id() + ":" + Departures.Reason.LEFT_ORGANIZATION),
                removals(steps).stream().map(r -> r.id() + ":" + r.reason()).toList());
    }

    @Test
    void aSweepGathersAtMostAHundredOrganizationsFromTheList() throws Exception {
        ListSource source = new ListSource();
        for (int i = 0; i <= 100; i++) {
            source.users.add(ListSource.user(String.format("user_%04d", i), V, "n" + i, String.format("orga_%03d", i)));
        }
        source.users.add(ListSource.user("user_mine", V, "zz", "orga_mine"));
        source.mine = List.of("orga_mine");
        ManualDelivery delivery = new ManualDelivery();
        UserSweep sweep = sweepOf(source, 1_000, UserLedger.empty(SweepHarness.URL), complete(), delivery);
        runSweep(sweep, delivery, true);
        // user_0000 leaves for another organization. The list still names 100 organizations before
        // orga_mine, the credential's, which is past the bound: the list does not bear it out, so
        // Close's 200 proves nothing and the user stays.
        CloseUser left = source.users.get(0);
        source.remove(left.id());
        source.answers.put(left.id(), UserLookup.found(ListSource.user(left.id(), V, "n0", "orga_other")));
        List<UserSweep.Step> steps = runSweep(sweep, delivery, true);
        assertEquals(List.of(), removals(steps));
        assertEquals(1, sweep.lastRemovals().candidates());
        // Under the bound (one organization fewer before orga_mine), the same answer is a departure.
        source.remove("user_0001");
        source.answers.put("user_0001", UserLookup.found(ListSource.user("user_0001", V, "n1", "orga_other")));
        steps = runSweep(sweep, delivery, true);
        assertEquals(List.of("user_0000", "user_0001"), removals(steps).stream().map(UserSweep.Removed::id).sorted()
                .toList());
    }

    @Test
    void atMostAThousandNewUsersWaitInMemory() throws Exception {
        ListSource source = new ListSource().add(1_001, "user_", null);
        ManualDelivery delivery = new ManualDelivery();
        UserSweep sweep = sweepOf(source, 1_000, UserLedger.empty(SweepHarness.URL), complete(), delivery);
        step(sweep, delivery);
        assertEquals(1_000, sweep.waiting());
        step(sweep, delivery);
        assertEquals(1_000, sweep.waiting(), "the 1001st is left to a walk once more");
        assertEquals(1_001, sweep.ledger().adding().size());
    }

    @Test
    void theWalkOnceMoreStartsOnlyWhenEveryIntentItIsForIsStored() throws Exception {
        ListSource source = new ListSource().add(1_001, "user_", null);
        ManualDelivery delivery = new ManualDelivery();
        UserSweep sweep = sweepOf(source, 1_000, UserLedger.empty(SweepHarness.URL), complete(), delivery);
        step(sweep, delivery);
        step(sweep, delivery);
        assertEquals(SweepState.Phase.RELEASE, sweep.state().phase(), "user_1000's record is not in memory");
        assertEquals(List.of("0+1000", "999+1000"), source.requests);
        // No intent is stored yet: the walk once more would meet user_1000 before its intent is, so it waits.
        for (int i = 0; i < 3; i++) {
            UserSweep.Step waiting = step(sweep, delivery);
            assertTrue(waiting.waiting(), "only waiting for the intents");
            assertFalse(waiting.pageRead());
            assertEquals(List.of(), waiting.outputs());
        }
        assertEquals(2, source.requests.size(), "no page is read while intents are not stored");
        // The first batch's intents are stored, not the second's (user_1000's): it still waits.
        delivery.storedUpTo = 1;
        UserSweep.Step released = step(sweep, delivery);
        assertEquals(1_000, changes(List.of(released)).size(), "the 1000 in memory go out");
        assertFalse(released.pageRead(), "user_1000's intent is not stored yet");
        assertEquals(2, source.requests.size());
        delivery.storeAll();
        UserSweep.Step walked = step(sweep, delivery);
        assertTrue(walked.pageRead());
        assertEquals("0+1000", source.requests.get(2), "the walk once more, from the start");
        assertEquals(List.of(), changes(List.of(walked)), "user_1000 is not on the first page");
        walked = step(sweep, delivery);
        assertEquals(List.of("user_1000"), changes(List.of(walked)).stream().map(c -> c.user().id()).toList());
        assertTrue(walked.completed());
    }

    @Test
    void missesStepBackFurtherEachTimeAndTheOverlapFollowsTheRemovals() throws Exception {
        ListSource source = new ListSource().add(400, "user_", null);
        UserSweep sweep = sweepOf(source, 40, UserLedger.empty(SweepHarness.URL), complete(), Delivery.IMMEDIATE);
        List<Integer> overlaps = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) {
            sweep.step();
            overlaps.add(sweep.overlap());
        }
        assertEquals(List.of("0+40", "39+40", "78+40", "117+40", "156+40"), source.requests);
        assertEquals(List.of(1, 1, 1, 1, 1), overlaps, "no removals: one user of overlap");
        // 100 users before the position go: the walk's anchors (users 192 to 195) are now at 92 to 95.
        new java.util.ArrayList<>(source.ids().subList(0, 100)).forEach(source::remove);
        overlaps.clear();
        for (int i = 0; i < 3; i++) {
            sweep.step();
            overlaps.add(sweep.overlap());
        }
        // Missed at 195: back by a page less the overlap (39), the overlap doubled to 2. Missed at 156:
        // back twice as far, (40 - 2) * 2 = 76, the overlap doubled to 4. Found at 80.
        assertEquals(List.of("195+40", "156+40", "80+40"), source.requests.subList(5, 8));
        assertEquals(List.of(2, 4, 4), overlaps);
        // Two users behind the position go: the newest anchor is found 2 places before where it was
        // expected, so the overlap becomes 2 * 2 + 1 = 5; then it shrinks by a quarter (at least one) a page.
        source.remove(source.ids().get(0));
        source.remove(source.ids().get(0));
        overlaps.clear();
        for (int i = 0; i < 4; i++) {
            sweep.step();
            overlaps.add(sweep.overlap());
        }
        assertEquals(List.of("116+40", "151+40", "187+40", "224+40"), source.requests.subList(8, 12));
        assertEquals(List.of(5, 4, 3, 2), overlaps);
        UserSweep.Step last = sweep.step();
        assertEquals("262+40", source.requests.get(12));
        assertTrue(last.completed());
        assertTrue(source.ids().stream().allMatch(id -> sweep.ledger().announced(id) != null),
                "every user listed is announced, none lost to the steps back");
        assertEquals(400, sweep.ledger().memberCount(), "and those removed meanwhile are the next sweep's candidates");
    }

    @Test
    void inANameOrderTheNextPageRereadsTheWholeRunOfTiedUsersAndWidensToHoldIt() throws Exception {
        ListSource source = new ListSource().add(5, "x_", null).add(12, "t_", "Tie").add(10, "y_", null);
        UserSweep sweep = inNameOrder(source, 10);
        List<UserSweep.Changed> emitted = new java.util.ArrayList<>();
        List<List<String>> anchors = new java.util.ArrayList<>();
        UserSweep.Step step;
        do {
            step = sweep.step();
            emitted.addAll(changes(List.of(step)));
            anchors.add(step.state().anchors().stream().map(SweepState.Version::id).toList());
        } while (!step.completed());
        // Page 1 ends with 5 tied users (5 to 9): the next starts at 3, the overlap (1) before user 4,
        // the user before the run, so that a removal behind the position still leaves the page starting
        // before the run. Page 2 (3 to 12) ends with 8 tied users: re-reading them and users 3 and 4
        // takes 10 places, as many as a page holds, so page 3 starts at 3 again and is as long again
        // plus one: 21. It ends the run at 23, and the next page starts two users before its end.
        assertEquals(List.of("0+10", "3+10", "3+21", "21+10"), source.requests);
        // The anchors: the last users read, and as the oldest the user just before the run, which no
        // reordering of the run can move.
        assertEquals(List.of(List.of("x_0004", "t_0007", "t_0008", "t_0009"),
                List.of("x_0004", "t_0010", "t_0011", "t_0012"),
                List.of("y_0020", "y_0021", "y_0022", "y_0023"),
                List.of()), anchors);
        assertEquals(27, emitted.size());
        assertEquals(27, emitted.stream().map(c -> c.user().id()).distinct().count(), "each user once");
    }

    /** Steps through one sweep, returning each step's anchors (their ids). */
    private static List<List<String>> anchorsOfEachStep(UserSweep sweep) throws InterruptedException {
        List<List<String>> anchors = new java.util.ArrayList<>();
        UserSweep.Step step;
        do {
            step = sweep.step();
            anchors.add(step.state().anchors().stream().map(SweepState.Version::id).toList());
        } while (!step.completed());
        return anchors;
    }

    @Test
    void theRunAnchorIsTheUserJustBeforeTheRunAndThereIsNoneWhenTheListStartsWithIt() throws Exception {
        // The run begins at the page's second user: the first is the one before it, the run anchor.
        ListSource afterOne = new ListSource().add(1, "x_", null).add(12, "t_", "Tie").add(5, "y_", null);
        List<List<String>> anchors = anchorsOfEachStep(inNameOrder(afterOne, 10));
        assertEquals(List.of("x_0000", "t_0007", "t_0008", "t_0009"), anchors.get(0));
        assertEquals(List.of("0+10", "0+21"), afterOne.requests);
        // The list starts with the run: no user comes before it, and none of the run is made one.
        ListSource atStart = new ListSource().add(12, "t_", "Tie").add(12, "y_", null);
        anchors = anchorsOfEachStep(inNameOrder(atStart, 10));
        assertEquals(List.of("t_0006", "t_0007", "t_0008", "t_0009"), anchors.get(0));
        assertEquals(List.of("0+10", "0+21", "18+10"), atStart.requests);
    }

    @Test
    void aPageWidensOnlyWhenTheRunAndItsAnchorLeaveNoRoomAndUpToClosesLargestExactly() throws Exception {
        // Page 1 ends with 7 tied users from 3 on: the next page starts at 1 and re-reads 9 users, which
        // leave a page of 10 room for one more: it keeps its length. Page 2 ends with 8 of them: it
        // re-reads 10, and page 3 is as long again plus one.
        ListSource roomForOne = new ListSource().add(3, "x_", null).add(9, "t_", "Tie").add(10, "y_", null);
        anchorsOfEachStep(inNameOrder(roomForOne, 10));
        assertEquals(List.of("0+10", "1+10", "1+21"), roomForOne.requests);
        // A page size of 999 under Close's largest page, 1,000: page 2 re-reads 999 users (the run from
        // 10 and the two before it), so page 3 is 1,000 long, Close's largest, which holds them and one more.
        ListSource largest = new ListSource().add(10, "x_", null).add(997, "t_", "Tie").add(20, "y_", null);
        largest.largest = 1_000;
        List<List<String>> anchors = anchorsOfEachStep(inNameOrder(largest, 999));
        assertEquals(List.of("0+999", "8+999", "8+1000", "1005+999"), largest.requests);
        assertEquals(List.of("x_0009", "t_1004", "t_1005", "t_1006"), anchors.get(1));
    }

    @Test
    void theWalkResumesOnTheOldestAnchorWhenTheNewerOnesLeft() throws Exception {
        ListSource source = new ListSource().add(5, "x_", null).add(5, "t_", "Tie").add(10, "y_", null);
        UserSweep sweep = inNameOrder(source, 10);
        UserSweep.Step first = sweep.step();
        assertEquals(List.of("x_0004", "t_0007", "t_0008", "t_0009"),
                first.state().anchors().stream().map(SweepState.Version::id).toList());
        // The three newest anchors leave before the next page: only the oldest, x_0004, is on it.
        List.of("t_0007", "t_0008", "t_0009").forEach(source::remove);
        UserSweep.Step second = sweep.step();
        assertEquals(List.of("0+10", "3+10"), source.requests);
        assertEquals(10, second.state().skip(), "the walk went on after x_0004 instead of stepping back");
        assertTrue(sweep.step().completed());
        assertEquals(List.of("0+10", "3+10", "10+10"), source.requests);
    }

    @Test
    void anAnchorEditedBeforeTheNextPageIsKeptAtItsNewVersionOnly() throws Exception {
        ListSource source = new ListSource().add(12, "user_", null);
        UserSweep sweep = inNameOrder(source, 4);
        assertEquals(List.of("user_0000@" + V, "user_0001@" + V, "user_0002@" + V, "user_0003@" + V),
                anchorTexts(sweep.step()));
        // user_0003, the newest anchor, is edited in place: the page at 1 finds user_0002 instead,
        // and the anchors keep user_0003 once, at the version read now.
        source.users.set(3, ListSource.user("user_0003", V + 7, "user_0003"));
        UserSweep.Step second = sweep.step();
        assertEquals(List.of("0+4", "1+4"), source.requests);
        assertEquals(List.of("user_0001@" + V, "user_0002@" + V, "user_0003@" + (V + 7), "user_0004@" + V),
                anchorTexts(second));
    }

    private static void toTheEnd(UserSweep sweep) throws InterruptedException {
        for (int guard = 0; guard < 1_000; guard++) {
            if (sweep.step().completed()) {
                return;
            }
        }
        throw new AssertionError("the sweep does not complete");
    }

    private static List<String> anchorTexts(UserSweep.Step step) {
        return step.state().anchors().stream().map(a -> a.id() + "@" + a.micros()).toList();
    }

    @Test
    void inANameOrderAPageThatStartsWithTheLastUserReadStepsBack() throws Exception {
        ListSource source = new ListSource().add(30, "user_", null);
        UserSweep sweep = inNameOrder(source, 10);
        sweep.step();
        // Two users behind the position go: the page at 7 starts with user_0009, the last user read,
        // which the server may have reordered among users sharing its name: the walk steps back.
        source.remove("user_0000");
        source.remove("user_0001");
        sweep.step();
        assertEquals(2, sweep.overlap(), "a step back doubles the overlap");
        toTheEnd(sweep);
        assertEquals(List.of("0+10", "7+10", "0+10", "6+10", "13+10", "20+10"), source.requests);
    }

    @Test
    void atTheStartOfTheListAPageThatStartsAmongTiedUsersIsTrusted() throws Exception {
        ListSource source = new ListSource().add(12, "t_", "Tie").add(12, "y_", null);
        UserSweep sweep = inNameOrder(source, 10);
        sweep.step();
        // Two of the tied users go. The next page starts at 0 again, among tied users, but nothing
        // lies before _skip=0: the walk goes on, and the anchor t_0009, found two places early, widens
        // the overlap to its bound, a quarter of the page (2).
        source.remove("t_0000");
        source.remove("t_0001");
        sweep.step();
        assertEquals(2, sweep.overlap());
        toTheEnd(sweep);
        assertEquals(List.of("0+10", "0+21", "17+10"), source.requests);
    }

    @Test
    void inCloseDefaultOrderUsersWithTheSameNameAtThePagesStartAreNoReasonToStepBack() throws Exception {
        ListSource source = new ListSource().add(30, "user_", "Tie");
        UserSweep sweep = sweepOf(source, 10, UserLedger.empty(SweepHarness.URL), complete(), Delivery.IMMEDIATE);
        toTheEnd(sweep);
        assertEquals(List.of("0+10", "9+10", "18+10", "27+10"), source.requests);
    }

    @Test
    void afterARestartTheAnchorsNameStandsInForTheRunOfTiedUsers() throws Exception {
        ListSource source = new ListSource().add(5, "x_", null).add(12, "t_", "Tie").add(10, "y_", null);
        UserLedger ledger = UserLedger.empty(SweepHarness.URL);
        UserSweep.Step first = sweepOf(source, 10, ledger, complete().inOrder(NAME_ORDER),
                Delivery.IMMEDIATE).step();
        assertEquals(3, first.state().skip());
        // The task restarts: the run it was in is not stored. Four users behind the position go, and
        // the page at 3 starts inside the run, where the anchor t_0009 is: one of the tied users may
        // lie before the page, so the walk steps back.
        List.of("x_0000", "x_0001", "x_0002", "x_0003").forEach(source::remove);
        UserSweep restarted = sweepOf(source, 10, ledger,
                SweepState.fromMap(first.state().toMap()).inOrder(NAME_ORDER), Delivery.IMMEDIATE);
        assertEquals(0, restarted.step().state().skip(), "stepped back to the start");
        assertEquals(List.of("0+10", "3+10"), source.requests);
    }

    @Test
    void inANameOrderTheOverlapFollowsRemovalsBehindThePositionToo() throws Exception {
        ListSource source = new ListSource().add(200, "user_", null);
        UserSweep sweep = inNameOrder(source, 40);
        sweep.step();
        sweep.step();
        // In a name order pages overlap by two users more than the removal part: 0, then 37, then 74.
        assertEquals(List.of("0+40", "37+40"), source.requests);
        assertEquals(1, sweep.overlap());
        // A user behind the position goes: the newest anchor is one place before where it was
        // expected, and the overlap becomes 2 * 1 + 1 = 3, then shrinks by one a page.
        source.remove(source.ids().get(0));
        List<Integer> overlaps = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            sweep.step();
            overlaps.add(sweep.overlap());
        }
        assertEquals(List.of(3, 2, 1), overlaps);
        assertEquals(List.of("0+40", "37+40", "74+40", "109+40", "145+40"), source.requests);
    }

    @Test
    void aRunOfTiedUsersLongerThanClosesLargestPageFailsTheTask() throws Exception {
        ListSource source = new ListSource().add(5, "x_", null).add(12, "t_", "Tie").add(10, "y_", null);
        source.largest = 10;
        UserSweep sweep = inNameOrder(source, 20);
        sweep.step();
        org.apache.kafka.connect.errors.ConnectException e = org.junit.jupiter.api.Assertions.assertThrows(
                org.apache.kafka.connect.errors.ConnectException.class, sweep::step);
        // Page 2 (3 to 12) ends with 8 tied users; with users 3 and 4 before them and one more, 11 places.
        assertTrue(e.getMessage().contains("at least 8 users with the same name")
                && e.getMessage().contains("takes 11 places, more than one page of 10 can hold"), e.getMessage());
        assertEquals(List.of("0+10", "3+10"), source.requests, "Close served 10 of the 20 asked for");
    }

    @Test
    void offsetsOfAnEarlierVersionWithoutAWatermarkPromiseNothing() throws Exception {
        ListSource source = new ListSource().add(5, "user_", null);
        SweepState legacy = SweepState.fromMap(Map.of("skip", 0L)).inOrder("");
        UserSweep sweep = sweepOf(source, 10, UserLedger.empty(SweepHarness.URL), legacy, Delivery.IMMEDIATE);
        assertEquals(5, changes(List.of(sweep.step())).size(), "without a watermark, every user is emitted");
    }

    @Test
    void aRestartWhileConfirmingAsksOnlyAboutTheUsersNotConfirmedYet() throws Exception {
        ListSource source = new ListSource().add(50, "user_", null);
        UserLedger ledger = UserLedger.empty(SweepHarness.URL);
        Map<Map<String, String>, Map<String, Object>> stored = new java.util.HashMap<>();
        UserSweep sweep = sweepOf(source, 100, ledger, complete(), Delivery.IMMEDIATE);
        UserSweep.Step step;
        do {
            step = sweep.step();
            step.checkpoints().forEach(c -> stored.put(c.partition(), c.offset()));
        } while (!step.completed());
        // 30 users vanish from the list, and Close's answers about them prove nothing.
        for (String id : new java.util.ArrayList<>(source.ids().subList(0, 30))) {
            source.remove(id);
            source.answers.put(id, UserLookup.inconclusive(403, "Forbidden"));
        }
        sweep.step().checkpoints().forEach(c -> stored.put(c.partition(), c.offset()));
        int before = source.lookups;
        step = sweep.step();
        step.checkpoints().forEach(c -> stored.put(c.partition(), c.offset()));
        assertEquals(25, source.lookups - before);
        // The task restarts from what it stored: the 25 answered are done with for this sweep.
        UserSweep restarted = sweepOf(source, 100, UserLedger.restore(SweepHarness.URL, stored),
                SweepState.fromMap(step.state().toMap()).inOrder(""), Delivery.IMMEDIATE);
        before = source.lookups;
        assertTrue(restarted.step().completed());
        assertEquals(5, source.lookups - before, "only the 5 not asked about yet");
        assertEquals(new UserSweep.RemovalSummary(5, 0, 0, 5), restarted.lastRemovals());
    }

    @Test
    void theOverlapGrowsToAQuarterOfAPageAtMost() throws Exception {
        ListSource source = new ListSource().add(100, "user_", null);
        UserSweep sweep = sweepOf(source, 8, UserLedger.empty(SweepHarness.URL), complete(), Delivery.IMMEDIATE);
        for (int i = 0; i < 3; i++) {
            sweep.step();
        }
        new java.util.ArrayList<>(source.ids().subList(0, 10)).forEach(source::remove);
        List<Integer> overlaps = new java.util.ArrayList<>();
        for (int i = 0; i < 2; i++) {
            sweep.step();
            overlaps.add(sweep.overlap());
        }
        assertEquals(List.of("0+8", "7+8", "14+8", "21+8", "14+8"), source.requests);
        assertEquals(List.of(2, 2), overlaps, "two misses in a row, but a page of 8 allows an overlap of 2");
    }
}
