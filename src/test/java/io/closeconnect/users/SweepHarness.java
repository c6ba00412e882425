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
 * checkpoints and the sweep's state, and each step's records are one poll batch. It keeps every
 * record delivered and models Connect's offset commits: by default the worker commits after every
 * batch; {@link #commits} makes it commit now and then, or commit each source partition to a point
 * of its own (records of different partitions acknowledged out of order). The sweep's
 * {@link Delivery} is told exactly what is committed. A crash delivers every record but restarts
 * from the committed offsets only. It reads the topic as a compacted table to check the invariants.
 */
final class SweepHarness {

    static final String URL = "https://close.test";

    /** A completed sweep observed from its first request to its last, in fake-clock micros. */
    record Window(long start, long end) {
    }

    enum Kind { USER, REMOVAL, TOMBSTONE, HEARTBEAT }

    /** One record the task would have produced; {@code version} is date_updated, or the last one announced. */
    record Delivered(Kind kind, String id, long version, Map<String, String> partition, Map<String, Object> offset,
                     long atMicros, Long sweepStarted, long batch) {
        /** The partition's shard, or "" for the sweep's own partition: cheaper to hash than the map. */
        String partitionKey() {
            return partition.getOrDefault(UserLedger.PARTITION_SHARD, "");
        }
    }

    /** When the modelled worker commits offsets. */
    enum Commits {
        /** After every batch, everything delivered so far. */
        EVERY_BATCH,
        /** Now and then (after a third of the batches), everything delivered so far. */
        SOMETIMES,
        /** Now and then, each source partition up to a point of its own among what is delivered. */
        PARTITIONS_APART,
        /** Only when the test calls {@link #commitAll()}. */
        MANUAL
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
    private Commits commits = Commits.EVERY_BATCH;
    private Random commitRandom = new Random(0);
    /** Per source partition (by {@link Delivered#partitionKey()}), the index of its last record whose offset is committed. */
    private final Map<String, Integer> committedAt = new HashMap<>();
    /** Every record before this index is committed. */
    private int firstUncommitted;
    /** The last batch whose records all have their offsets committed. */
    private long storedBatch;
    /** Whether the modelled worker runs exactly-once with the connector requiring it: batches commit whole. */
    private boolean exactlyOnce;
    private final Delivery delivery = new Delivery() {
        @Override
        public long nextBatch() {
            return steps + 1;
        }

        @Override
        public boolean stored(long batch) {
            return exactlyOnce || batch <= storedBatch;
        }
    };

    SweepHarness(FakeCloseApi api, int pageSize) {
        this.api = api;
        this.pageSize = pageSize;
        this.sweep = new UserSweep(api, pageSize, 0, UserLedger.empty(URL), SweepState.initial().inOrder(api.orderBy()),
                valve, delivery);
    }

    /** Uses this valve from now on: the task restarts with it, from what is committed. */
    SweepHarness valve(RemovalValve newValve) {
        this.valve = newValve;
        restartFromCommitted(null);
        return this;
    }

    /**
     * An exactly-once worker with {@code exactly.once.support=required}: every batch commits with its
     * offsets as one transaction, so membership changes need not wait; crash with {@link #restartExactly()}.
     */
    SweepHarness exactlyOnce() {
        this.exactlyOnce = true;
        return this;
    }

    /** Commits offsets this way from now on. */
    SweepHarness commits(Commits how, Random rnd) {
        this.commits = how;
        this.commitRandom = rnd;
        return this;
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
        long batch = steps;
        Long inSweep = started != null ? started : step.state().sweepStarted();
        long now = api.nowMicros();
        for (UserSweep.Output output : step.outputs()) {
            if (output instanceof UserSweep.Changed changed) {
                records.add(new Delivered(Kind.USER, changed.user().id(), changed.user().updatedMicros(),
                        changed.partition(), changed.offset(), now, inSweep, batch));
            } else if (output instanceof UserSweep.Removed removed) {
                records.add(new Delivered(Kind.REMOVAL, removed.id(), removed.lastVersion(), removed.partition(),
                        removed.offset(), now, inSweep, batch));
                records.add(new Delivered(Kind.TOMBSTONE, removed.id(), removed.lastVersion(), removed.partition(),
                        removed.offset(), now, inSweep, batch));
            }
        }
        for (UserLedger.Checkpoint checkpoint : step.checkpoints()) {
            records.add(new Delivered(Kind.HEARTBEAT, null, 0, checkpoint.partition(), checkpoint.offset(), now, inSweep,
                    batch));
        }
        records.add(new Delivered(Kind.HEARTBEAT, null, 0, mainPartition, step.state().toMap(), now, inSweep, batch));
        switch (commits) {
            case EVERY_BATCH -> commitUpTo(records.size());
            case SOMETIMES -> {
                if (commitRandom.nextInt(3) == 0) {
                    commitUpTo(records.size());
                }
            }
            case PARTITIONS_APART -> {
                if (commitRandom.nextInt(3) == 0) {
                    commitApart(commitRandom, records.size());
                }
            }
            case MANUAL -> { }
        }
        if (step.completed()) {
            completedSweeps++;
            // A sweep whose end a crash made the task do again completes once, at its last end; a
            // crash that lost the offsets back into an older sweep makes the task end that sweep
            // again, which is no new sweep either.
            boolean replay = inSweep != null && lastCompletedSweepStart != null && inSweep < lastCompletedSweepStart;
            if (!completions.isEmpty() && inSweep != null && inSweep.equals(lastCompletedSweepStart)) {
                completions.set(completions.size() - 1, now);
            } else if (!replay) {
                completions.add(now);
                lastCompletedSweepStart = inSweep;
            }
            if (sweepStart != Long.MAX_VALUE && !replay) {
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

    /** The worker commits the offsets of everything delivered so far. */
    void commitAll() {
        commitUpTo(records.size());
    }

    /** Commits the offsets of every record before index {@code upTo}. */
    private void commitUpTo(int upTo) {
        for (int i = firstUncommitted; i < upTo; i++) {
            committedAt.merge(records.get(i).partitionKey(), i, Math::max);
        }
        updateStored();
    }

    /**
     * Commits each source partition up to a point of its own, as a worker does when the records of
     * one partition are acknowledged and those of another are not yet: among the records not
     * committed yet, a random prefix of each partition's.
     */
    private void commitApart(Random rnd, int size) {
        Map<String, List<Integer>> open = new HashMap<>();
        for (int i = firstUncommitted; i < size; i++) {
            String partition = records.get(i).partitionKey();
            if (i > committedAt.getOrDefault(partition, -1)) {
                open.computeIfAbsent(partition, p -> new ArrayList<>()).add(i);
            }
        }
        open.forEach((partition, indexes) -> {
            int take = rnd.nextInt(indexes.size() + 1);
            if (take > 0) {
                committedAt.merge(partition, indexes.get(take - 1), Math::max);
            }
        });
        updateStored();
    }

    /** The last batch whose every record is committed (an offset commits its partition's earlier records too). */
    private void updateStored() {
        while (firstUncommitted < records.size()
                && firstUncommitted <= committedAt.getOrDefault(records.get(firstUncommitted).partitionKey(), -1)) {
            firstUncommitted++;
        }
        long stored = firstUncommitted == records.size() ? steps : records.get(firstUncommitted).batch() - 1;
        storedBatch = Math.max(storedBatch, stored);
    }

    /**
     * A crash in at-least-once mode: every record was delivered, but only the offsets committed so
     * far are stored; besides, the offsets of every record but the last {@code lostRecords} had been
     * committed just before. The task restarts from what is committed. Returns the restored state.
     */
    SweepState crash(int lostRecords) {
        return crash(lostRecords, null);
    }

    /** A crash after which the task restarts with {@code close.users.order.by} set to {@code newOrderBy}. */
    SweepState crash(int lostRecords, String newOrderBy) {
        commitUpTo(Math.max(0, records.size() - lostRecords));
        crashes++;
        return restartFromCommitted(newOrderBy);
    }

    /**
     * A crash in at-least-once mode after each source partition was committed to a point of its own
     * among the last {@code window} records.
     */
    SweepState crashLagging(Random rnd, int window) {
        commitApart(rnd, records.size());
        crashes++;
        return restartFromCommitted(null);
    }

    /** A crash that loses whatever was not committed yet, under the current commit model. */
    SweepState crashNow() {
        crashes++;
        return restartFromCommitted(null);
    }

    /** Restarts the task from exactly what was delivered, as exactly-once mode does after any failure. */
    SweepState restartExactly() {
        commitUpTo(records.size());
        crashes++;
        return restartFromCommitted(null);
    }

    private SweepState restartFromCommitted(String order) {
        // Offsets go through Connect's storage as maps of strings and longs.
        Map<Map<String, String>, Map<String, Object>> stored = new HashMap<>();
        committedAt.forEach((partition, index) -> stored.put(records.get(index).partition(),
                new LinkedHashMap<>(records.get(index).offset())));
        SweepState state = SweepState.fromMap(stored.get(mainPartition));
        // The task restarts with its configuration: the order the list is read in.
        String orderBy = order != null ? order : api.orderBy();
        UserLedger ledger = UserLedger.restore(URL, stored);
        // Whatever was restored is stored for good; batches count on. The offsets of the dead task's
        // records that were not committed are gone: no later commit can store them.
        storedBatch = steps;
        firstUncommitted = records.size();
        sweep = new UserSweep(api, pageSize, 0, ledger, state.inOrder(orderBy), valve, delivery);
        sweepStart = Long.MAX_VALUE;
        return sweep.state();
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
