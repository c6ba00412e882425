package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.apache.log4j.AppenderSkeleton;
import org.apache.log4j.Level;
import org.apache.log4j.Logger;
import org.apache.log4j.spi.LoggingEvent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.closeconnect.users.UserTopicReader.Delivered;
import io.closeconnect.users.UserTopicReader.Kind;
import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * Removals on a real Connect cluster in at-least-once mode: {@link RemovalScenario} (churn with
 * removals and re-adds, a task restart, a worker restart, changes while the connector is stopped),
 * and the safety valve end to end.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RemovalsIT {

    private static final MBeanServer JMX = ManagementFactory.getPlatformMBeanServer();
    private static final Pattern HOLDING = Pattern.compile("Holding (\\d+) removals: .*\""
            + Pattern.quote(CloseUsersConfig.REMOVAL_RELEASE) + "\": \"([^\"]+)\"");

    private EmbeddedConnectCluster connect;

    @BeforeAll
    void startCluster() {
        Map<String, String> workerProps = ConnectClusters.workerProps();
        // Hand the task of a stopped worker to the other one quickly.
        workerProps.put("scheduled.rebalance.max.delay.ms", "1000");
        connect = ConnectClusters.start("close-removals", 2, workerProps);
    }

    @AfterAll
    void stopCluster() {
        if (connect != null) {
            connect.stop();
        }
    }

    @Test
    void churnRemovalsAndRestartsEndWithTheLiveUsers() throws Exception {
        try (RemovalScenario scenario = new RemovalScenario(connect, "close-removals", 1001)) {
            scenario.run(scenario.connectorConfig());
        }
    }

    /**
     * A sweep that loses 90% of the announced users holds every removal: none is confirmed or
     * announced, one ERROR line per sweep says how many and how to release them, the metric says how
     * many are held. Released with the token of that line, exactly those users are announced removed.
     */
    @Test
    void aMassRemovalIsHeldUntilReleasedWithItsToken() throws Exception {
        String connector = "close-valve";
        FakeCloseApi api = new FakeCloseApi("valve-key", 71, false);
        List<String> ids = api.addUsers(200);
        List<LoggingEvent> events = new ArrayList<>();
        AppenderSkeleton capture = new AppenderSkeleton() {
            @Override
            protected void append(LoggingEvent event) {
                synchronized (events) {
                    events.add(event);
                }
            }

            @Override
            public void close() {
            }

            @Override
            public boolean requiresLayout() {
                return false;
            }
        };
        ObjectName metrics = TaskMetricsNames.pluginMBean(connector);
        Logger.getRootLogger().addAppender(capture);
        AtomicReference<List<String>> toDelete = new AtomicReference<>();
        try (MockWebServer server = new MockWebServer()) {
            // The users go just before the first page of a sweep, so that every sweep that follows misses them all.
            server.setDispatcher(new Dispatcher() {
                @Override
                public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
                    if (request.getUrl().encodedPath().equals("/api/v1/user/")
                            && "0".equals(request.getUrl().queryParameter("_skip"))) {
                        List<String> going = toDelete.getAndSet(null);
                        if (going != null) {
                            going.forEach(api::delete);
                        }
                    }
                    return api.dispatch(request);
                }
            });
            server.start();
            Map<String, String> config = ConnectClusters.createTopicsCompacted(ConnectClusters.connectorConfig(
                    server.url("/").toString(), "valve-key", connector, 20, 200));
            config.put(CloseUsersConfig.HEARTBEAT_TOPIC, connector + "-heartbeat");
            connect.configureConnector(connector, config);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(connector, 1, "connector did not start");
            RemovalScenario.waitFor(() -> metric(metrics, SyncMetrics.SWEEPS_COMPLETED) >= 1
                    && metric(metrics, SyncMetrics.USERS_ANNOUNCED) == 200, 60_000, "the snapshot sweep");

            try (UserTopicReader reader = new UserTopicReader(connect.kafka(), connector)) {
                reader.readUntil(d -> UserTopicReader.table(d).size() == 200, 60_000, "the snapshot");

                // 90% of the users go at once.
                List<String> shuffled = new ArrayList<>(ids);
                Collections.shuffle(shuffled, new Random(72));
                List<String> deleted = List.copyOf(shuffled.subList(0, 180));
                int lookupsBefore = api.lookupCount();
                double completedBefore = metric(metrics, SyncMetrics.SWEEPS_COMPLETED);
                toDelete.set(deleted);
                RemovalScenario.waitFor(() -> toDelete.get() == null, 30_000, "the next sweep to start");

                // Two sweeps find them missing: each holds them, says so once, and asks Close about none.
                RemovalScenario.waitFor(() -> holdingLines(events).size() >= 2
                        && metric(metrics, SyncMetrics.SWEEPS_COMPLETED) >= completedBefore + 2, 60_000,
                        "two sweeps to hold the removals");
                List<String> holds = holdingLines(events);
                String token = null;
                for (String line : holds) {
                    Matcher matcher = HOLDING.matcher(line);
                    assertTrue(matcher.find(), "the ERROR line names the count and the release setting: " + line);
                    assertEquals("180", matcher.group(1), line);
                    token = token == null ? matcher.group(2) : token;
                    assertEquals(token, matcher.group(2), "every held sweep names the same set");
                }
                assertEquals(RemovalValve.token(deleted), token, "the token names exactly the users that went");
                assertEquals(180, metric(metrics, SyncMetrics.REMOVALS_HELD));
                assertEquals(0, metric(metrics, SyncMetrics.REMOVALS_ANNOUNCED));
                assertEquals(lookupsBefore, api.lookupCount(), "no held removal is confirmed with Close");
                List<Delivered> held = reader.readToEnd(30_000);
                assertEquals(List.of(), held.stream().filter(d -> !d.isUser()).toList(), "nothing announced removed");
                assertEquals(200, UserTopicReader.table(held).size());
                // More sweeps may have held them meanwhile: every ERROR line is a held sweep's, naming the set.
                for (String line : errors(events)) {
                    Matcher matcher = HOLDING.matcher(line);
                    assertTrue(matcher.find() && matcher.group(2).equals(token), "no other ERROR: " + line);
                }
                assertTrue(holds.size() <= metric(metrics, SyncMetrics.SWEEPS_COMPLETED) - completedBefore + 1,
                        holds.size() + " ERROR lines for at most one sweep each");

                // The operator releases exactly that set.
                config.put(CloseUsersConfig.REMOVAL_RELEASE, token);
                connect.configureConnector(connector, config);
                connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(connector, 1,
                        "connector did not restart with the release");
                Set<String> gone = new TreeSet<>(deleted);
                List<Delivered> released = reader.readUntil(d -> tombstoned(d).containsAll(gone), 60_000,
                        "the released removals");
                Set<String> live = new HashSet<>(ids);
                live.removeAll(gone);
                assertEquals(UserTopicReader.tableOf(api.currentVersions()), UserTopicReader.table(released));
                assertEquals(live, UserTopicReader.table(released).keySet());
                List<Delivered> removals = released.stream().filter(d -> d.kind() == Kind.REMOVAL).toList();
                assertEquals(gone, new TreeSet<>(removals.stream().map(Delivered::id).toList()),
                        "removal records for exactly the users that went");
                assertEquals(180, removals.size(), "one removal record each");
                assertEquals(gone, tombstoned(released), "tombstones for exactly the users that went");
                assertEquals(Set.of("not_found"), new HashSet<>(removals.stream().map(Delivered::removalReason).toList()));
                RemovalScenario.assertRemovalsAnnouncedInFull(new RemovalScenario.Outcome(released,
                        UserTopicReader.tableOf(api.currentVersions()), null, List.of()));
                // At least once, each removal is confirmed before its intent is stored, and again right
                // before it goes out (the user may have come back meanwhile): two lookups each, no more.
                assertEquals(2 * 180, api.lookupCount() - lookupsBefore, "each released user confirmed twice with Close");
                RemovalScenario.waitFor(() -> metric(metrics, SyncMetrics.REMOVALS_ANNOUNCED) == 180, 30_000,
                        "the removals-announced metric");
                assertEquals(0, metric(metrics, SyncMetrics.REMOVALS_HELD));
                // Until the worker restarted the task with the release, its sweeps held the same set.
                for (String line : errors(events)) {
                    Matcher matcher = HOLDING.matcher(line);
                    assertTrue(matcher.find() && matcher.group(2).equals(token), "no other ERROR: " + line);
                }
                assertEquals(List.of("Releasing 180 held removals (" + CloseUsersConfig.REMOVAL_RELEASE + "=" + token
                        + "): confirming each of them with Close"), messages(events, Level.WARN, "Releasing"));
            }
            connect.deleteConnector(connector);
        } finally {
            Logger.getRootLogger().removeAppender(capture);
        }
    }

    private static Set<String> tombstoned(List<Delivered> delivered) {
        Set<String> ids = new TreeSet<>();
        delivered.stream().filter(d -> d.kind() == Kind.TOMBSTONE).forEach(d -> ids.add(d.id()));
        return ids;
    }

    private static List<String> holdingLines(List<LoggingEvent> events) {
        return errors(events).stream().filter(m -> m.startsWith("Holding ")).toList();
    }

    private static List<String> errors(List<LoggingEvent> events) {
        return messages(events, Level.ERROR, "");
    }

    private static List<String> messages(List<LoggingEvent> events, Level level, String prefix) {
        synchronized (events) {
            return events.stream()
                    .filter(e -> e.getLevel().equals(level) && e.getLoggerName().startsWith("io.closeconnect"))
                    .map(LoggingEvent::getRenderedMessage)
                    .filter(m -> m.startsWith(prefix))
                    .toList();
        }
    }

    private static double metric(ObjectName mbean, String name) {
        try {
            return JMX.isRegistered(mbean) ? ((Number) JMX.getAttribute(mbean, name)).doubleValue() : Double.NaN;
        } catch (Exception e) {
            throw new AssertionError("cannot read " + name + " from " + mbean, e);
        }
    }
}
