package io.closeconnect.users;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.connect.runtime.ConnectorConfig;
import org.apache.kafka.connect.storage.StringConverter;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * Benchmark (d), change latency: the connector on a real worker and broker
 * ({@link EmbeddedConnectCluster}), the fake Close API on its wall clock. Users are edited at
 * random moments; each edit is timed from its {@code date_updated} to the moment a consumer of the
 * topic receives the record of that version (key = id, record timestamp = date_updated).
 */
final class ChangeLatencyBenchmark {

    private static final String CONNECTOR = "close-users-latency";
    private static final String TOPIC = "close-users-latency";

    record Result(int users, long pollIntervalMs, int changes, int received, long p50Ms, long p99Ms, long maxMs,
                  long sweepMedianMs, long sweepMaxMs, int sweeps) {
    }

    static Result run(int userCount, long pollIntervalMs, int changes, long seed) throws Exception {
        FakeCloseApi api = new FakeCloseApi(HttpSweepBenchmark.KEY, seed, false);
        api.addUsers(userCount);
        List<long[]> requests = Collections.synchronizedList(new ArrayList<>());
        MockWebServer server = new MockWebServer();
        server.setServerSocketFactory(new HttpSweepBenchmark.NoDelayServerSockets());
        server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
                String skip = request.getUrl().queryParameter("_skip");
                requests.add(new long[] {System.currentTimeMillis(), skip == null ? -1 : Long.parseLong(skip)});
                return api.dispatch(request);
            }
        });
        server.start();

        Map<String, String> workerProps = new HashMap<>();
        workerProps.put("plugin.discovery", "service_load");
        workerProps.put("offset.flush.interval.ms", "1000");
        EmbeddedConnectCluster connect = new EmbeddedConnectCluster.Builder()
                .name("latency-bench").numWorkers(1).workerProps(workerProps).build();
        connect.start();
        try {
            connect.kafka().createTopic(TOPIC, 1);
            Map<String, String> config = new HashMap<>();
            config.put(ConnectorConfig.CONNECTOR_CLASS_CONFIG, CloseUsersSourceConnector.class.getName());
            config.put(ConnectorConfig.TASKS_MAX_CONFIG, "1");
            // The user topic exists; the heartbeat topic is created by Connect, as the sample configs do.
            ConnectClusters.createTopicsCompacted(config);
            config.put(ConnectorConfig.KEY_CONVERTER_CLASS_CONFIG, StringConverter.class.getName());
            config.put(ConnectorConfig.VALUE_CONVERTER_CLASS_CONFIG, StringConverter.class.getName());
            config.put(CloseUsersConfig.API_KEY, HttpSweepBenchmark.KEY);
            config.put(CloseUsersConfig.API_URL, server.url("/").toString());
            config.put(CloseUsersConfig.TOPIC, TOPIC);
            config.put(CloseUsersConfig.POLL_INTERVAL_MS, Long.toString(pollIntervalMs));
            config.put(CloseUsersConfig.PAGE_SIZE, "100");

            Map<String, Long> arrivals = new ConcurrentHashMap<>();
            AtomicBoolean stop = new AtomicBoolean();
            Map<String, Object> consumerProps = Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                    ConsumerConfig.GROUP_ID_CONFIG, "latency-bench");
            Thread reader = new Thread(() -> {
                try (KafkaConsumer<byte[], byte[]> consumer = connect.kafka().createConsumerAndSubscribeTo(consumerProps, TOPIC)) {
                    while (!stop.get()) {
                        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(20))) {
                            long now = System.currentTimeMillis();
                            arrivals.putIfAbsent(new String(record.key()) + "@" + record.timestamp(), now);
                        }
                    }
                }
            }, "latency-reader");
            reader.start();

            connect.configureConnector(CONNECTOR, config);
            // The snapshot first: every user once.
            long deadline = System.currentTimeMillis() + 120_000;
            while (arrivals.size() < userCount) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("the snapshot did not arrive: " + arrivals.size() + " of " + userCount);
                }
                Thread.sleep(50);
            }
            int requestsBeforeChanges = requests.size();

            // Then edits at random moments, on average two per poll interval, so that they land at
            // every phase of the cycle: ahead of the walk, behind it, and between sweeps.
            Random random = new Random(seed);
            List<String> versions = new ArrayList<>();
            Map<String, Long> changedAt = new HashMap<>();
            for (int i = 0; i < changes; i++) {
                Thread.sleep(random.nextInt((int) pollIntervalMs + 1));
                String id = api.randomUserId();
                api.edit(id);
                long micros = api.currentVersions().get(id);
                String version = id + "@" + Math.floorDiv(micros, 1_000L);
                versions.add(version);
                changedAt.put(version, Math.floorDiv(micros, 1_000L));
            }
            deadline = System.currentTimeMillis() + 30_000;
            while (!arrivals.keySet().containsAll(versions) && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            stop.set(true);
            reader.join();

            List<Long> latencies = new ArrayList<>();
            for (String version : versions) {
                Long arrived = arrivals.get(version);
                if (arrived != null) {
                    latencies.add(arrived - changedAt.get(version));
                }
            }
            Collections.sort(latencies);
            List<Long> sweeps = sweepDurations(requests.subList(requestsBeforeChanges, requests.size()));
            Collections.sort(sweeps);
            return new Result(userCount, pollIntervalMs, versions.size(), latencies.size(),
                    percentile(latencies, 50), percentile(latencies, 99),
                    latencies.isEmpty() ? -1 : latencies.get(latencies.size() - 1),
                    percentile(sweeps, 50), sweeps.isEmpty() ? -1 : sweeps.get(sweeps.size() - 1), sweeps.size());
        } finally {
            connect.stop();
            server.close();
        }
    }

    /** Durations of the complete sweeps in a request log: from a request at _skip=0 to the last before the next one. */
    private static List<Long> sweepDurations(List<long[]> log) {
        List<long[]> copy;
        synchronized (log) {
            copy = new ArrayList<>(log);
        }
        List<Long> durations = new ArrayList<>();
        int start = -1;
        for (int i = 0; i < copy.size(); i++) {
            if (copy.get(i)[1] == 0) {
                if (start >= 0 && i > start) {
                    durations.add(copy.get(i - 1)[0] - copy.get(start)[0]);
                }
                start = i;
            }
        }
        return durations;
    }

    /** The nearest-rank percentile. */
    static long percentile(List<Long> sorted, int p) {
        if (sorted.isEmpty()) {
            return -1;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

}
