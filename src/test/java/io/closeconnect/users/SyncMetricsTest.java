package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * The task's metrics as the task feeds them, on both publishing paths: a private plugin metrics
 * registry, and the connector's own MBean in the platform MBean server when the worker has none.
 */
class SyncMetricsTest {

    private static final String KEY = "metrics-key";
    private static final MBeanServer JMX = ManagementFactory.getPlatformMBeanServer();

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
        config.put(TestTaskContext.EXACTLY_ONCE_SUPPORT, "required");
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

    /** The names the task published through its plugin metrics. */
    private static Set<String> pluginMetricNames(TestTaskContext context) {
        Set<String> names = new TreeSet<>();
        context.metrics.metrics().keySet().stream().filter(n -> n.group().equals("plugins")).forEach(n -> names.add(n.name()));
        return names;
    }

    private static Set<String> attributeNames(ObjectName mbean) throws Exception {
        Set<String> names = new TreeSet<>();
        for (MBeanAttributeInfo attribute : JMX.getMBeanInfo(mbean).getAttributes()) {
            names.add(attribute.getName());
        }
        return names;
    }

    @Test
    void withPluginMetricsTheConnectorRegistersNoMBeanOfItsOwn() throws Exception {
        Map<String, String> config = config();
        config.put("name", "close-plugin-path");
        TestTaskContext context = new TestTaskContext(config);
        CloseUsersSourceTask task = new CloseUsersSourceTask();
        task.initialize(context);
        task.start(config);
        try {
            assertFalse(JMX.isRegistered(SyncMetricsMBean.objectName("close-plugin-path")), "published twice");
            assertTrue(JMX.queryNames(new ObjectName(SyncMetricsMBean.DOMAIN + ":*"), null).isEmpty());
            assertEquals(declaredNames(), pluginMetricNames(context));
        } finally {
            task.stop();
        }
    }

    private static Set<String> declaredNames() {
        Set<String> names = new TreeSet<>();
        new SyncMetrics().declared().forEach(m -> names.add(m.name()));
        return names;
    }

    @Test
    void withoutPluginMetricsTheSameFiguresAreTheConnectorsOwnMBean() throws Exception {
        Map<String, String> config = config();
        config.put("name", "close-users-eu");
        TestTaskContext context = new TestTaskContext(config);
        context.pluginMetricsError = new NoSuchMethodError("SourceTaskContext.pluginMetrics()");
        CloseUsersSourceTask task = new CloseUsersSourceTask();
        task.initialize(context);
        task.start(config);
        ObjectName mbean = new ObjectName("io.closeconnect.users:type=task-metrics,connector=close-users-eu,task=0");
        assertTrue(JMX.isRegistered(mbean), "the documented name");
        assertEquals(Set.of(), pluginMetricNames(context));

        // Every declared metric, under the name and with the description the plugin path gives it.
        TestTaskContext pluginContext = new TestTaskContext(config());
        SyncMetrics pluginPath = SyncMetrics.forTask(pluginContext);
        assertEquals(pluginMetricNames(pluginContext), attributeNames(mbean));
        assertEquals(declaredNames(), attributeNames(mbean));
        for (MBeanAttributeInfo attribute : JMX.getMBeanInfo(mbean).getAttributes()) {
            assertEquals("double", attribute.getType(), attribute.getName());
            assertTrue(attribute.isReadable() && !attribute.isWritable(), attribute.getName());
            String pluginDescription = pluginContext.metrics.metrics().keySet().stream()
                    .filter(n -> n.name().equals(attribute.getName())).findFirst().orElseThrow().description();
            assertEquals(pluginDescription, attribute.getDescription());
        }
        pluginPath.close();

        assertEquals(0.0, JMX.getAttribute(mbean, SyncMetrics.SWEEPS_COMPLETED));
        assertEquals(-1.0, JMX.getAttribute(mbean, SyncMetrics.SWEEP_DURATION_LAST));
        assertEquals(Double.NaN, JMX.getAttribute(mbean, SyncMetrics.WATERMARK_LAG));
        assertEquals(10, TestTaskContext.userRecords(task.poll()).size());
        assertEquals(10.0, JMX.getAttribute(mbean, SyncMetrics.USERS_EMITTED_TOTAL));
        assertEquals(2, TestTaskContext.userRecords(task.poll()).size());
        assertEquals(1.0, JMX.getAttribute(mbean, SyncMetrics.SWEEPS_COMPLETED));
        assertEquals(12.0, JMX.getAttribute(mbean, SyncMetrics.USERS_EMITTED_LAST));
        assertEquals(2.0, JMX.getAttribute(mbean, SyncMetrics.HTTP_REQUESTS));
        double lag = (Double) JMX.getAttribute(mbean, SyncMetrics.WATERMARK_LAG);
        assertTrue(lag >= 2000 && lag < 2000 + 10_000, "watermark.lag.ms behind the sweep's start: " + lag);
        AttributeList both = JMX.getAttributes(mbean, new String[] {SyncMetrics.SWEEPS_COMPLETED, SyncMetrics.SWEEP_PAGES_LAST});
        assertEquals(List.of(1.0, 2.0), both.asList().stream().map(Attribute::getValue).toList());

        task.stop();
        assertFalse(JMX.isRegistered(mbean), "stop() unregisters the MBean");
    }

    @Test
    void aWorkerThatRefusesPluginMetricsGetsTheOwnMBeanToo() throws Exception {
        Map<String, String> config = config();
        config.put("name", "close-refused");
        TestTaskContext context = new TestTaskContext(config);
        context.pluginMetricsRefusal = new UnsupportedOperationException("no plugin metrics here");
        SyncMetrics metrics = SyncMetrics.forTask(context);
        try {
            assertTrue(JMX.isRegistered(SyncMetricsMBean.objectName("close-refused")));
        } finally {
            metrics.close();
        }
        assertFalse(JMX.isRegistered(SyncMetricsMBean.objectName("close-refused")));
    }

    @Test
    void aTaskStillStoppingDoesNotUnregisterItsSuccessor() throws Exception {
        List<SyncMetrics.Metric> declared = new SyncMetrics().declared();
        SyncMetricsMBean old = SyncMetricsMBean.register("close-restarted", declared);
        SyncMetricsMBean successor = SyncMetricsMBean.register("close-restarted", declared);
        ObjectName name = SyncMetricsMBean.objectName("close-restarted");
        assertTrue(JMX.isRegistered(name), "the successor replaced the old MBean");
        old.close();
        assertTrue(JMX.isRegistered(name), "the old task's stop leaves the successor's MBean");
        successor.close();
        assertFalse(JMX.isRegistered(name));
    }

    @Test
    void aConnectorNameThatJmxCannotTakeAsItIsIsQuoted() throws Exception {
        ObjectName name = SyncMetricsMBean.objectName("close users, eu=1");
        assertEquals("\"close users, eu=1\"", name.getKeyProperty("connector"));
        assertEquals("close users, eu=1", ObjectName.unquote(name.getKeyProperty("connector")));
        SyncMetricsMBean mbean = SyncMetricsMBean.register("close users, eu=1", new SyncMetrics().declared());
        try {
            assertTrue(JMX.isRegistered(name));
        } finally {
            mbean.close();
        }
    }
}
