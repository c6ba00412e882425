package io.closeconnect.users;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.connect.source.SourceRecord;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * Benchmarks (b) sweep scale and (c) budget use: the real task, HTTP client and sweep against the
 * fake Close API over local HTTP.
 */
final class HttpSweepBenchmark implements AutoCloseable {

    static final String KEY = "bench-key";

    final FakeCloseApi api;
    final MockWebServer server = new MockWebServer();
    /** Every users answer: the nanoTime it was sent and its status. */
    final ArrayList<long[]> answers = new ArrayList<>();
    CloseUsersSourceTask task;

    HttpSweepBenchmark(FakeCloseApi api) throws Exception {
        this.api = api;
        server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
                MockResponse response = api.dispatch(request);
                synchronized (answers) {
                    answers.add(new long[] {System.nanoTime(), response.getCode()});
                }
                return response;
            }
        });
        server.setServerSocketFactory(new NoDelayServerSockets());
        server.start();
    }

    /**
     * MockWebServer writes an answer's headers and body in separate writes; with Nagle's algorithm on
     * its sockets the body then waits for the client's delayed ACK, about 40 ms an answer. That is
     * the fake's cost, not the connector's, so its sockets send at once.
     */
    static final class NoDelayServerSockets extends javax.net.ServerSocketFactory {
        @Override
        public java.net.ServerSocket createServerSocket() throws java.io.IOException {
            return new java.net.ServerSocket() {
                @Override
                public java.net.Socket accept() throws java.io.IOException {
                    java.net.Socket socket = super.accept();
                    socket.setTcpNoDelay(true);
                    return socket;
                }
            };
        }

        @Override
        public java.net.ServerSocket createServerSocket(int port) throws java.io.IOException {
            throw new UnsupportedOperationException();
        }

        @Override
        public java.net.ServerSocket createServerSocket(int port, int backlog) throws java.io.IOException {
            throw new UnsupportedOperationException();
        }

        @Override
        public java.net.ServerSocket createServerSocket(int port, int backlog, java.net.InetAddress address)
                throws java.io.IOException {
            throw new UnsupportedOperationException();
        }
    }

    void startTask(int pageSize, long pollIntervalMs) {
        Map<String, String> props = new HashMap<>();
        props.put(CloseUsersConfig.API_KEY, KEY);
        props.put(CloseUsersConfig.API_URL, server.url("/").toString());
        props.put(CloseUsersConfig.TOPIC, "close-users");
        props.put(CloseUsersConfig.PAGE_SIZE, Integer.toString(pageSize));
        props.put(CloseUsersConfig.POLL_INTERVAL_MS, Long.toString(pollIntervalMs));
        task = new CloseUsersSourceTask();
        task.initialize(new TestTaskContext(props));
        task.start(props);
    }

    /** Forgets the requests MockWebServer keeps for takeRequest(), so they do not count as retained heap. */
    void drainRecordedRequests() throws InterruptedException {
        while (server.takeRequest(1, TimeUnit.MILLISECONDS) != null) {
            // drop it
        }
    }

    int answerCount(int status) {
        synchronized (answers) {
            return (int) answers.stream().filter(a -> a[1] == status).count();
        }
    }

    @Override
    public void close() throws Exception {
        if (task != null) {
            task.stop();
        }
        server.close();
    }

    // ------------------------------------------------------------------ (b) sweep scale

    record ScaleResult(int users, int pageSize, long snapshotMs, int snapshotRequests, long emptySweepMs,
                       int emptySweepRequests, long expectedRequests, long baselineBytes,
                       long retainedMidSweepBytes, long retainedAfterSweepBytes) {
    }

    static ScaleResult scale(int n, int pageSize) throws Exception {
        // Users last changed an hour before the sweeps, as in an account at rest (see BENCHMARKS.md for
        // what happens when they all changed within watermark.lag.ms).
        FakeCloseApi api = new FakeCloseApi(KEY, n, true);
        api.addUsers(n);
        api.advanceClock(3_600_000_000L);
        try (HttpSweepBenchmark bench = new HttpSweepBenchmark(api)) {
            long baseline = usedHeapAfterGc();
            bench.startTask(pageSize, 0);
            // Sweep 1, the snapshot: every user is emitted once; the last page completes the sweep.
            long start = System.nanoTime();
            long records = 0;
            long mid = -1;
            int requestsBefore = 0;
            while (records < n) {
                List<SourceRecord> batch = bench.task.poll();
                records += batch == null ? 0 : batch.size();
                if (mid < 0 && records >= n * 9L / 10) {
                    long paused = System.nanoTime();
                    bench.drainRecordedRequests();
                    int before = api.requestCount();
                    api.forgetRequests();
                    synchronized (bench.answers) {
                        bench.answers.clear();
                        bench.answers.trimToSize();
                    }
                    mid = usedHeapAfterGc() - baseline;
                    requestsBefore = before;
                    start += System.nanoTime() - paused;
                }
            }
            long snapshotMs = (System.nanoTime() - start) / 1_000_000;
            int snapshotRequests = requestsBefore + api.requestCount();
            // Sweep 2: nothing changed, nothing is emitted; it ends after as many requests again.
            start = System.nanoTime();
            while (requestsBefore + api.requestCount() < 2 * snapshotRequests) {
                List<SourceRecord> batch = bench.task.poll();
                if (batch != null) {
                    throw new IllegalStateException("an unchanged list emitted " + batch.size() + " records");
                }
            }
            long emptyMs = (System.nanoTime() - start) / 1_000_000;
            int emptyRequests = requestsBefore + api.requestCount() - snapshotRequests;
            // The fake's and this harness's logs of requests grow with N; they are not the task's.
            bench.drainRecordedRequests();
            api.forgetRequests();
            synchronized (bench.answers) {
                bench.answers.clear();
                bench.answers.trimToSize();
            }
            long after = usedHeapAfterGc() - baseline;
            long expected = (n + pageSize - 1) / pageSize;
            return new ScaleResult(n, pageSize, snapshotMs, snapshotRequests, emptyMs, emptyRequests, expected,
                    baseline, mid, after);
        }
    }

    static long usedHeapAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(50);
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    // ------------------------------------------------------------------ (c) budget use

    record BudgetResult(double limitPerSecond, int burst, int users, double seconds, int ok, int tooMany,
                        double steadyRate, double wholeRate, int sweeps) {
    }

    static BudgetResult budget(double perSecond, int burst, int users, int pageSize, long runMillis, long settleMillis)
            throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 3, true).tokenBucket(perSecond, burst);
        api.addUsers(users);
        api.advanceClock(3_600_000_000L);
        try (HttpSweepBenchmark bench = new HttpSweepBenchmark(api)) {
            bench.startTask(pageSize, 0);
            long start = System.nanoTime();
            long end = start + runMillis * 1_000_000L;
            long records = 0;
            while (System.nanoTime() < end) {
                List<SourceRecord> batch = bench.task.poll();
                records += batch == null ? 0 : batch.size();
            }
            bench.task.stop();
            List<long[]> answers;
            synchronized (bench.answers) {
                answers = new ArrayList<>(bench.answers);
            }
            int ok = 0;
            int tooMany = 0;
            int okSteady = 0;
            long settleAt = start + settleMillis * 1_000_000L;
            for (long[] answer : answers) {
                if (answer[1] == 200) {
                    ok++;
                    if (answer[0] >= settleAt && answer[0] < end) {
                        okSteady++;
                    }
                } else if (answer[1] == 429) {
                    tooMany++;
                }
            }
            double seconds = runMillis / 1000.0;
            double steadyRate = okSteady / ((runMillis - settleMillis) / 1000.0);
            int perSweep = (users - 2) / (pageSize - 1) + 1;
            return new BudgetResult(perSecond, burst, users, seconds, ok, tooMany, steadyRate, ok / seconds,
                    ok / perSweep);
        }
    }
}
