package io.closeconnect.users;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import io.closeconnect.users.fake.FakeCloseApi;

/**
 * Drives a {@link UserSweep} against a {@link FakeCloseApi} the way the task does: every output
 * becomes a record with the source partition and offset the task gives it, followed by the ledger's
 * checkpoints and the sweep's state. It keeps every record delivered, simulates crashes that lose
 * offsets in the ways Connect can (a whole step, a suffix of records, or each source partition
 * committed to its own point), and reads the topic as a compacted table to check the invariants.
 */
final class SweepHarness {

    static final String URL = "https://close.test";

    /** A completed sweep observed from its first request to its last, in fake-clock micros. */
    record Window(long start, long end) {
    }

    enum Kind { USER, REMOVAL, TOMBSTONE, HEARTBEAT }

    /** One record the task would have produced; {@code version} is date_updated, or the last one announced. */
    record Delivered(Kind kind, String id, long version, Map<String, String> partition, Map<String, Object> offset,
                     long atMicros, Long sweepStarted) {
    }

    /** A removal announced while its user was listed through the whole sweep up to the announcement. */
    record FalseRemoval(String id, long sweepStarted, long announcedAt) {
    }

    final FakeCloseApi api;
    final int pageSize;
    private final Map<String, String> mainPartition = SweepState.partition(URL);
    private RemovalValve valve = new RemovalValve(100, 0, "");
    private UserSweep sweep;
    final List<Delivered> records = new ArrayList<>();
    final List<Window> windows = new ArrayList<>();
    /** When each sweep completed, in fake-clock micros (a sweep completed again after a crash counts once). */
    final List<Long> completions = new ArrayList<>();
    private long sweepStart = Long.MAX_VALUE;
    private Long lastCompletedSweepStart;
    int completedSweeps;
    int crashes;
    int steps;

    SweepHarness(FakeCloseApi api, int pageSize) {
        this.api = api;
        this.pageSize = pageSize;
        this.sweep = new UserSweep(api, pageSize, 0, UserLedger.empty(URL), SweepState.initial().inOrder(""), valve);
    }

    /** Uses this valve from now on (from the next restart for a running sweep, and at once for a new harness). */
    SweepHarness valve(RemovalValve newValve) {
        this.valve = newValve;
        return restartFrom(offsetsUpTo(records.size()));
    }

    /**
     * A harness over a fake with a random schedule drawn from {@code rnd}: either order, up to 150
     * users, a page size from {@code pageSizes}, and edits, renames, inserts, removals (both kinds)
     * and re-adds between requests at up to one change per new user read.
     */
    static SweepHarness randomChurn(long seed, Random rnd, List<Integer> pageSizes) {
        FakeCloseApi api = new FakeCloseApi("key", seed, true);
        if (rnd.nextBoolean()) {
            api.order(FakeCloseApi.Order.LAST_NAME_FIRST_NAME);
        }
        api.addUsers(rnd.nextInt(150));
        int pageSize = pageSizes.get(rnd.nextInt(pageSizes.size()));
        double changeRate = rnd.nextDouble() * Math.max(1, pageSize - 1) * (rnd.nextBoolean() ? 0.2 : 1.0);
        // Additions (inserts, re-adds) never outweigh removals (deletes, departures), so that the
        // list does not outgrow the walk.
        int removals = rnd.nextInt(4);
        int leaves = rnd.nextInt(2);
        int readds = rnd.nextInt(2);
        int[] weights = {1 + rnd.nextInt(5), rnd.nextInt(4), Math.max(0, removals + leaves - readds - rnd.nextInt(2)),
                removals, leaves, readds};
        api.beforeEachRequest(a -> {
            double changes = changeRate;
            while (changes > 0 && rnd.nextDouble() < changes) {
                a.randomChange(rnd, weights[0], weights[1], weights[2], weights[3], weights[4], weights[5]);
                changes -= 1;
            }
        });
        return new SweepHarness(api, pageSize);
    }

    /** Runs one step, as one poll() would. Returns true when it completed a sweep. */
    boolean step() throws InterruptedException {
        if (!sweep.inProgress()) {
            sweepStart = api.nowMicros();
        }
        Long started = sweep.state().sweepStarted();
        UserSweep.Step step = sweep.step();
        steps++;
        Long inSweep = started != null ? started : step.state().sweepStarted();
        long now = api.nowMicros();
        for (UserSweep.Output output : step.outputs()) {
            if (output instanceof UserSweep.Changed changed) {
                records.add(new Delivered(Kind.USER, changed.user().id(), changed.user().updatedMicros(),
                        changed.partition(), changed.offset(), now, inSweep));
            } else if (output instanceof UserSweep.Removed removed) {
                records.add(new Delivered(Kind.REMOVAL, removed.id(), removed.lastVersion(), removed.partition(),
                        removed.offset(), now, inSweep));
                records.add(new Delivered(Kind.TOMBSTONE, removed.id(), removed.lastVersion(), removed.partition(),
                        removed.offset(), now, inSweep));
            }
        }
        for (UserLedger.Checkpoint checkpoint : step.checkpoints()) {
            records.add(new Delivered(Kind.HEARTBEAT, null, 0, checkpoint.partition(), checkpoint.offset(), now, inSweep));
        }
        records.add(new Delivered(Kind.HEARTBEAT, null, 0, mainPartition, step.state().toMap(), now, inSweep));
        if (step.completed()) {
            completedSweeps++;
            // A sweep whose end a crash made the task do again completes once, at its last end.
            if (!completions.isEmpty() && inSweep != null && inSweep.equals(lastCompletedSweepStart)) {
                completions.set(completions.size() - 1, now);
            } else {
                completions.add(now);
            }
            lastCompletedSweepStart = inSweep;
            if (sweepStart != Long.MAX_VALUE) {
                windows.add(new Window(sweepStart, now));
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
     * Restarts the task after a crash in at-least-once mode that lost the offsets of the last
     * {@code lostRecords} records (heartbeats included): they were delivered, but their offsets were
     * not committed. Returns the restored state.
     */
    SweepState crash(int lostRecords) {
        return crashTo(Math.max(0, records.size() - lostRecords), null);
    }

    /** A crash after which the task restarts with {@code close.users.order.by} set to {@code newOrderBy}. */
    SweepState crash(int lostRecords, String newOrderBy) {
        return crashTo(Math.max(0, records.size() - lostRecords), newOrderBy);
    }

    /**
     * A crash in at-least-once mode where each source partition's offsets were committed up to a
     * point of their own among the last {@code window} records, as Connect does when records of
     * different partitions are acknowledged in another order than they were sent.
     */
    SweepState crashLagging(Random rnd, int window) {
        int size = records.size();
        int from = Math.max(0, size - window);
        Map<Map<String, String>, Integer> cut = new HashMap<>();
        for (int i = from; i < size; i++) {
            cut.putIfAbsent(records.get(i).partition(), from + rnd.nextInt(size - from + 1));
        }
        Map<Map<String, String>, Map<String, Object>> offsets = new HashMap<>();
        for (int i = 0; i < size; i++) {
            Delivered record = records.get(i);
            int upTo = cut.getOrDefault(record.partition(), size);
            if (i < upTo) {
                offsets.put(record.partition(), record.offset());
            }
        }
        crashes++;
        return restartWith(offsets, null);
    }

    private SweepState crashTo(int upTo, String newOrderBy) {
        crashes++;
        return restartWith(offsetsUpTo(upTo), newOrderBy);
    }

    private Map<Map<String, String>, Map<String, Object>> offsetsUpTo(int upTo) {
        Map<Map<String, String>, Map<String, Object>> offsets = new HashMap<>();
        for (int i = 0; i < upTo; i++) {
            offsets.put(records.get(i).partition(), records.get(i).offset());
        }
        return offsets;
    }

    private SweepHarness restartFrom(Map<Map<String, String>, Map<String, Object>> offsets) {
        restartWith(offsets, null);
        return this;
    }

    private SweepState restartWith(Map<Map<String, String>, Map<String, Object>> offsets, String order) {
        // Offsets go through Connect's storage as maps of strings and longs.
        Map<Map<String, String>, Map<String, Object>> stored = new HashMap<>();
        offsets.forEach((partition, offset) -> stored.put(partition, new LinkedHashMap<>(offset)));
        SweepState state = SweepState.fromMap(stored.get(mainPartition));
        String orderBy = order != null ? order : state.orderBy() == null ? "" : state.orderBy();
        UserLedger ledger = UserLedger.restore(URL, stored);
        sweep = new UserSweep(api, pageSize, 0, ledger, state.inOrder(orderBy), valve);
        sweepStart = Long.MAX_VALUE;
        return sweep.state();
    }

    /** Restarts the task from exactly what was delivered, as exactly-once mode does after any failure. */
    SweepState restartExactly() {
        crashes++;
        return restartWith(offsetsUpTo(records.size()), null);
    }

    UserSweep sweep() {
        return sweep;
    }

    // ---------------------------------------------------------------- invariants

    /** The user records, as id@version. */
    List<SweepState.Version> emitted() {
        List<SweepState.Version> versions = new ArrayList<>();
        for (Delivered record : records) {
            if (record.kind() == Kind.USER) {
                versions.add(new SweepState.Version(record.id(), record.version()));
            }
        }
        return versions;
    }

    Set<SweepState.Version> emittedSet() {
        return new HashSet<>(emitted());
    }

    /** The topic read as a compacted table: the latest value per key, tombstones and removal records delete. */
    Map<String, Long> table() {
        Map<String, Long> table = new HashMap<>();
        for (Delivered record : records) {
            switch (record.kind()) {
                case USER -> table.put(record.id(), record.version());
                case REMOVAL, TOMBSTONE -> table.remove(record.id());
                default -> { }
            }
        }
        return table;
    }

    /** Differences between the topic read as a table and Close's list: missing, stale and extra users. */
    List<String> tableMismatches() {
        Map<String, Long> table = table();
        Map<String, Long> live = api.currentVersions();
        List<String> problems = new ArrayList<>();
        live.forEach((id, micros) -> {
            Long there = table.get(id);
            if (there == null) {
                problems.add("missing " + id + "@" + Timestamps.format(micros));
            } else if (!there.equals(micros)) {
                problems.add("stale " + id + "@" + Timestamps.format(there) + " instead of " + Timestamps.format(micros));
            }
        });
        table.forEach((id, micros) -> {
            if (!live.containsKey(id)) {
                problems.add("not removed " + id);
            }
        });
        return problems;
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
                if (life.startMicros <= window.start() && window.end() <= life.endMicros) {
                    if (!seen.contains(new SweepState.Version(life.id, life.micros))) {
                        missing.add(life.id + "@" + Timestamps.format(life.micros));
                    }
                    break;
                }
            }
        }
        return missing;
    }

    /**
     * Records that told downstream nothing new: a user record of the version the table already
     * holds, or a removal of a user the table does not hold.
     */
    int duplicates() {
        Map<String, Long> table = new HashMap<>();
        int duplicates = 0;
        for (Delivered record : records) {
            switch (record.kind()) {
                case USER -> {
                    Long before = table.put(record.id(), record.version());
                    if (before != null && before == record.version()) {
                        duplicates++;
                    }
                }
                case REMOVAL -> {
                    if (!table.containsKey(record.id())) {
                        duplicates++;
                    }
                }
                case TOMBSTONE -> table.remove(record.id());
                default -> { }
            }
        }
        return duplicates;
    }

    /** Removals announced for a user who was listed from the start of that sweep to the announcement. */
    List<FalseRemoval> falseRemovals() {
        List<FakeCloseApi.Membership> memberships = api.memberships();
        List<FalseRemoval> wrong = new ArrayList<>();
        for (Delivered record : records) {
            if (record.kind() != Kind.REMOVAL) {
                continue;
            }
            long from = record.sweepStarted() == null ? record.atMicros() : record.sweepStarted();
            for (FakeCloseApi.Membership membership : memberships) {
                if (membership.id.equals(record.id()) && membership.fromMicros <= from
                        && membership.toMicros > record.atMicros()) {
                    wrong.add(new FalseRemoval(record.id(), from, record.atMicros()));
                }
            }
        }
        return wrong;
    }

    /**
     * Removals not announced within {@code sweeps} completed sweeps: for each time a user stopped
     * being listed and stayed unlisted until the end of the {@code sweeps}-th sweep completing after
     * that moment, a removal of it must have been announced in between. Users never announced need
     * none.
     */
    List<String> lateRemovals(int sweeps) {
        List<String> late = new ArrayList<>();
        List<FakeCloseApi.Membership> memberships = api.memberships();
        for (FakeCloseApi.Membership membership : memberships) {
            if (membership.toMicros == Long.MAX_VALUE) {
                continue;
            }
            long gone = membership.toMicros;
            int after = 0;
            Long deadline = null;
            for (long completion : completions) {
                if (completion > gone && ++after == sweeps) {
                    deadline = completion;
                    break;
                }
            }
            if (deadline == null || listedAgainBefore(memberships, membership.id, gone, deadline)) {
                continue;
            }
            boolean inTable = false;
            boolean removed = false;
            for (Delivered record : records) {
                if (!membership.id.equals(record.id())) {
                    continue;
                }
                if (record.atMicros() <= gone) {
                    inTable = record.kind() == Kind.USER || (inTable && record.kind() == Kind.HEARTBEAT);
                }
                if (record.kind() == Kind.REMOVAL && record.atMicros() > gone && record.atMicros() <= deadline) {
                    removed = true;
                }
            }
            if (inTable && !removed) {
                late.add(membership.id + " unlisted at " + Timestamps.format(gone));
            }
        }
        return late;
    }

    private static boolean listedAgainBefore(List<FakeCloseApi.Membership> memberships, String id, long gone,
                                             long deadline) {
        for (FakeCloseApi.Membership other : memberships) {
            if (other.id.equals(id) && other.fromMicros >= gone && other.fromMicros <= deadline) {
                return true;
            }
        }
        return false;
    }
}
