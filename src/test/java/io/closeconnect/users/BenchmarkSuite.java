package io.closeconnect.users;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * Runs the performance benchmarks and prints each figure next to its target. Not a test: run it
 * with {@code mvn -B -Pbench verify} (see BENCHMARKS.md). Arguments pick parts: {@code cpu},
 * {@code scale}, {@code budget}, {@code latency}; none means all.
 */
public final class BenchmarkSuite {

    private BenchmarkSuite() {
    }

    public static void main(String[] args) throws Exception {
        Set<String> parts = new HashSet<>(Arrays.asList(args));
        boolean all = parts.isEmpty();
        System.out.printf("Machine: %s %s, %d CPUs visible, Java %s (%s), max heap %d MB%n",
                System.getProperty("os.name"), System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                System.getProperty("java.vm.name"), Runtime.getRuntime().maxMemory() >> 20);
        if (all || parts.contains("cpu")) {
            cpu();
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

    static String verdict(boolean met) {
        return met ? "MET" : "MISSED";
    }
}
