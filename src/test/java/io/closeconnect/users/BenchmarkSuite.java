package io.closeconnect.users;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HashSet;
import java.util.Set;

/**
 * Runs the performance benchmarks and prints each figure next to its target. Not a test: run it
 * with {@code mvn -B -Pbench verify} (see BENCHMARKS.md). Arguments pick parts, comma-separated:
 * {@code cpu}, {@code scale}, {@code budget}, {@code latency}; none or {@code all} means all.
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
        System.out.println("(b) Sweep scale: the task over local HTTP, fake without rate limit, page.size=100");
        // A first run to load and initialize every class and fill Okio's bounded segment pool, so that
        // static caches do not count as retained by the first N.
        HttpSweepBenchmark.scale(10_000, 100);
        List<HttpSweepBenchmark.ScaleResult> results = new ArrayList<>();
        for (int n : new int[] {1_000, 10_000, 100_000}) {
            HttpSweepBenchmark.ScaleResult r = HttpSweepBenchmark.scale(n, 100);
            results.add(r);
            double ratio = r.snapshotRequests() / (double) r.expectedRequests();
            System.out.printf("  N=%,7d: snapshot sweep %,6d ms, %,5d requests = %.3fx ceil(N/page.size)=%,d [target <= 1.02x: %s]; "
                            + "unchanged sweep %,6d ms, %,5d requests%n",
                    n, r.snapshotMs(), r.snapshotRequests(), ratio, r.expectedRequests(), verdict(ratio <= 1.02),
                    r.emptySweepMs(), r.emptySweepRequests());
            System.out.printf("            retained heap of the task: %,10d bytes 90%% through the snapshot, %,10d bytes after two sweeps%n",
                    r.retainedMidSweepBytes(), r.retainedAfterSweepBytes());
        }
        long first = results.get(0).retainedAfterSweepBytes();
        long last = results.get(results.size() - 1).retainedAfterSweepBytes();
        double growth = last / (double) first;
        System.out.printf("  retained after a sweep, 100k vs 1k: %.2fx, %+,d bytes = %.2f bytes per added user [target flat within 20%%: %s]%n",
                growth, last - first, (last - first) / 99_000.0, verdict(growth <= 1.2 && growth >= 0.8));
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
