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
    TestTaskContext context;
    static final String TOPIC = "close-users";
    /** Requests by kind, counted when they arrive: pages of the list, single-user lookups, /me/, anything else. */
    final java.util.concurrent.atomic.AtomicInteger listRequests = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger lookupRequests = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger meRequests = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger otherRequests = new java.util.concurrent.atomic.AtomicInteger();

    HttpSweepBenchmark(FakeCloseApi api) throws Exception {
        this.api = api;
        server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
                String path = request.getUrl().encodedPath();
                if (path.equals("/api/v1/user/")) {
                    listRequests.incrementAndGet();
                } else if (path.startsWith("/api/v1/user/")) {
                    lookupRequests.incrementAndGet();
                } else if (path.equals("/api/v1/me/")) {
                    meRequests.incrementAndGet();
                } else {
                    otherRequests.incrementAndGet();
                }
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

    /**
     * Starts the task with the settings a user would give, plus {@code extra} (for example
     * {@code page.size}; left out, the default applies). The context acks and commits every batch,
     * as an at-least-once worker does ({@link TestTaskContext#pollAndCommit}).
     */
    void startTask(long pollIntervalMs, Map<String, String> extra) {
        Map<String, String> props = new HashMap<>();
        props.put(CloseUsersConfig.API_KEY, KEY);
        props.put(CloseUsersConfig.API_URL, server.url("/").toString());
        props.put(CloseUsersConfig.TOPIC, TOPIC);
        props.put(CloseUsersConfig.POLL_INTERVAL_MS, Long.toString(pollIntervalMs));
        props.putAll(extra);
        task = new CloseUsersSourceTask();
        context = new TestTaskContext(props);
        task.initialize(context);
        task.start(props);
    }

    void startTask(int pageSize, long pollIntervalMs) {
        startTask(pollIntervalMs, Map.of(CloseUsersConfig.PAGE_SIZE, Integer.toString(pageSize)));
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

    int totalRequests() {
        return listRequests.get() + lookupRequests.get() + meRequests.get() + otherRequests.get();
    }

    // ------------------------------------------------------------------ one sweep, measured

    /**
     * What one sweep cost, from the poll that started it to the poll that completed it.
     *
     * @param list        requests for pages of the list ({@code GET /api/v1/user/})
     * @param lookups     single-user requests ({@code GET /api/v1/user/{id}/}): removal confirmations
     * @param me          {@code GET /api/v1/me/} requests
     * @param other       any other request
     * @param userRecords records on the user topic with a value: users and removal records
     * @param tombstones  records on the user topic with a null value
     * @param wallMs      wall time of the sweep, the pauses included
     * @param waitingMs   wall time of the polls that returned nothing and sent no request: the pauses
     *                    of a sweep that only waits for its intents to be stored
     *                    ({@code CloseUsersSourceTask.WAITING_STEP_PAUSE_MS}, 500 ms a step)
     */
    record SweepCounts(int list, int lookups, int me, int other, int userRecords, int tombstones, long wallMs,
                       long waitingMs) {
        int requests() {
            return list + lookups + me + other;
        }
    }

    /**
     * Polls the task as an at-least-once worker does (ack and commit after every poll) until a
     * sweep completes, i.e. until a poll's last record, the heartbeat of the sweep's partition, says
     * no sweep is in progress any more.
     *
     * @param probe     sees every record's partition and offset (its time is not counted); may be null
     * @param onWaiting told the nanoseconds of each poll that returned nothing and sent no request
     */
    SweepCounts sweep(OffsetProbe probe, java.util.function.LongConsumer onWaiting) throws InterruptedException {
        int list0 = listRequests.get();
        int lookups0 = lookupRequests.get();
        int me0 = meRequests.get();
        int other0 = otherRequests.get();
        long start = System.nanoTime();
        long deadline = start + TimeUnit.MINUTES.toNanos(20);
        long waiting = 0;
        long probing = 0;
        int userRecords = 0;
        int tombstones = 0;
        while (true) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("a sweep did not complete in 20 minutes");
            }
            int before = totalRequests();
            long t0 = System.nanoTime();
            List<SourceRecord> batch = context.pollAndCommit(task);
            long dt = System.nanoTime() - t0;
            if (batch == null) {
                if (totalRequests() == before) {
                    waiting += dt;
                    if (onWaiting != null) {
                        onWaiting.accept(dt);
                    }
                }
                continue;
            }
            for (SourceRecord record : batch) {
                if (record.topic().equals(TOPIC)) {
                    if (record.value() == null) {
                        tombstones++;
                    } else {
                        userRecords++;
                    }
                }
            }
            if (probe != null) {
                long p0 = System.nanoTime();
                probe.observe(batch);
                probing += System.nanoTime() - p0;
            }
            SourceRecord last = batch.get(batch.size() - 1);
            if (!((org.apache.kafka.connect.data.Struct) last.value()).getBoolean("sweep_in_progress")) {
                break;
            }
        }
        long wall = System.nanoTime() - start - probing;
        return new SweepCounts(listRequests.get() - list0, lookupRequests.get() - lookups0, meRequests.get() - me0,
                otherRequests.get() - other0, userRecords, tombstones, wall / 1_000_000, waiting / 1_000_000);
    }

    /** Sweeps until {@code users} user records came out: the initial snapshot, one sweep or more. */
    List<SweepCounts> snapshot(int users, OffsetProbe probe) throws InterruptedException {
        List<SweepCounts> sweeps = new ArrayList<>();
        int emitted = 0;
        while (emitted < users) {
            if (sweeps.size() == 5) {
                throw new IllegalStateException("5 sweeps emitted " + emitted + " of " + users + " users");
            }
            SweepCounts sweep = sweep(probe, null);
            sweeps.add(sweep);
            emitted += sweep.userRecords();
        }
        return sweeps;
    }

    /**
     * The size of the offset records the task's records make a worker write: for each source
     * partition, the key and value that Connect's offset writer produces with its internal
     * {@code JsonConverter} ({@code schemas.enable=false}): key {@code ["<connector>", <partition>]},
     * value the offset map as JSON. Sizes are taken whenever a partition's offset changes.
     */
    static final class OffsetProbe {
        static final String CONNECTOR = "close-users";
        private final org.apache.kafka.connect.json.JsonConverter json = new org.apache.kafka.connect.json.JsonConverter();
        private final Map<Map<String, ?>, Object> lastOffset = new HashMap<>();
        private final Map<Map<String, ?>, Integer> lastSize = new HashMap<>();
        int largest;
        Map<String, ?> largestPartition;
        int largestMain;
        int largestShard;
        int changes;

        OffsetProbe() {
            json.configure(Map.of("schemas.enable", "false"), false);
        }

        void observe(List<SourceRecord> batch) {
            for (SourceRecord record : batch) {
                Map<String, ?> partition = record.sourcePartition();
                Map<String, ?> offset = record.sourceOffset();
                if (lastOffset.get(partition) == offset) {
                    continue;
                }
                int size = size(partition, offset);
                changes++;
                lastOffset.put(partition, offset);
                lastSize.put(partition, size);
                if (size > largest) {
                    largest = size;
                    largestPartition = partition;
                }
                if (UserLedger.RESOURCE.equals(partition.get(SweepState.PARTITION_RESOURCE))) {
                    largestShard = Math.max(largestShard, size);
                } else {
                    largestMain = Math.max(largestMain, size);
                }
            }
        }

        int size(Map<String, ?> partition, Map<String, ?> offset) {
            byte[] key = json.fromConnectData(CONNECTOR, null, java.util.Arrays.asList(CONNECTOR, partition));
            byte[] value = json.fromConnectData(CONNECTOR, null, offset);
            return key.length + value.length;
        }

        /** The offsets stored now, one record per partition: how many bytes in all. */
        long total() {
            return lastSize.values().stream().mapToLong(Integer::longValue).sum();
        }

        int partitions() {
            return lastSize.size();
        }
    }

    // ------------------------------------------------------------------ (b) requests per sweep, offsets, heap

    /**
     * @param snapshot  the sweeps that emitted every user once
     * @param unchanged the sweep after them over the unchanged list
     * @param airbyte   Airbyte's requests for the same list: ceil(N / 1000) + 1
     */
    record ScaleResult(int users, List<SweepCounts> snapshot, SweepCounts unchanged, long airbyte,
                       OffsetProbe offsets, long retainedAfterSweepBytes) {
    }

    /** The task with its default settings over N users at rest, against the fake without delay or rate limit. */
    static ScaleResult scale(int n) throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, n, true);
        api.addUsers(n);
        api.advanceClock(3_600_000_000L);
        try (HttpSweepBenchmark bench = new HttpSweepBenchmark(api)) {
            long baseline = usedHeapAfterGc();
            bench.startTask(0, Map.of());
            OffsetProbe probe = new OffsetProbe();
            List<SweepCounts> snapshot = bench.snapshot(n, probe);
            SweepCounts unchanged = bench.sweep(probe, null);
            if (unchanged.userRecords() != 0 || unchanged.tombstones() != 0) {
                throw new IllegalStateException("an unchanged list emitted " + unchanged.userRecords() + " records");
            }
            // The fake's and this harness's logs of requests grow with N; they are not the task's.
            bench.drainRecordedRequests();
            api.forgetRequests();
            synchronized (bench.answers) {
                bench.answers.clear();
                bench.answers.trimToSize();
            }
            long after = usedHeapAfterGc() - baseline;
            return new ScaleResult(n, snapshot, unchanged, (n + 999) / 1000 + 1, probe, after);
        }
    }

    // ------------------------------------------------------------------ sweep duration with a slow Close

    record DurationResult(int users, long delayMs, List<SweepCounts> snapshot, SweepCounts unchanged) {
    }

    /** The task with its default settings over N users at rest, against the fake answering each request after {@code delayMs}. */
    static DurationResult duration(int n, long delayMs) throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, n, true);
        api.addUsers(n);
        api.advanceClock(3_600_000_000L);
        api.responseDelayMs(delayMs);
        try (HttpSweepBenchmark bench = new HttpSweepBenchmark(api)) {
            bench.startTask(0, Map.of());
            List<SweepCounts> snapshot = bench.snapshot(n, null);
            SweepCounts unchanged = bench.sweep(null, null);
            return new DurationResult(n, delayMs, snapshot, unchanged);
        }
    }

    // ------------------------------------------------------------------ removals

    record RemovalResult(boolean exactlyOnce, int users, int removed, SweepCounts unchanged, SweepCounts withRemovals,
                         SweepCounts after) {
    }

    /**
     * N users at rest, default settings; after the snapshot and one unchanged sweep, {@code removed}
     * users leave between two sweeps (half deleted, answering 404; half moved to another
     * organization, answering 200 elsewhere). The sweep that finds them, and the one after.
     */
    static RemovalResult removals(int n, int removed, boolean exactlyOnce) throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, n + 7, true);
        api.addUsers(n);
        api.advanceClock(3_600_000_000L);
        try (HttpSweepBenchmark bench = new HttpSweepBenchmark(api)) {
            bench.startTask(0, exactlyOnce ? Map.of(TestTaskContext.EXACTLY_ONCE_SUPPORT, "required") : Map.of());
            bench.snapshot(n, null);
            SweepCounts unchanged = bench.sweep(null, null);
            java.util.Random random = new java.util.Random(11);
            for (int i = 0; i < removed; i++) {
                String id = api.userIdAt(random.nextInt(api.userCount()));
                if (i % 2 == 0) {
                    api.delete(id);
                } else {
                    api.leaveOrganization(id);
                }
            }
            api.advanceClock(60_000_000L);
            SweepCounts withRemovals = bench.sweep(null, null);
            SweepCounts after = bench.sweep(null, null);
            return new RemovalResult(exactlyOnce, n, removed, unchanged, withRemovals, after);
        }
    }

    // ------------------------------------------------------------------ churn

    private static final String[] FIRST = {"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"};
    private static final String[] LAST = {"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"};

    /**
     * @param frozen      list requests of each sweep over the same list, frozen
     * @param sweeps      the measured sweeps under churn
     * @param changes     changes made during the measured sweeps
     * @param simSeconds  simulated time of the measured sweeps
     * @param walk        how the measured sweeps moved through the list, from the fake's log of {@code _skip}s
     */
    record ChurnResult(FakeCloseApi.Order order, int pageSize, int users, List<SweepCounts> frozen,
                       List<SweepCounts> sweeps, int changes, double simSeconds, int usersAtEnd, Walk walk) {
        double frozenList() {
            return frozen.stream().mapToInt(SweepCounts::list).average().orElse(0);
        }

        double meanList() {
            return sweeps.stream().mapToInt(SweepCounts::list).average().orElse(0);
        }

        int maxList() {
            return sweeps.stream().mapToInt(SweepCounts::list).max().orElse(0);
        }

        double meanRequests() {
            return sweeps.stream().mapToInt(SweepCounts::requests).average().orElse(0);
        }
    }

    /**
     * Steady churn on a simulated clock. Every request (page, lookup, /me/) takes {@code latencyMs}
     * of simulated time, and the polls that only pause (a sweep waiting for its intents to be
     * stored) take their real time; changes come at {@code perSecond} of that clock and are made
     * just before the request during which they fall. So changes interleave with the walk as they
     * would against a Close that answers in {@code latencyMs}, without waiting for it.
     *
     * <p>The changes, drawn from a fixed seed: 60% edits, 20% renames, 10% new users, 10% users
     * deleted. In the creation order (the fake's default order) a new user is added at the end; in
     * the name order it lands where its name sorts; in the date_updated order every edit, rename and
     * new user goes to the end.
     */
    static ChurnResult churn(FakeCloseApi.Order order, int pageSize, int users, double perSecond, long latencyMs,
                             int frozenSweeps, int warmupSweeps, int measuredSweeps, long seed) throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, seed, true).order(order);
        api.addUsers(users);
        api.advanceClock(3_600_000_000L);
        try (HttpSweepBenchmark bench = new HttpSweepBenchmark(api)) {
            Map<String, String> props = new HashMap<>();
            props.put(CloseUsersConfig.PAGE_SIZE, Integer.toString(pageSize));
            if (!api.orderBy().isEmpty()) {
                props.put(CloseUsersConfig.ORDER_BY, api.orderBy());
            }
            bench.startTask(0, props);
            bench.snapshot(users, null);
            List<SweepCounts> frozen = new ArrayList<>();
            for (int i = 0; i < frozenSweeps; i++) {
                frozen.add(bench.sweep(null, null));
            }
            java.util.Random random = new java.util.Random(seed);
            long latencyMicros = latencyMs * 1_000L;
            java.util.concurrent.atomic.AtomicLong pausedMicros = new java.util.concurrent.atomic.AtomicLong();
            long[] clock = {0, 0}; // simulated micros, changes made
            api.beforeEachRequest(fake -> {
                long step = latencyMicros + pausedMicros.getAndSet(0);
                clock[0] += step;
                fake.advanceClock(step);
                long due = (long) Math.floor(clock[0] / 1e6 * perSecond);
                while (clock[1] < due) {
                    change(fake, random, order);
                    clock[1]++;
                }
            });
            java.util.function.LongConsumer paused = nanos -> pausedMicros.addAndGet(nanos / 1_000);
            for (int i = 0; i < warmupSweeps; i++) {
                bench.sweep(null, paused);
            }
            long clockAt;
            long changesAt;
            synchronized (api) {
                clockAt = clock[0];
                changesAt = clock[1];
            }
            List<SweepCounts> sweeps = new ArrayList<>();
            List<List<Long>> skips = new ArrayList<>();
            for (int i = 0; i < measuredSweeps; i++) {
                int from = api.requestCount();
                sweeps.add(bench.sweep(null, paused));
                skips.add(api.requestedSkips().subList(from, api.requestCount()));
            }
            synchronized (api) {
                return new ChurnResult(order, pageSize, users, frozen, sweeps, (int) (clock[1] - changesAt),
                        (clock[0] - clockAt) / 1e6, api.userCount(), Walk.of(skips));
            }
        }
    }

    /**
     * How walks moved, over several sweeps: requests that stepped back (a {@code _skip} below the
     * previous one, not 0), walks restarted from 0 within a sweep, and the mean advance of the
     * requests that moved forward (page size minus the overlap, minus users found ahead again).
     */
    record Walk(int stepBacks, int restarts, double meanAdvance) {
        static Walk of(List<List<Long>> sweeps) {
            int back = 0;
            int restarts = 0;
            long advanced = 0;
            int forward = 0;
            for (List<Long> skips : sweeps) {
                for (int i = 1; i < skips.size(); i++) {
                    long step = skips.get(i) - skips.get(i - 1);
                    if (skips.get(i) == 0) {
                        restarts++;
                    } else if (step < 0) {
                        back++;
                    } else {
                        advanced += step;
                        forward++;
                    }
                }
            }
            return new Walk(back, restarts, forward == 0 ? 0 : advanced / (double) forward);
        }
    }

    private static void change(FakeCloseApi api, java.util.Random random, FakeCloseApi.Order order) {
        int pick = random.nextInt(10);
        String id = api.userIdAt(random.nextInt(api.userCount()));
        if (pick < 6) {
            api.edit(id);
        } else if (pick < 8) {
            api.rename(id, FIRST[random.nextInt(FIRST.length)], LAST[random.nextInt(LAST.length)] + random.nextInt(1000));
        } else if (pick < 9) {
            api.insertAt(order == FakeCloseApi.Order.DEFAULT ? api.userCount() : random.nextInt(api.userCount() + 1));
        } else {
            api.delete(id);
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
                List<SourceRecord> batch = bench.context.pollAndCommit(bench.task);
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
