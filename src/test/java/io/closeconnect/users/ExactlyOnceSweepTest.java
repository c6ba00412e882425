package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;

/**
 * The sweep under exactly-once delivery. With {@code transaction.boundary=poll} the worker commits
 * each poll's records together with the offset of its last record, so a restart resumes from
 * exactly the state after the last delivered record: {@link SweepHarness#crash(int) crash(0)}.
 * Such restarts must not deliver any version twice.
 */
class ExactlyOnceSweepTest {

    /**
     * Randomized churn (both orders, renames, inserts, removals, re-adds) with restarts from exact
     * offsets at any step, the snapshot included: the ledger says exactly what was delivered, so no
     * version and no removal is delivered twice, and nothing is missing.
     */
    @Test
    void restartsFromExactOffsetsNeverRepeatAVersionOrARemoval() throws Exception {
        int restarts = 0;
        int removals = 0;
        for (long seed = 0; seed < 400; seed++) {
            Random rnd = new Random(seed);
            SweepHarness harness = SweepHarness.randomChurn(seed, rnd, List.of(2, 3, 5, 10, 25)).exactlyOnce();
            FakeCloseApi api = harness.api;
            int steps = 0;
            while (harness.completedSweeps < 6 && ++steps < 20_000) {
                harness.step();
                if (rnd.nextDouble() < 0.05) {
                    harness.restartExactly();
                    restarts++;
                }
            }
            api.beforeEachRequest(a -> { });
            harness.runSweeps(2);
            String context = "seed " + seed + ", page size " + harness.pageSize + ", restarts " + harness.crashes;
            assertEquals(0, harness.duplicates(), context);
            assertEquals(List.of(), harness.tableMismatches(), context);
            assertEquals(List.of(), harness.missingStableVersions(), context);
            assertEquals(List.of(), harness.falseRemovals(), context);
            removals += (int) harness.records.stream().filter(r -> r.kind() == SweepHarness.Kind.REMOVAL).count();
        }
        assertTrue(restarts > 1_000, "restarts exercised: " + restarts);
        assertTrue(removals > 1_000, "removals exercised: " + removals);
    }
}
