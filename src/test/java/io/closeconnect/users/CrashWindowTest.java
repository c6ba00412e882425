package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;

/**
 * A crash in at-least-once mode delivers records whose offsets it loses. Changes of membership
 * are written as intents first, and their records wait until the intent is committed, so the
 * ledger can lose a record's own offset but never the fact that the topic may hold the user, or
 * may have dropped it.
 */
class CrashWindowTest {

    private static SweepHarness committedSnapshot(FakeCloseApi api) throws InterruptedException {
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(1);
        harness.commitAll();
        return harness.commits(SweepHarness.Commits.MANUAL, new Random(0));
    }

    private static void stepUntil(SweepHarness harness, java.util.function.BooleanSupplier done) throws InterruptedException {
        for (int i = 0; i < 1_000 && !done.getAsBoolean(); i++) {
            harness.step();
        }
        assertTrue(done.getAsBoolean(), "the condition came within 1,000 steps");
    }

    @Test
    void aNewUsersRecordWaitsForItsIntentAndItsDepartureIsNotMissedAfterACrash() throws Exception {
        FakeCloseApi api = new FakeCloseApi("key", 31, true);
        api.addUsers(25);
        SweepHarness harness = committedSnapshot(api);
        String newcomer = api.insertAt(12);
        for (int i = 0; i < 10; i++) {
            harness.step();
        }
        assertFalse(harness.table().containsKey(newcomer), "not emitted while its intent is not committed");
        assertEquals(UserLedger.State.ADDING, harness.sweep().ledger().state(newcomer));
        assertEquals(1, harness.completedSweeps, "the sweep waits for it");

        harness.commitAll(); // the worker commits: the intent is stored
        stepUntil(harness, () -> harness.table().containsKey(newcomer));
        // The newcomer's record is delivered; the worker dies before committing its offsets.
        harness.crashNow();
        assertEquals(UserLedger.State.ADDING, harness.sweep().ledger().state(newcomer),
                "the ledger lost the announcement but kept the intent");
        api.delete(newcomer);
        harness.commits(SweepHarness.Commits.EVERY_BATCH, new Random(0));
        harness.runSweeps(2);
        assertFalse(harness.table().containsKey(newcomer), "its departure is announced");
        assertEquals(List.of(), harness.tableMismatches());
        assertEquals(List.of(), harness.falseRemovals());
    }

    @Test
    void aRemovalWaitsForItsIntentAndAUserBackAfterACrashIsNotLeftTombstoned() throws Exception {
        FakeCloseApi api = new FakeCloseApi("key", 32, true);
        List<String> ids = api.addUsers(25);
        SweepHarness harness = committedSnapshot(api);
        String leaver = ids.get(7);
        long version = api.currentVersions().get(leaver);
        api.delete(leaver);
        for (int i = 0; i < 12; i++) {
            harness.step();
        }
        assertTrue(harness.table().containsKey(leaver), "no removal while its intent is not committed");
        assertEquals(UserLedger.State.REMOVING, harness.sweep().ledger().state(leaver));
        assertEquals(0, harness.completedSweeps - 1, "the sweep waits for the removal");

        harness.commitAll();
        stepUntil(harness, () -> !harness.table().containsKey(leaver));
        harness.crashNow(); // the removal was delivered, its final offset lost
        assertEquals(UserLedger.State.REMOVING, harness.sweep().ledger().state(leaver));
        api.readd(leaver, 3); // back, unchanged, before the restarted task looks again
        harness.commits(SweepHarness.Commits.EVERY_BATCH, new Random(0));
        harness.runSweeps(2);
        assertEquals(version, harness.table().get(leaver), "listed again, so emitted again");
        assertEquals(List.of(), harness.tableMismatches());
    }

    @Test
    void aRemovalIsConfirmedAgainBeforeItIsAnnounced() throws Exception {
        FakeCloseApi api = new FakeCloseApi("key", 33, true);
        List<String> ids = api.addUsers(25);
        SweepHarness harness = committedSnapshot(api);
        String leaver = ids.get(20);
        api.delete(leaver);
        stepUntil(harness, () -> harness.sweep().ledger().state(leaver) == UserLedger.State.REMOVING);
        api.readd(leaver, 0); // back while the removal waited
        harness.commitAll();
        harness.commits(SweepHarness.Commits.EVERY_BATCH, new Random(0));
        harness.runSweeps(2);
        assertTrue(harness.records.stream().noneMatch(r -> r.kind() == SweepHarness.Kind.REMOVAL),
                "the second confirmation found the user back");
        assertEquals(List.of(), harness.tableMismatches());
    }
}
