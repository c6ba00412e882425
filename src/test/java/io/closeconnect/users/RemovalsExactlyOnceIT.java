package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.closeconnect.users.UserTopicReader.Delivered;
import io.closeconnect.users.UserTopicReader.Kind;

/**
 * {@link RemovalScenario} in exactly-once mode: workers with {@code exactly.once.source.support=enabled},
 * the connector with {@code exactly.once.support=required} and one transaction per poll, read by a
 * {@code read_committed} consumer. On top of what every mode shows, nothing is delivered twice.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RemovalsExactlyOnceIT {

    private EmbeddedConnectCluster connect;

    @BeforeAll
    void startCluster() {
        Map<String, String> workerProps = ConnectClusters.workerProps();
        workerProps.put("exactly.once.source.support", "enabled");
        // Hand the task of a stopped worker to the other one quickly.
        workerProps.put("scheduled.rebalance.max.delay.ms", "1000");
        Properties brokerProps = new Properties();
        brokerProps.put("transaction.state.log.replication.factor", "1");
        brokerProps.put("transaction.state.log.min.isr", "1");
        connect = new EmbeddedConnectCluster.Builder()
                .name("close-removals-eos")
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
    void churnRemovalsAndRestartsEndWithTheLiveUsersDeliveredOnce() throws Exception {
        try (RemovalScenario scenario = new RemovalScenario(connect, "close-removals-eos", 1002)) {
            Map<String, String> config = scenario.connectorConfig();
            config.put("exactly.once.support", "required");
            config.put("transaction.boundary", "poll");
            RemovalScenario.Outcome outcome = scenario.run(config);
            assertDeliveredOnce(outcome.delivered());
        }
    }

    /**
     * Per user, the records read as announcements: a user version is delivered once unless a removal
     * of the user came in between (a user removed and listed again is emitted again, on purpose),
     * each later version is newer, and each removal is one removal record and one tombstone, after a
     * user record.
     */
    static void assertDeliveredOnce(List<Delivered> delivered) {
        Map<String, List<Delivered>> since = new HashMap<>();
        List<String> problems = new ArrayList<>();
        for (Delivered record : delivered) {
            List<Delivered> announcement = since.computeIfAbsent(record.id(), id -> new ArrayList<>());
            Delivered last = announcement.isEmpty() ? null : announcement.get(announcement.size() - 1);
            switch (record.kind()) {
                case USER -> {
                    if (last != null && last.kind() == Kind.REMOVAL) {
                        problems.add("a user record between a removal record and its tombstone: " + record);
                    } else if (last != null && record.updatedMillis() <= last.updatedMillis()) {
                        problems.add((record.updatedMillis() == last.updatedMillis() ? "delivered twice: "
                                : "an older version after a newer one: ") + record + " after " + last);
                    }
                    announcement.add(record);
                }
                case REMOVAL -> {
                    if (last == null || !last.isUser()) {
                        problems.add("a removal record not after a user record: " + record + " after " + last);
                    }
                    announcement.add(record);
                }
                case TOMBSTONE -> {
                    if (last == null || last.kind() != Kind.REMOVAL) {
                        problems.add("a tombstone not right after its removal record: " + record + " after " + last);
                    }
                    // The removal ends the announcement: a user listed again starts a new one.
                    announcement.clear();
                }
            }
        }
        assertEquals(List.of(), problems, "in exactly-once mode every announcement is delivered once");
        assertTrue(delivered.stream().filter(d -> d.kind() == Kind.REMOVAL).count() >= 3,
                "the scenario removed users: " + delivered.size() + " records");
    }
}
