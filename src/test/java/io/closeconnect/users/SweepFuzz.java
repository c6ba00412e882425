package io.closeconnect.users;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import io.closeconnect.users.fake.FakeCloseApi;

/**
 * Randomized and adversarial schedules against the sweep, in four families, from fixed seeds:
 *
 * <ul>
 *   <li>{@code churn}: edits, renames, inserts, removals (404 and departures), re-adds, in either
 *       order, pages of 1 to 25, and crashes of every kind Connect can have: at-least-once, where the
 *       worker commits now and then and a crash loses every offset since (records delivered), also
 *       with each source partition committed to a point of its own; or exactly-once, where a batch
 *       and its offsets commit together;</li>
 *   <li>{@code anchors}: attacks on the users the walk anchors on, right between two requests:
 *       removed, edited, moved out, removed and listed again further down (a jump ahead), users
 *       just behind them removed or inserted;</li>
 *   <li>{@code ties}: name order where most users share a name with others and the server returns
 *       every tie in a new order on each request, pages of 2 to 6;</li>
 *   <li>{@code readds}: removed users listed again unchanged (same id, same date_updated) at new
 *       positions, in either order.</li>
 * </ul>
 *
 * Each schedule runs five sweeps under changes, then two with none, and counts: users whose
 * latest version is not in the topic read as a table (losses), removals of users listed through
 * the sweep (false removals), removals announced later than two sweeps, records that told
 * downstream nothing new (duplicates) when no offset was lost, and versions that were current
 * through a whole sweep but never emitted (a user passed by a walk and changed before the next).
 *
 * <p>{@code SweepFuzzTest} runs a few thousand schedules in every build; {@code mvn -B -Pfuzz
 * verify} runs {@link #main} with 20,000 per family and prints the table.
 */
final class SweepFuzz {

    enum Family { CHURN, ANCHORS, TIES, READDS }

    /** How the modelled worker commits and crashes. */
    enum Crashes { NONE, AT_LEAST_ONCE, PARTITIONS_APART, EXACTLY_ONCE }

    /** The counts of one family. */
    static final class Tally {
        final Family family;
        int schedules;
        int schedulesWithLoss;
        int lostUsers;
        int falseRemovals;
        int lateRemovals;
        int lateRemovalsApart;
        int duplicatesWithoutLoss;
        int duplicatesAfterLostOffsets;
        int missedPassingVersions;
        long records;
        long removals;
        long crashes;
        final List<String> examples = new ArrayList<>();
        /** Examples of what is counted but allowed: missed versions, late removals with partitions apart. */
        final List<String> notes = new ArrayList<>();

        Tally(Family family) {
            this.family = family;
        }

        boolean clean() {
            return lostUsers == 0 && falseRemovals == 0 && lateRemovals == 0 && duplicatesWithoutLoss == 0;
        }

        /** Adds the counts of another slice of the same family's seeds. */
        void add(Tally other) {
            schedules += other.schedules;
            schedulesWithLoss += other.schedulesWithLoss;
            lostUsers += other.lostUsers;
            falseRemovals += other.falseRemovals;
            lateRemovals += other.lateRemovals;
            lateRemovalsApart += other.lateRemovalsApart;
            duplicatesWithoutLoss += other.duplicatesWithoutLoss;
            duplicatesAfterLostOffsets += other.duplicatesAfterLostOffsets;
            missedPassingVersions += other.missedPassingVersions;
            records += other.records;
            removals += other.removals;
            crashes += other.crashes;
            other.examples.forEach(this::example);
            for (String note : other.notes) {
                note(note.contains(": missed version ") ? "missed version" : "late removal", note);
            }
        }

        void note(String kind, String text) {
            if (notes.stream().filter(note -> note.contains(": " + kind + " ")).count() < 3) {
                notes.add(text);
            }
        }

        void example(String text) {
            if (examples.size() < 5) {
                examples.add(text);
            }
        }

        String row() {
            return String.format(Locale.ROOT, "%-8s %8d %8d %8d %8d %8d %8d %10d %10d %8d %10d %8d %8d",
                    family.name().toLowerCase(Locale.ROOT), schedules, schedulesWithLoss, lostUsers, falseRemovals,
                    lateRemovals, lateRemovalsApart, duplicatesWithoutLoss, duplicatesAfterLostOffsets,
                    missedPassingVersions, records, removals, crashes);
        }

        static String header() {
            return String.format(Locale.ROOT, "%-8s %8s %8s %8s %8s %8s %8s %10s %10s %8s %10s %8s %8s", "family",
                    "scheds", "w/loss", "lost", "falseRm", "lateRm", "late*", "dup(exact)", "dup(lost)",
                    "missed", "records", "removals", "crashes");
        }
    }

    private SweepFuzz() {
    }

    static Tally run(Family family, long firstSeed, int count) throws InterruptedException {
        Tally tally = new Tally(family);
        for (long seed = firstSeed; seed < firstSeed + count; seed++) {
            schedule(family, seed, tally);
        }
        return tally;
    }

    /** The same, in slices of seeds on {@code threads} threads; the tally is the same as on one. */
    static Tally run(Family family, long firstSeed, int count, int threads) throws Exception {
        if (threads <= 1) {
            return run(family, firstSeed, count);
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            int slice = Math.max(1, (count + threads * 8 - 1) / (threads * 8));
            List<java.util.concurrent.Future<Tally>> parts = new ArrayList<>();
            for (long from = firstSeed; from < firstSeed + count; from += slice) {
                long sliceStart = from;
                int sliceCount = (int) Math.min(slice, firstSeed + count - from);
                parts.add(pool.submit(() -> run(family, sliceStart, sliceCount)));
            }
            Tally tally = new Tally(family);
            for (java.util.concurrent.Future<Tally> part : parts) {
                tally.add(part.get());
            }
            return tally;
        } finally {
            pool.shutdownNow();
        }
    }

    /** One schedule of the family, from its seed, added to the tally. */
    static void schedule(Family family, long seed, Tally tally) throws InterruptedException {
        schedule(family, seed, tally, null);
    }

    /** The same, calling {@code watch} after every step (for investigating one schedule). */
    static SweepHarness schedule(Family family, long seed, Tally tally, java.util.function.Consumer<SweepHarness> watch)
            throws InterruptedException {
        Random rnd = new Random(seed * 31 + family.ordinal());
        SweepHarness harness = switch (family) {
            case CHURN -> SweepHarness.randomChurn(seed, rnd, List.of(1, 2, 3, 5, 10, 25));
            case ANCHORS -> anchors(seed, rnd);
            case TIES -> ties(seed, rnd);
            case READDS -> readds(seed, rnd);
        };
        Crashes crashes = Crashes.values()[rnd.nextInt(Crashes.values().length)];
        switch (crashes) {
            case AT_LEAST_ONCE -> harness.commits(SweepHarness.Commits.SOMETIMES, new Random(seed));
            case PARTITIONS_APART -> harness.commits(SweepHarness.Commits.PARTITIONS_APART, new Random(seed));
            case EXACTLY_ONCE -> harness.exactlyOnce();
            default -> { }
        }
        double crashRate = crashes == Crashes.NONE ? 0 : 0.02 + rnd.nextDouble() * 0.06;
        int steps = 0;
        while (harness.completedSweeps < 5 && ++steps < 20_000) {
            harness.step();
            if (watch != null) {
                watch.accept(harness);
            }
            if (rnd.nextDouble() < crashRate) {
                if (crashes == Crashes.EXACTLY_ONCE) {
                    harness.restartExactly();
                } else {
                    harness.crashNow();
                }
            }
        }
        harness.commits(SweepHarness.Commits.EVERY_BATCH, new Random(seed));
        harness.api.beforeEachRequest(a -> { });
        harness.runSweeps(2);
        String context = family + " seed " + seed + " page " + harness.pageSize + " crashes " + crashes + "x"
                + harness.crashes;
        tally.schedules++;
        tally.crashes += harness.crashes;
        tally.records += harness.records.size();
        tally.removals += harness.records.stream().filter(r -> r.kind() == SweepHarness.Kind.REMOVAL).count();
        List<String> lost = harness.tableMismatches();
        if (!lost.isEmpty()) {
            tally.schedulesWithLoss++;
            tally.lostUsers += lost.size();
            tally.example(context + ": " + lost.subList(0, Math.min(3, lost.size())));
        }
        List<SweepHarness.FalseRemoval> wrong = harness.falseRemovals();
        if (!wrong.isEmpty()) {
            tally.falseRemovals += wrong.size();
            tally.example(context + ": false removal " + wrong.get(0));
        }
        // A crash that stores each partition at its own point may defer a removal check by a sweep.
        List<String> late = harness.lateRemovals(crashes == Crashes.PARTITIONS_APART ? 3 : 2);
        if (crashes == Crashes.PARTITIONS_APART) {
            tally.lateRemovalsApart += late.size();
        } else {
            tally.lateRemovals += late.size();
        }
        if (!late.isEmpty() && crashes == Crashes.PARTITIONS_APART) {
            tally.note("late removal", context + ": late removal " + late.get(0));
        } else if (!late.isEmpty()) {
            tally.example(context + ": late removal " + late.get(0));
        }
        int duplicates = harness.duplicates();
        if (crashes == Crashes.NONE || crashes == Crashes.EXACTLY_ONCE) {
            tally.duplicatesWithoutLoss += duplicates;
            if (duplicates > 0) {
                tally.example(context + ": " + duplicates + " duplicates without a lost offset");
            }
        } else {
            tally.duplicatesAfterLostOffsets += duplicates;
        }
        List<String> missed = harness.missingStableVersions();
        tally.missedPassingVersions += missed.size();
        if (!missed.isEmpty()) {
            tally.note("missed version", context + ": missed version " + missed.get(0));
        }
        return harness;
    }

    /** Attacks on the anchors: the users the next page must contain unchanged. */
    private static SweepHarness anchors(long seed, Random rnd) {
        FakeCloseApi api = new FakeCloseApi("key", seed, true);
        if (rnd.nextBoolean()) {
            api.order(FakeCloseApi.Order.LAST_NAME_FIRST_NAME);
        }
        api.addUsers(20 + rnd.nextInt(60));
        SweepHarness harness = new SweepHarness(api, 2 + rnd.nextInt(9));
        double attackRate = 0.2 + rnd.nextDouble() * 0.6;
        api.beforeEachRequest(a -> {
            if (rnd.nextDouble() >= attackRate) {
                return;
            }
            List<SweepState.Version> anchors = harness.sweep().state().anchors();
            List<String> live = new ArrayList<>(a.currentVersions().keySet());
            String target = anchors.isEmpty() ? a.randomUserId() : anchors.get(rnd.nextInt(anchors.size())).id();
            if (target == null || !a.isListed(target)) {
                if (!a.removedIds().isEmpty() && rnd.nextBoolean()) {
                    List<String> gone = a.removedIds();
                    a.readd(gone.get(rnd.nextInt(gone.size())), rnd.nextInt(a.userCount() + 1));
                }
                return;
            }
            int at = live.indexOf(target);
            switch (rnd.nextInt(7)) {
                case 0 -> a.delete(target);
                case 1 -> a.edit(target);
                case 2 -> a.leaveOrganization(target);
                case 3 -> { // a jump ahead: removed and listed again further down, unchanged
                    a.delete(target);
                    a.readd(target, Math.min(a.userCount(), at + 1 + rnd.nextInt(harness.pageSize + 2)));
                }
                case 4 -> { // users just behind it removed
                    for (int i = 1; i <= 1 + rnd.nextInt(3) && at - i >= 0; i++) {
                        a.delete(live.get(at - i));
                    }
                }
                case 5 -> a.insertAt(Math.max(0, at - rnd.nextInt(3)));
                default -> { // the jump with the users behind removed at the same moment
                    a.delete(target);
                    for (int i = 1; i <= 2 && at - i >= 0; i++) {
                        if (a.isListed(live.get(at - i))) {
                            a.delete(live.get(at - i));
                        }
                    }
                    a.readd(target, Math.min(a.userCount(), Math.max(0, at - 2) + 1 + rnd.nextInt(harness.pageSize + 1)));
                }
            }
        });
        return harness;
    }

    /** Name order, most users tied with others, ties returned in a new order on every request. */
    private static SweepHarness ties(long seed, Random rnd) {
        FakeCloseApi api = new FakeCloseApi("key", seed, true).order(FakeCloseApi.Order.LAST_NAME_FIRST_NAME)
                .shuffleTies(true);
        int users = 20 + rnd.nextInt(130);
        api.addUsers(users * 3 / 10);
        api.tieGroups(Math.max(2, users / (2 + rnd.nextInt(3))));
        api.addUsers(users - users * 3 / 10);
        int pageSize = 2 + rnd.nextInt(5);
        double changeRate = rnd.nextDouble() * 1.5;
        api.beforeEachRequest(a -> {
            double changes = changeRate;
            while (changes > 0 && rnd.nextDouble() < changes) {
                a.randomChange(rnd, 4, 2, 1, 1, 1, 1);
                changes -= 1;
            }
        });
        return new SweepHarness(api, pageSize);
    }

    /** Removals and re-adds of unchanged users at new positions. */
    private static SweepHarness readds(long seed, Random rnd) {
        FakeCloseApi api = new FakeCloseApi("key", seed, true);
        if (rnd.nextBoolean()) {
            api.order(FakeCloseApi.Order.LAST_NAME_FIRST_NAME);
        }
        api.addUsers(20 + rnd.nextInt(80));
        int pageSize = 2 + rnd.nextInt(5);
        double changeRate = rnd.nextDouble() * 1.5;
        api.beforeEachRequest(a -> {
            double changes = changeRate;
            while (changes > 0 && rnd.nextDouble() < changes) {
                a.randomChange(rnd, 2, 0, 0, 2, 1, 4);
                changes -= 1;
            }
        });
        return new SweepHarness(api, pageSize);
    }

    /**
     * {@code mvn -B -Pfuzz verify}: arguments count (per family, default 20,000), first seed
     * (default 1,000,000), families (comma-separated, default all) and threads (default 2). Prints
     * one row per family and a verdict; exits with 1 on a loss, a false removal, a late removal or a
     * duplicate without a lost offset.
     */
    public static void main(String[] args) throws Exception {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        long firstSeed = args.length > 1 ? Long.parseLong(args[1]) : 1_000_000L;
        List<Family> families = args.length > 2 && !args[2].isBlank() && !args[2].equals("all")
                ? java.util.Arrays.stream(args[2].split(",")).map(f -> Family.valueOf(f.trim().toUpperCase(Locale.ROOT))).toList()
                : List.of(Family.values());
        int threads = args.length > 3 ? Math.max(1, Integer.parseInt(args[3])) : 2;
        System.out.println("Sweep fuzzing: " + count + " schedules per family, seeds " + firstSeed + " to "
                + (firstSeed + count - 1) + ", " + threads + " threads");
        System.out.println(Tally.header());
        Map<Family, Tally> tallies = new EnumMap<>(Family.class);
        boolean clean = true;
        for (Family family : families) {
            long start = System.nanoTime();
            Tally tally = run(family, firstSeed, count, threads);
            tallies.put(family, tally);
            System.out.println(tally.row()
                    + String.format(Locale.ROOT, "   (%.0f s)", (System.nanoTime() - start) / 1e9));
            clean &= tally.clean();
        }
        System.out.println();
        System.out.println("lost: users whose latest version is not in the topic read as a table after the schedule");
        System.out.println("falseRm: removals of users listed through the sweep; lateRm: removals announced after more "
                + "than 2 sweeps (late*: after more than 3, when partitions were committed apart)");
        System.out.println("dup(exact): duplicates with no offset lost (no crash, or exactly-once restarts); dup(lost): "
                + "after at-least-once crashes that lost offsets (allowed)");
        System.out.println("missed: versions current through a whole sweep but never emitted, because a walk passed "
                + "the user (order changed without an edit) and it changed again before the next sweep");
        for (Tally tally : tallies.values()) {
            tally.examples.forEach(example -> System.out.println("  FAILED " + example));
            tally.notes.forEach(note -> System.out.println("  allowed " + note));
        }
        System.out.println(clean ? "RESULT: no loss, no false removal, no late removal, no duplicate without a lost offset"
                : "RESULT: FAILED (see the examples above)");
        if (!clean) {
            System.exit(1);
        }
    }
}
