package io.closeconnect.users;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HashSet;
import java.util.Set;

import io.closeconnect.users.fake.FakeCloseApi;

/**
 * Runs the performance benchmarks and prints each figure next to its target. Not a test: run it
 * with {@code mvn -B -Pbench verify} (see BENCHMARKS.md). Arguments pick parts, comma-separated:
 * {@code cpu}, {@code scale}, {@code duration},
 * {@code churn}, {@code removals}, {@code budget}, {@code latency}; none or {@code all} means all.
 */
public final class BenchmarkSuite {

    private BenchmarkSuite() {
    }

    public static void main(String[] args) throws Exception {
        Set<String> parts = new HashSet<>();
        for (String arg : args) {
            parts.addAll(Arrays.asList(arg.split(",")));
        }
        boolean all = parts.isEmpty() || parts.contains("all");
        System.out.printf("Machine: %s %s, %d CPUs visible, Java %s (%s), max heap %d MB%n",
                System.getProperty("os.name"), System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                System.getProperty("java.vm.name"), Runtime.getRuntime().maxMemory() >> 20);
        if (all || parts.contains("cpu")) {
            cpu();
        }
        if (all || parts.contains("scale")) {
            scale();
        }
        if (all || parts.contains("duration")) {
            duration();
        }
        if (all || parts.contains("churn")) {
            churn();
        }
        if (all || parts.contains("removals")) {
            removals();
        }
        if (all || parts.contains("budget")) {
            budget();
        }
        if (all || parts.contains("latency")) {
            latency();
        }
    }

    private static void cpu() throws Exception {
        System.out.println();
        System.out.println("(a) CPU: page bytes -> SourceRecords, users per second of one thread's CPU");
        ParseBenchmark.Result r = ParseBenchmark.run(5, 2_000, 3_000);
        double ratio = ParseBenchmark.median(r.parseMapRatios());
        double pollRatio = ParseBenchmark.median(r.pollRatios());
        System.out.printf("  page of 100 users = %,d bytes%n", r.pageBytes());
        System.out.printf("  reference, bare Jackson readTree : %,10.0f users/s%n", r.bare());
        System.out.printf("  parse + map                      : %,10.0f users/s  ratio %.2fx  [target >= 0.5x: %s; >= 200k/s: %s]%n",
                r.parseMap(), ratio, verdict(ratio >= 0.5), verdict(r.parseMap() >= 200_000));
        System.out.printf("  poll path (sweep + offsets + map): %,10.0f users/s  ratio %.2fx  [target >= 0.5x: %s; >= 200k/s: %s]%n",
                r.poll(), pollRatio, verdict(pollRatio >= 0.5), verdict(r.poll() >= 200_000));
    }

    private static void scale() throws Exception {
        System.out.println();
        System.out.println("(b) Requests per sweep, offset records, heap: the task with its default settings (page.size 1000) "
                + "over local HTTP, at-least-once (every poll acked and committed), fake without delay or rate limit, "
                + "users at rest");
        // A first run to load and initialize every class and fill Okio's bounded segment pool, so that
        // static caches do not count as retained by the first N.
        HttpSweepBenchmark.scale(10_000);
        List<HttpSweepBenchmark.ScaleResult> results = new ArrayList<>();
        for (int n : new int[] {1_000, 10_000, 100_000}) {
            HttpSweepBenchmark.ScaleResult r = HttpSweepBenchmark.scale(n);
            results.add(r);
            HttpSweepBenchmark.SweepCounts u = r.unchanged();
            System.out.printf("  N=%,7d: unchanged sweep %,4d list requests + %d other (/me/ %d, lookups %d) vs Airbyte "
                            + "ceil(N/1000)+1 = %,d [target <= %,d: %s]; %,d ms%n",
                    n, u.list(), u.requests() - u.list(), u.me(), u.lookups(), r.airbyte(), r.airbyte() + 1,
                    verdict(u.requests() <= r.airbyte() + 1), u.wallMs());
            for (int i = 0; i < r.snapshot().size(); i++) {
                HttpSweepBenchmark.SweepCounts c = r.snapshot().get(i);
                System.out.printf("            snapshot sweep %d: %,4d list requests + %d other, %,7d users emitted, %,6d ms "
                                + "(%,d ms of it pausing while intents are stored)%n",
                        i + 1, c.list(), c.requests() - c.list(), c.userRecords(), c.wallMs(), c.waitingMs());
            }
            HttpSweepBenchmark.OffsetProbe o = r.offsets();
            System.out.printf("            offset records (Connect's JSON, key + value): largest %,9d bytes = %.3f of "
                            + "Kafka's 1 MB default message limit (1,048,576) [target well under: %s]; largest ledger shard "
                            + "%,d bytes, largest sweep offset %,d bytes; stored now: %,d bytes over %d partitions%n",
                    o.largest, o.largest / 1_048_576.0, verdict(o.largest <= 1_048_576 / 2), o.largestShard,
                    o.largestMain, o.total(), o.partitions());
            System.out.printf("            retained heap after the sweeps (the task with its ledger, and the context's "
                    + "stored offsets): %,d bytes = %.0f bytes per user%n", r.retainedAfterSweepBytes(),
                    r.retainedAfterSweepBytes() / (double) n);
        }
    }

    private static void duration() throws Exception {
        System.out.println();
        System.out.println("(b') Sweep duration: 100k users, default settings, the fake answering every request after 300 ms");
        HttpSweepBenchmark.DurationResult r = HttpSweepBenchmark.duration(100_000, 300);
        long airbyte = (100_000 + 999) / 1000 + 1;
        double referenceS = airbyte * 0.3;
        HttpSweepBenchmark.SweepCounts u = r.unchanged();
        double seconds = u.wallMs() / 1000.0;
        System.out.printf("  unchanged sweep: %,.1f s for %,d requests (%,d list, %,d other) vs Airbyte's %d requests x 300 ms "
                        + "= %.1f s: %.3fx [target about 30 s, <= 1.1x: %s]%n",
                seconds, u.requests(), u.list(), u.requests() - u.list(), airbyte, referenceS, seconds / referenceS,
                verdict(seconds <= 1.1 * referenceS));
        for (int i = 0; i < r.snapshot().size(); i++) {
            HttpSweepBenchmark.SweepCounts c = r.snapshot().get(i);
            System.out.printf("  snapshot sweep %d: %,.1f s, %,d requests, %,d users emitted, %,.1f s of it pausing while "
                    + "intents are stored%n", i + 1, c.wallMs() / 1000.0, c.requests(), c.userRecords(),
                    c.waitingMs() / 1000.0);
        }
    }

    private static void churn() throws Exception {
        System.out.println();
        System.out.println("(b'') Requests per sweep under steady churn: 800 users, 8 changes a second on a simulated clock "
                + "(300 ms per request; real time for the pauses), at-least-once; changes: 60% edits, 20% renames, "
                + "10% new users, 10% deleted; 2 sweeps of warm-up, 15 measured, against 3 sweeps of the same list frozen");
        for (int pageSize : new int[] {50, 1_000}) {
            for (FakeCloseApi.Order order : new FakeCloseApi.Order[] {FakeCloseApi.Order.LAST_NAME_FIRST_NAME,
                    FakeCloseApi.Order.DEFAULT, FakeCloseApi.Order.DATE_UPDATED}) {
                HttpSweepBenchmark.ChurnResult r = HttpSweepBenchmark.churn(order, pageSize, 800, 8.0, 300, 3, 2, 15, 5);
                double ratio = r.meanList() / r.frozenList();
                System.out.printf("  page.size=%,5d, %-22s: frozen %.1f list requests; churn mean %.2f, max %d = %.2fx frozen "
                                + "[target <= 1.25x: %s]; with lookups and /me/: mean %.2f requests a sweep; "
                                + "%d changes in %.0f simulated s, %d users at the end%n",
                        pageSize, orderName(order), r.frozenList(), r.meanList(), r.maxList(), ratio,
                        verdict(ratio <= 1.25), r.meanRequests(), r.changes(), r.simSeconds(), r.usersAtEnd());
                StringBuilder each = new StringBuilder();
                for (HttpSweepBenchmark.SweepCounts c : r.sweeps()) {
                    each.append(' ').append(c.list()).append('+').append(c.requests() - c.list());
                }
                HttpSweepBenchmark.Walk w = r.walk();
                System.out.printf("        list requests + others per sweep:%s%n", each);
                System.out.printf("        all requests = %.2fx frozen; walks: %d step-backs and %d restarts from 0 in %d sweeps, "
                                + "forward pages advance %.1f users on average (frozen: %d); %.1f simulated s and %.1f "
                                + "changes a sweep%n", r.meanRequests() / r.frozenList(), w.stepBacks(), w.restarts(),
                        r.sweeps().size(), w.meanAdvance(), pageSize - 1, r.simSeconds() / r.sweeps().size(),
                        r.changes() / (double) r.sweeps().size());
            }
        }
    }

    private static String orderName(FakeCloseApi.Order order) {
        return switch (order) {
            case LAST_NAME_FIRST_NAME -> "name order";
            case DEFAULT -> "creation order";
            case DATE_UPDATED -> "date_updated order";
        };
    }

    private static void removals() throws Exception {
        System.out.println();
        System.out.println("(e) Requests per sweep with removals: 10k users, default settings, 50 leave between two sweeps "
                + "(25 deleted, 25 moved to another organization)");
        for (boolean exactlyOnce : new boolean[] {false, true}) {
            HttpSweepBenchmark.RemovalResult r = HttpSweepBenchmark.removals(10_000, 50, exactlyOnce);
            HttpSweepBenchmark.SweepCounts s = r.withRemovals();
            HttpSweepBenchmark.SweepCounts a = r.after();
            long expectedLookups = (exactlyOnce ? 1L : 2L) * r.removed();
            System.out.printf("  %-14s: sweep with removals: %d list requests (unchanged list: %d) + %d lookups = %.1f a removal "
                            + "(expected %d) + %d /me/; %d removal records, %d tombstones; %,d ms, %,d ms of it pausing; "
                            + "next sweep: %d list + %d other%n",
                    exactlyOnce ? "exactly-once" : "at-least-once", s.list(), r.unchanged().list(), s.lookups(),
                    s.lookups() / (double) r.removed(), expectedLookups, s.me(), s.userRecords(), s.tombstones(),
                    s.wallMs(), s.waitingMs(), a.list(), a.requests() - a.list());
        }
    }

    private static void budget() throws Exception {
        System.out.println();
        System.out.println("(c) Budget use: fake token bucket 20 requests/s, burst 40; 10k users, page.size=100, poll.interval.ms=0");
        HttpSweepBenchmark.BudgetResult r = HttpSweepBenchmark.budget(20, 40, 10_000, 100, 30_000, 5_000);
        double ratio = r.steadyRate() / r.limitPerSecond();
        System.out.printf("  %.0f s: %,d answers 200 (%d full sweeps), %d answers 429 [target 0: %s]%n",
                r.seconds(), r.ok(), r.sweeps(), r.tooMany(), verdict(r.tooMany() == 0));
        System.out.printf("  achieved rate after the first 5 s (the burst spent): %.2f/s = %.3f x L [target >= 0.95: %s]; "
                + "whole run, burst included: %.2f/s%n", r.steadyRate(), ratio, verdict(ratio >= 0.95), r.wholeRate());
    }

    private static void latency() throws Exception {
        System.out.println();
        System.out.println("(d) Change latency: EmbeddedConnectCluster (1 broker, 1 worker), 1k users, poll.interval.ms=1000, page.size=100");
        ChangeLatencyBenchmark.Result r = ChangeLatencyBenchmark.run(1_000, 1_000, 100, 5);
        long target = r.pollIntervalMs() + 2 * r.sweepMaxMs() + 1_000;
        System.out.printf("  %d edits at random moments, %d records received; sweeps during the edits: %d, median %d ms, longest %d ms%n",
                r.changes(), r.received(), r.sweeps(), r.sweepMedianMs(), r.sweepMaxMs());
        System.out.printf("  change -> record in the topic: p50 %,d ms, p99 %,d ms, max %,d ms "
                + "[target p99 <= poll interval + 2 sweeps + 1 s = %,d ms: %s]%n",
                r.p50Ms(), r.p99Ms(), r.maxMs(), target, verdict(r.received() == r.changes() && r.p99Ms() <= target));
    }

    static String verdict(boolean met) {
        return met ? "MET" : "MISSED";
    }
}
