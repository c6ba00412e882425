package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * The task's records as the worker sees them: which partition and offset each carries, the
 * heartbeats that store the sweep's position and the ledger, the records of a removal as
 * {@code removal.output} says, and a restart from exactly what was stored.
 */
class TaskOffsetsTest {

    private static final String KEY = "api_task_offsets_key";

    private final FakeCloseApi fake = new FakeCloseApi(KEY, 21, true);
    private final MockWebServer server = new MockWebServer();
    private final Map<String, String> props = new HashMap<>();
    private TestTaskContext context;
    private CloseUsersSourceTask task;
    private List<String> ids;

    @BeforeEach
    void start() throws Exception {
        ids = fake.addUsers(25);
        server.setDispatcher(fake);
        server.start();
        props.put(CloseUsersConfig.API_KEY, KEY);
        props.put(CloseUsersConfig.API_URL, server.url("/").toString());
        props.put(CloseUsersConfig.PAGE_SIZE, "10");
        props.put(CloseUsersConfig.POLL_INTERVAL_MS, "0");
        context = new TestTaskContext(props);
    }

    @AfterEach
    void stop() {
        if (task != null) {
            task.stop();
        }
        server.close();
    }

    private void startTask() {
        if (task != null) {
            task.stop();
        }
        task = new CloseUsersSourceTask();
        task.initialize(context);
        task.start(props);
    }

    private String url() {
        return props.get(CloseUsersConfig.API_URL).replaceAll("/$", "");
    }

    /** Polls until a sweep completes, committing every poll's offsets; returns every record. */
    private List<SourceRecord> sweep() throws InterruptedException {
        List<SourceRecord> all = new ArrayList<>();
        while (true) {
            List<SourceRecord> records = context.pollAndCommit(task);
            if (records == null) {
                continue;
            }
            all.addAll(records);
            SourceRecord last = records.get(records.size() - 1);
            if (last.sourcePartition().equals(SweepState.partition(url()))
                    && !SweepState.fromMap(last.sourceOffset()).sweepInProgress()) {
                return all;
            }
        }
    }

    @Test
    void everyPollEndsWithAHeartbeatThatStoresTheSweepAndUserRecordsCarryTheirShard() throws Exception {
        startTask();
        List<SourceRecord> records = context.pollAndCommit(task);
        SourceRecord last = records.get(records.size() - 1);
        assertEquals(CloseUsersConfig.DEFAULT_HEARTBEAT_TOPIC, last.topic());
        assertEquals(url(), last.key());
        assertEquals(SweepState.partition(url()), last.sourcePartition());
        Struct heartbeat = (Struct) last.value();
        assertEquals(true, heartbeat.get("sweep_in_progress"));
        assertEquals(9L, heartbeat.get("skip"));
        assertEquals(10L, heartbeat.get("users_announced"), "ten members, being added");
        assertEquals(List.of(), TestTaskContext.userRecords(records),
                "a user's first record waits until the batch that stores its intent is committed");
        List<SourceRecord> intents = records.stream().filter(r -> r.sourcePartition().containsKey(UserLedger.PARTITION_SHARD))
                .toList();
        assertTrue(!intents.isEmpty());
        for (SourceRecord intent : intents) {
            String entries = (String) intent.sourceOffset().get(UserLedger.ANNOUNCED);
            assertTrue(entries.matches("(user_\\d+@\\+[^,]+,?)+"), "only intents: " + entries);
        }
        List<SourceRecord> users = new ArrayList<>();
        List<SourceRecord> later = new ArrayList<>();
        while (users.size() < 10) {
            List<SourceRecord> polled = context.pollAndCommit(task);
            if (polled != null) {
                later.addAll(polled);
                users.addAll(TestTaskContext.userRecords(polled));
            }
        }
        for (SourceRecord record : users.subList(0, 10)) {
            String id = (String) record.key();
            assertEquals(UserLedger.partition(url(), UserLedger.shardOf(id)), record.sourcePartition());
            String carried = (String) record.sourceOffset().get(UserLedger.ANNOUNCED);
            assertTrue(carried.contains(id + "@+"), "carries the stored intent, not its own announcement: " + carried);
        }
        List<SourceRecord> checkpoints = later.stream().filter(r -> r.topic().equals(CloseUsersConfig.DEFAULT_HEARTBEAT_TOPIC)
                && r.sourcePartition().containsKey(UserLedger.PARTITION_SHARD)).toList();
        int lastUserRecord = later.indexOf(users.get(9));
        assertTrue(checkpoints.stream().anyMatch(c -> later.indexOf(c) > lastUserRecord
                && ((String) c.sourceOffset().get(UserLedger.ANNOUNCED)).contains(users.get(9).key() + "@2")),
                "a checkpoint after the records says they were announced");
    }

    @Test
    void aQuietSweepStillStoresItsEndSoARestartDoesNotWalkItAgain() throws Exception {
        startTask();
        sweep();
        List<SourceRecord> quiet = sweep();
        assertEquals(List.of(), TestTaskContext.userRecords(quiet), "nothing changed");
        SweepState stored = SweepState.fromMap(context.offsets.get(SweepState.partition(url())));
        assertFalse(stored.sweepInProgress(), "the end of the quiet sweep is stored");
        int requests = fake.requestCount();
        startTask();
        List<SourceRecord> first = context.pollAndCommit(task);
        assertEquals(requests + 1, fake.requestCount());
        assertEquals(0L, fake.requestedSkips().get(requests), "a new sweep, from the top");
        assertEquals(List.of(), TestTaskContext.userRecords(first), "the restart emits nobody again");
    }

    @Test
    void aRemovalIsARecordThenATombstoneByDefault() throws Exception {
        startTask();
        sweep();
        fake.delete(ids.get(4));
        List<SourceRecord> records = TestTaskContext.userRecords(sweep());
        assertEquals(2, records.size());
        SourceRecord removal = records.get(0);
        SourceRecord tombstone = records.get(1);
        assertEquals(ids.get(4), removal.key());
        assertEquals(true, ((Struct) removal.value()).get(UserRecordMapper.REMOVED));
        assertEquals("not_found", ((Struct) removal.value()).get(UserRecordMapper.REMOVAL_REASON));
        assertEquals(ids.get(4), tombstone.key());
        assertNull(tombstone.value());
        assertEquals(removal.sourcePartition(), tombstone.sourcePartition());
        assertEquals(List.of(), TestTaskContext.userRecords(sweep()), "announced once");
    }

    @Test
    void removalOutputChoosesTheRecords() throws Exception {
        for (String output : List.of("tombstone", "record", "")) {
            props.put(CloseUsersConfig.REMOVAL_OUTPUT, output);
            context = new TestTaskContext(props);
            fake.readdAll();
            startTask();
            sweep();
            String gone = fake.randomUserId();
            fake.delete(gone);
            List<SourceRecord> records = TestTaskContext.userRecords(sweep());
            List<String> kinds = records.stream().map(r -> r.value() == null ? "tombstone" : "record").toList();
            assertEquals(output.isEmpty() ? List.of() : List.of(output), kinds, "removal.output=" + output);
            records.forEach(r -> assertEquals(gone, r.key()));
            startTask();
            assertEquals(List.of(), TestTaskContext.userRecords(sweep()),
                    "the ledger stored the removal even without a record (removal.output=" + output + ")");
        }
    }

    @Test
    void aRestartInTheMiddleOfTheChecksResumesThemWithoutAnnouncingTwice() throws Exception {
        fake.addUsers(75);
        startTask();
        sweep();
        List<String> all = new ArrayList<>(fake.currentVersions().keySet());
        for (int i = 0; i < 60; i += 2) {
            fake.delete(all.get(i)); // 30 removals of 100: two batches of checks
        }
        props.put(CloseUsersConfig.REMOVAL_HOLD_PERCENT, "50");
        startTask();
        List<SourceRecord> records = new ArrayList<>();
        while (fake.lookupCount() < UserSweep.CONFIRMATIONS_PER_STEP) {
            List<SourceRecord> polled = context.pollAndCommit(task);
            if (polled != null) {
                records.addAll(polled);
            }
        }
        SweepState stored = SweepState.fromMap(context.offsets.get(SweepState.partition(url())));
        assertEquals(SweepState.Phase.CONFIRM, stored.phase(), "stopped between two batches of checks");
        startTask();
        records.addAll(sweep());
        List<SourceRecord> tombstones = TestTaskContext.userRecords(records).stream().filter(r -> r.value() == null).toList();
        assertEquals(30, tombstones.size());
        assertEquals(30, tombstones.stream().map(SourceRecord::key).distinct().count(), "each removal once");
        assertTrue(fake.lookupCount() <= 60 + UserSweep.CONFIRMATIONS_PER_STEP,
                "two requests a removal (the check, and again before it goes out), plus at most the batch the "
                        + "restart interrupted: " + fake.lookupCount());
    }
}
