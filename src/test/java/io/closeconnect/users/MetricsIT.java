package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * The task's plugin metrics, read over JMX from a real Connect worker, agree with what the fake
 * Close API served.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsIT {

    private static final String KEY = "metrics-it-key";
    private static final String CONNECTOR = "close-metrics";
    private static final MBeanServer JMX = ManagementFactory.getPlatformMBeanServer();

    private EmbeddedConnectCluster connect;

    @BeforeAll
    void startCluster() {
        Map<String, String> workerProps = ConnectClusters.workerProps();
        connect = ConnectClusters.start("close-metrics-it", 1, workerProps);
    }

    @AfterAll
    void stopCluster() {
        if (connect != null) {
            connect.stop();
        }
    }

    @Test
    void metricsMatchWhatCloseServed() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 21, false);
        List<String> ids = api.addUsers(25);
        // The first request is rate limited (Retry-After 0.05 s), the second fails with a 500 and is
        // retried, then the three pages of the sweep are served.
        api.queueFault(FakeCloseApi.Fault.STATUS_429);
        api.queueFault(FakeCloseApi.Fault.STATUS_500);
        ObjectName mbean = new ObjectName("kafka.connect:type=plugins,connector=" + CONNECTOR + ",task=0");
        try (MockWebServer server = new MockWebServer()) {
            AtomicInteger usersRequests = new AtomicInteger();
            server.setDispatcher(new Dispatcher() {
                @Override
                public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
                    if (request.getUrl().encodedPath().equals("/api/v1/user/")) {
                        usersRequests.incrementAndGet();
                    }
                    return api.dispatch(request);
                }
            });
            server.start();
            Map<String, String> config = new HashMap<>();
            config.put("connector.class", CloseUsersSourceConnector.class.getName());
        ConnectClusters.createTopicsCompacted(config);
            config.put("tasks.max", "1");
            config.put(CloseUsersConfig.API_KEY, KEY);
            config.put(CloseUsersConfig.API_URL, server.url("/").toString());
            config.put(CloseUsersConfig.TOPIC, "users-metrics");
            config.put(CloseUsersConfig.PAGE_SIZE, "10");
            config.put(CloseUsersConfig.POLL_INTERVAL_MS, "4000");
            config.put(CloseUsersConfig.WATERMARK_LAG_MS, "1000");
            config.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "10");
            connect.kafka().createTopic("users-metrics", 1);
            long startedMs = System.currentTimeMillis();
            connect.configureConnector(CONNECTOR, config);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1, "connector did not start");

            waitFor(() -> metric(mbean, SyncMetrics.SWEEPS_COMPLETED) >= 1, "the first sweep to complete");
            long readAtMs = System.currentTimeMillis();
            assertEquals(Set.of(), JMX.queryNames(new ObjectName(SyncMetricsMBean.DOMAIN + ":*"), null),
                    "a worker with plugin metrics gets them there only, not also as the connector's own MBean");
            assertEquals(1, metric(mbean, SyncMetrics.SWEEPS_COMPLETED));
            assertEquals(List.of(0L, 9L, 18L), api.requestedSkips(), "the fake served three overlapping pages");
            assertEquals(3, metric(mbean, SyncMetrics.SWEEP_PAGES_LAST));
            assertEquals(10 + 10 + 7, metric(mbean, SyncMetrics.USERS_SEEN_LAST), "users on the pages served");
            assertEquals(25, metric(mbean, SyncMetrics.USERS_EMITTED_LAST));
            assertEquals(25, metric(mbean, SyncMetrics.USERS_EMITTED_TOTAL));
            assertEquals(usersRequests.get(), (int) metric(mbean, SyncMetrics.HTTP_REQUESTS),
                    "every users request the fake received");
            assertEquals(5, metric(mbean, SyncMetrics.HTTP_REQUESTS));
            assertEquals(1, metric(mbean, SyncMetrics.HTTP_RATE_LIMITED));
            assertEquals(1, metric(mbean, SyncMetrics.HTTP_RETRIES));
            double waited = metric(mbean, SyncMetrics.RATE_LIMIT_WAIT);
            // The wait runs from the 429 to the end of its 0.05 s Retry-After.
            assertTrue(waited > 0 && waited <= 100, "waited on the 0.05 s Retry-After: " + waited + " ms");

            double duration = metric(mbean, SyncMetrics.SWEEP_DURATION_LAST);
            assertTrue(duration >= waited && duration <= readAtMs - startedMs, "sweep duration " + duration);
            assertEquals(duration, metric(mbean, SyncMetrics.SWEEP_DURATION_AVG));
            double completedAt = metric(mbean, SyncMetrics.LAST_SWEEP_COMPLETED);
            assertTrue(completedAt >= startedMs && completedAt <= readAtMs, "last sweep at " + completedAt);
            // The watermark is the sweep's start minus watermark.lag.ms.
            double lag = metric(mbean, SyncMetrics.WATERMARK_LAG);
            assertTrue(lag >= 1000 && lag <= System.currentTimeMillis() - startedMs + 1000, "watermark lag " + lag);

            // Two edits before the next sweep: it emits exactly them.
            api.edit(ids.get(4));
            api.edit(ids.get(20));
            waitFor(() -> metric(mbean, SyncMetrics.SWEEPS_COMPLETED) >= 2, "the second sweep to complete");
            assertEquals(2, metric(mbean, SyncMetrics.USERS_EMITTED_LAST));
            assertEquals(27, metric(mbean, SyncMetrics.USERS_EMITTED_TOTAL));
            assertEquals(27, metric(mbean, SyncMetrics.USERS_SEEN_LAST));
            assertEquals(8, metric(mbean, SyncMetrics.HTTP_REQUESTS));
            assertEquals(usersRequests.get(), (int) metric(mbean, SyncMetrics.HTTP_REQUESTS));
            assertEquals((duration + metric(mbean, SyncMetrics.SWEEP_DURATION_LAST)) / 2,
                    metric(mbean, SyncMetrics.SWEEP_DURATION_AVG), 0.001);
            assertTrue(metric(mbean, SyncMetrics.LAST_SWEEP_COMPLETED) >= completedAt + 4000,
                    "the second sweep waited poll.interval.ms");

            connect.deleteConnector(CONNECTOR);
            waitFor(() -> !JMX.isRegistered(mbean), "the worker to unregister the task's metrics");
            assertFalse(JMX.isRegistered(mbean));
        }
    }

    private static double metric(ObjectName mbean, String name) {
        try {
            if (!JMX.isRegistered(mbean)) {
                return Double.NaN;
            }
            return ((Number) JMX.getAttribute(mbean, name)).doubleValue();
        } catch (Exception e) {
            throw new AssertionError("cannot read " + name + " from " + mbean + "; plugin MBeans: " + pluginMBeans(), e);
        }
    }

    private static String pluginMBeans() {
        try {
            return JMX.queryNames(new ObjectName("kafka.connect:type=plugins,*"), null).toString();
        } catch (Exception e) {
            return e.toString();
        }
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 60_000;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; plugin MBeans: " + pluginMBeans());
            }
            Thread.sleep(50);
        }
    }
}
