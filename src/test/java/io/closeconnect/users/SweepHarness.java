package io.closeconnect.users;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import io.closeconnect.users.fake.FakeCloseApi;

/**
 * Drives a {@link UserSweep} against a {@link FakeCloseApi} the way the task does, records what it
 * emits with the offset each record carries, simulates crashes, and checks the sync invariants.
 */
final class SweepHarness {

    /** A completed sweep observed from its first request to its last, in fake-clock micros. */
    record Window(long start, long end) {
    }

    final FakeCloseApi api;
    final int pageSize;
    private UserSweep sweep;
    final List<SweepState.Version> emitted = new ArrayList<>();
    private final List<SweepState> emittedStates = new ArrayList<>();
    final List<Window> windows = new ArrayList<>();
    private long sweepStart = Long.MAX_VALUE;
    int completedSweeps;
    int crashes;

    SweepHarness(FakeCloseApi api, int pageSize) {
        this.api = api;
        this.pageSize = pageSize;
        this.sweep = new UserSweep(api, pageSize, 0, SweepState.initial().inOrder(""));
    }

    /**
     * A harness over a fake with a random schedule drawn from {@code rnd}: either order, up to 150
     * users, a page size from {@code pageSizes}, and edits, renames, inserts and removals between
     * page requests at up to one change per new user read (far more churn than a real account
     * sees, but not so much that the list outgrows the walk).
     */
    static SweepHarness randomChurn(long seed, Random rnd, List<Integer> pageSizes) {
        FakeCloseApi api = new FakeCloseApi("key", seed, true);
        if (rnd.nextBoolean()) {
            api.order(FakeCloseApi.Order.LAST_NAME_FIRST_NAME);
        }
        api.addUsers(rnd.nextInt(150));
        int pageSize = pageSizes.get(rnd.nextInt(pageSizes.size()));
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
        return new SweepHarness(api, pageSize);
    }

    /** Reads one page, as one poll() would. Returns true when it completed a sweep. */
    boolean step() throws InterruptedException {
        if (!sweep.inProgress()) {
            sweepStart = api.nowMicros();
        }
        UserSweep.Step step = sweep.step();
        for (UserSweep.Emit emit : step.emits()) {
            emitted.add(new SweepState.Version(emit.user().id(), emit.user().updatedMicros()));
            emittedStates.add(emit.stateAfter());
        }
        if (step.completed()) {
            completedSweeps++;
            if (sweepStart != Long.MAX_VALUE) {
                windows.add(new Window(sweepStart, api.nowMicros()));
            }
            sweepStart = Long.MAX_VALUE;
        }
        return step.completed();
    }

    void runSweeps(int count) throws InterruptedException {
        int target = completedSweeps + count;
        int guard = 0;
        while (completedSweeps < target) {
            step();
            if (++guard > 1_000_000) {
                throw new AssertionError("the sweep does not complete");
            }
        }
    }

    /**
     * Restarts the task from the offset of the record {@code lostRecords} before the last one, as
     * after a crash with that many records delivered but their offsets not yet committed. Returns
     * the restored state.
     */
    SweepState crash(int lostRecords) {
        return crash(lostRecords, null);
    }

    /** A crash after which the task restarts with {@code close.users.order.by} set to {@code newOrderBy}. */
    SweepState crash(int lostRecords, String newOrderBy) {
        int index = emittedStates.size() - 1 - lostRecords;
        SweepState committed = index >= 0 ? emittedStates.get(index) : SweepState.initial();
        // The offset goes through Connect's storage as a map of strings and longs.
        SweepState restored = SweepState.fromMap(committed.toMap());
        if (newOrderBy != null) {
            restored = restored.inOrder(newOrderBy);
        }
        sweep = new UserSweep(api, pageSize, 0, restored);
        sweepStart = Long.MAX_VALUE;
        crashes++;
        return restored;
    }

    UserSweep sweep() {
        return sweep;
    }

    // ---------------------------------------------------------------- invariants

    Set<SweepState.Version> emittedSet() {
        return new HashSet<>(emitted);
    }

    /** (a) The current version of every live user has been emitted. */
    List<String> missingCurrentVersions() {
        Set<SweepState.Version> seen = emittedSet();
        List<String> missing = new ArrayList<>();
        api.currentVersions().forEach((id, micros) -> {
            if (!seen.contains(new SweepState.Version(id, micros))) {
                missing.add(id + "@" + Timestamps.format(micros));
            }
        });
        return missing;
    }

    /** (a) Every version that stayed current through one whole observed sweep has been emitted. */
    List<String> missingStableVersions() {
        Set<SweepState.Version> seen = emittedSet();
        List<String> missing = new ArrayList<>();
        for (FakeCloseApi.VersionLife life : api.history()) {
            for (Window window : windows) {
                if (life.micros <= window.start() && window.end() <= life.endMicros) {
                    if (!seen.contains(new SweepState.Version(life.id, life.micros))) {
                        missing.add(life.id + "@" + Timestamps.format(life.micros));
                    }
                    break;
                }
            }
        }
        return missing;
    }

    /** (e) Records whose (id, date_updated) was emitted before. */
    int duplicates() {
        Map<SweepState.Version, Integer> counts = new HashMap<>();
        int duplicates = 0;
        for (SweepState.Version version : emitted) {
            if (counts.merge(version, 1, Integer::sum) > 1) {
                duplicates++;
            }
        }
        return duplicates;
    }
}
