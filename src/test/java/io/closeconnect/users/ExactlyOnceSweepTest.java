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
     * Randomized churn (both orders, renames, inserts, deletes) with restarts from exact offsets
     * after the snapshot. A restart can lose the walk's anchors, and the walk then starts over from
     * the top of the list; what this sweep emitted before the restart must still not come again.
     */
    @Test
    void restartsFromExactOffsetsAfterTheSnapshotNeverReEmitAVersion() throws Exception {
        int restarts = 0;
        for (long seed = 0; seed < 400; seed++) {
            Random rnd = new Random(seed);
            FakeCloseApi api = new FakeCloseApi("key", seed, true);
            if (rnd.nextBoolean()) {
                api.order(FakeCloseApi.Order.LAST_NAME_FIRST_NAME);
            }
            api.addUsers(rnd.nextInt(150));
            int pageSize = List.of(2, 3, 5, 10, 25).get(rnd.nextInt(5));
            double changeRate = rnd.nextDouble() * Math.max(1, pageSize - 1) * (rnd.nextBoolean() ? 0.2 : 1.0);
            int removals = rnd.nextInt(4);
            int[] weights = {1 + rnd.nextInt(5), rnd.nextInt(4), Math.max(0, removals - rnd.nextInt(2)), removals};
            api.beforeEachRequest(a -> {
                double changes = changeRate;
                while (changes > 0 && rnd.nextDouble() < changes) {
                    a.randomChange(rnd, weights[0], weights[1], weights[2], weights[3]);
                    changes -= 1;
                }
            });
            SweepHarness harness = new SweepHarness(api, pageSize);
            harness.runSweeps(1);
            int steps = 0;
            while (harness.completedSweeps < 6 && ++steps < 20_000) {
                harness.step();
                if (rnd.nextDouble() < 0.05) {
                    SweepState restored = harness.crash(0);
                    restarts++;
                    if (restored.watermark() == null) {
                        // The last delivered record is still from the snapshot: a known limit, see README.
                        restarts--;
                        break;
                    }
                }
            }
            api.beforeEachRequest(a -> { });
            harness.runSweeps(2);
            String context = "seed " + seed + ", page size " + pageSize + ", restarts " + harness.crashes;
            assertEquals(0, harness.duplicates(), context);
            assertEquals(List.of(), harness.missingCurrentVersions(), context);
            assertEquals(List.of(), harness.missingStableVersions(), context);
        }
        assertTrue(restarts > 500, "restarts exercised: " + restarts);
    }
}
