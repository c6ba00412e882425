package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.apache.kafka.connect.util.clusters.WorkerHandle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.closeconnect.users.UserTopicReader.Delivered;
import io.closeconnect.users.UserTopicReader.Version;
import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * Exactly-once delivery on a real distributed worker with {@code exactly.once.source.support=enabled}:
 * while the fake Close API keeps changing, the connector is restarted mid-sweep and the worker
 * running its task is stopped mid-sweep (and another one started). A {@code read_committed}
 * consumer must see every version at most once, and the final version of every live user.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExactlyOnceIT {

    private static final Logger log = LoggerFactory.getLogger(ExactlyOnceIT.class);
    private static final String KEY = "eos-key";
    private static final String CONNECTOR = "close-users-eos";
    private static final String TOPIC = "close-users-eos";
    private static final int USERS = 300;
    private static final int PAGE_SIZE = 8;

    private EmbeddedConnectCluster connect;

    @BeforeAll
    void startCluster() {
        Map<String, String> workerProps = new HashMap<>();
        workerProps.put("plugin.discovery", "service_load");
        workerProps.put("exactly.once.source.support", "enabled");
        workerProps.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
        workerProps.put("value.converter", "org.apache.kafka.connect.json.JsonConverter");
        workerProps.put("value.converter.schemas.enable", "false");
        // Hand the task of a stopped worker to the other one quickly.
        workerProps.put("scheduled.rebalance.max.delay.ms", "2000");
        Properties brokerProps = new Properties();
        brokerProps.put("transaction.state.log.replication.factor", "1");
        brokerProps.put("transaction.state.log.min.isr", "1");
        connect = new EmbeddedConnectCluster.Builder()
                .name("close-users-eos")
                .numWorkers(2)
                .numBrokers(1)
                .workerProps(workerProps)
                .brokerProps(brokerProps)
                .build();
        connect.start();
    }

    @AfterAll
    void stopCluster() {
        if (connect != null) {
            connect.stop();
        }
    }

    @Test
    void churnWithConnectorAndWorkerRestartsDeliversEveryFinalVersionExactlyOnce() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 41, false);
        api.addUsers(USERS);
        api.responseDelayMs(40);
        Random churn = new Random(42);
        AtomicBoolean mutating = new AtomicBoolean(true);
        // Before every page: one edit, rename, insert or delete somewhere in the list.
        api.beforeEachRequest(fake -> {
            if (mutating.get()) {
                fake.randomChange(churn, 6, 2, 2, 1);
            }
        });
        try (MockWebServer server = new MockWebServer();
             UserTopicReader reader = new UserTopicReader(connect.kafka(), TOPIC)) {
            server.setDispatcher(api);
            server.start();
            connect.kafka().createTopic(TOPIC, 1);
            connect.configureConnector(CONNECTOR, connectorConfig(server));
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1, "connector did not start");

            // 1. Restart the connector and its task in the middle of the snapshot sweep.
            long skipAtRestart = waitForMidSweep(api, 1);
            restartConnectorAndTask(api);

            // 2. In the middle of an incremental sweep, stop the worker that runs the task, then start another.
            long skipAtWorkerStop = waitForMidSweep(api, 2);
            WorkerHandle running = ConnectClusters.workerRunningTheTask(connect, CONNECTOR);
            connect.removeWorker(running);
            int requestsAfterStop = api.requestCount();
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1,
                    "the task did not move to the remaining worker");
            connect.addWorker();
            connect.assertions().assertAtLeastNumWorkersAreUp(2, "the new worker did not start");
            waitFor(() -> api.requestCount() > requestsAfterStop + 5, 60_000, "the moved task to read pages");

            // 3. Restart the connector again in the middle of a later incremental sweep.
            long skipAtSecondRestart = waitForMidSweep(api, 3);
            restartConnectorAndTask(api);
            int requestsNow = api.requestCount();
            waitFor(() -> api.requestCount() > requestsNow + 20, 60_000, "more churn");
            log.info("Interrupted sweeps at _skip={} (connector restart), _skip={} (worker stop), _skip={} "
                    + "(connector restart)", skipAtRestart, skipAtWorkerStop, skipAtSecondRestart);

            // 3. Stop changing; every live user's final version must arrive, once.
            mutating.set(false);
            Map<String, Long> finalVersions = api.currentVersions();
            Set<Version> expected = new HashSet<>();
            finalVersions.forEach((id, micros) -> expected.add(Version.ofMicros(id, micros)));
            reader.readUntil(delivered -> versions(delivered).containsAll(expected), 180_000,
                    "the final version of every live user");
            // Then at least one more full sweep, which must not deliver anything again.
            int requestsAtEnd = api.requestCount();
            waitFor(() -> api.requestCount() > requestsAtEnd + 2 * (USERS / (PAGE_SIZE - 1) + 2), 120_000,
                    "two more sweeps");
            List<Delivered> delivered = reader.readFor(2_000);

            Map<Version, Integer> duplicates = UserTopicReader.duplicates(delivered);
            assertEquals(Map.of(), duplicates, "versions delivered more than once to a read_committed consumer");
            Set<Version> missing = new HashSet<>(expected);
            missing.removeAll(versions(delivered));
            assertEquals(Set.of(), missing, "final versions never delivered");

            Set<Version> real = new HashSet<>();
            for (FakeCloseApi.VersionLife life : api.history()) {
                real.add(Version.ofMicros(life.id, life.micros));
            }
            Set<Version> phantom = new HashSet<>(versions(delivered));
            phantom.removeAll(real);
            assertEquals(Set.of(), phantom, "delivered versions that never existed");
            // Read as a compacted table, the topic is Close's list: every deleted user removed, no one else.
            Map<String, Long> table = UserTopicReader.table(delivered);
            Map<String, Long> close = UserTopicReader.tableOf(finalVersions);
            assertEquals(close, table, UserTopicReader.difference(close, table));
            assertTrue(delivered.size() > USERS, "the churn was delivered on top of the snapshot: " + delivered.size());
            // Each committed transaction leaves a marker that takes an offset: gaps show the records
            // really went through transactions, one per poll (page).
            int markers = 0;
            for (int i = 1; i < delivered.size(); i++) {
                markers += delivered.get(i).offset() - delivered.get(i - 1).offset() > 1 ? 1 : 0;
            }
            assertTrue(markers >= USERS / PAGE_SIZE, "transaction markers between records: " + markers);
            log.info("{} records delivered exactly once across {} requests; {} final versions; {} versions existed",
                    delivered.size(), api.requestCount(), expected.size(), real.size());
            connect.deleteConnector(CONNECTOR);
        }
    }

    private static Map<String, String> connectorConfig(MockWebServer server) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", CloseUsersSourceConnector.class.getName());
        ConnectClusters.createTopicsCompacted(config);
        config.put("tasks.max", "1");
        config.put("exactly.once.support", "required");
        config.put("transaction.boundary", "poll");
        config.put(CloseUsersConfig.API_KEY, KEY);
        config.put(CloseUsersConfig.API_URL, server.url("/").toString());
        config.put(CloseUsersConfig.TOPIC, TOPIC);
        config.put(CloseUsersConfig.PAGE_SIZE, Integer.toString(PAGE_SIZE));
        config.put(CloseUsersConfig.POLL_INTERVAL_MS, "300");
        config.put(CloseUsersConfig.WATERMARK_LAG_MS, "500");
        return config;
    }

    private static Set<Version> versions(List<Delivered> delivered) {
        Set<Version> versions = new HashSet<>();
        for (Delivered record : delivered) {
            if (record.isUser()) {
                versions.add(record.version());
            }
        }
        return versions;
    }

    private void restartConnectorAndTask(FakeCloseApi api) throws InterruptedException {
        connect.restartConnectorAndTasks(CONNECTOR, false, true, false);
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1, "connector did not restart");
        int requests = api.requestCount();
        waitFor(() -> api.requestCount() > requests + 5, 60_000, "the restarted task to read pages");
    }

    /**
     * Waits until sweep number {@code sweep} (counting sweep starts: requests for {@code _skip=0}
     * after a later page) is well inside the list, not at its start or end; returns the _skip.
     */
    private static long waitForMidSweep(FakeCloseApi api, int sweep) throws InterruptedException {
        long[] skip = new long[1];
        waitFor(() -> {
            List<Long> skips = api.requestedSkips();
            int started = 0;
            for (int i = 0; i < skips.size(); i++) {
                if (skips.get(i) == 0 && (i == 0 || skips.get(i - 1) > 0)) {
                    started++;
                }
            }
            skip[0] = skips.isEmpty() ? 0 : skips.get(skips.size() - 1);
            return started >= sweep && skip[0] >= USERS / 4 && skip[0] <= USERS / 2;
        }, 120_000, "sweep " + sweep + " to be half-way");
        return skip[0];
    }

    private static void waitFor(BooleanSupplier condition, long timeoutMs, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("Timed out after " + timeoutMs + " ms waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
