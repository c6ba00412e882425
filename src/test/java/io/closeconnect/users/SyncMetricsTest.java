package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/** The task's metrics as the task feeds them, on a private metrics registry. */
class SyncMetricsTest {

    private static final String KEY = "metrics-key";

    private MockWebServer server;
    private FakeCloseApi api;

    @BeforeEach
    void startServer() throws Exception {
        api = new FakeCloseApi(KEY, 5, false);
        api.addUsers(12);
        server = new MockWebServer();
        server.setDispatcher(api);
        server.start();
    }

    @AfterEach
    void stopServer() throws Exception {
        server.close();
    }

    private Map<String, String> config() {
        Map<String, String> config = new HashMap<>();
        config.put(CloseUsersConfig.API_KEY, KEY);
        config.put(CloseUsersConfig.API_URL, server.url("/").toString());
        config.put(CloseUsersConfig.PAGE_SIZE, "10");
        config.put(CloseUsersConfig.POLL_INTERVAL_MS, "600000");
        config.put(CloseUsersConfig.WATERMARK_LAG_MS, "2000");
        return config;
    }

    @Test
    void followTheSweepAndDisappearOnStop() throws Exception {
        TestTaskContext context = new TestTaskContext(config());
        CloseUsersSourceTask task = new CloseUsersSourceTask();
        task.initialize(context);
        task.start(config());

        assertEquals(0.0, context.metric(SyncMetrics.SWEEPS_COMPLETED));
        assertEquals(-1.0, context.metric(SyncMetrics.SWEEP_DURATION_LAST));
        assertEquals(Double.NaN, context.metric(SyncMetrics.SWEEP_DURATION_AVG));
        assertEquals(-1.0, context.metric(SyncMetrics.LAST_SWEEP_COMPLETED));
        assertEquals(Double.NaN, context.metric(SyncMetrics.WATERMARK_LAG), "no watermark before the first sweep");

        assertEquals(10, TestTaskContext.userRecords(task.poll()).size());
        assertEquals(0.0, context.metric(SyncMetrics.SWEEPS_COMPLETED), "mid-sweep");
        assertEquals(10.0, context.metric(SyncMetrics.USERS_EMITTED_TOTAL), "the total follows each page");
        assertEquals(1.0, context.metric(SyncMetrics.HTTP_REQUESTS));
        assertEquals(-1.0, context.metric(SyncMetrics.USERS_EMITTED_LAST), "per-sweep figures wait for the sweep");

        long beforeLastPage = System.currentTimeMillis();
        assertEquals(2, TestTaskContext.userRecords(task.poll()).size());
        assertEquals(1.0, context.metric(SyncMetrics.SWEEPS_COMPLETED));
        assertEquals(12.0, context.metric(SyncMetrics.USERS_ANNOUNCED));
        assertEquals(0.0, context.metric(SyncMetrics.REMOVALS_ANNOUNCED));
        assertEquals(0.0, context.metric(SyncMetrics.REMOVALS_HELD));
        assertEquals(0.0, context.metric(SyncMetrics.CONFIRMATION_REQUESTS));
        assertEquals(2.0, context.metric(SyncMetrics.SWEEP_PAGES_LAST));
        assertEquals(13.0, context.metric(SyncMetrics.USERS_SEEN_LAST), "10 + 3 users on the overlapping pages");
        assertEquals(12.0, context.metric(SyncMetrics.USERS_EMITTED_LAST));
        assertEquals(2.0, context.metric(SyncMetrics.HTTP_REQUESTS));
        assertEquals(0.0, context.metric(SyncMetrics.HTTP_RETRIES));
        double completedAt = (Double) context.metric(SyncMetrics.LAST_SWEEP_COMPLETED);
        assertTrue(completedAt >= beforeLastPage && completedAt <= System.currentTimeMillis());
        double lag = (Double) context.metric(SyncMetrics.WATERMARK_LAG);
        assertTrue(lag >= 2000 && lag < 2000 + 10_000, "watermark.lag.ms behind the sweep's start: " + lag);

        task.stop();
        assertNull(context.metric(SyncMetrics.SWEEPS_COMPLETED), "stop() unregisters the metrics");
    }

    @Test
    void aWorkerWithoutPluginMetricsStillRunsTheTask() throws Exception {
        TestTaskContext context = new TestTaskContext(config());
        context.pluginMetricsError = new NoSuchMethodError("SourceTaskContext.pluginMetrics()");
        CloseUsersSourceTask task = new CloseUsersSourceTask();
        task.initialize(context);
        task.start(config());
        assertNotNull(task.poll());
        assertNotNull(task.poll());
        assertNull(context.metric(SyncMetrics.SWEEPS_COMPLETED));
        task.stop();
    }
}
