package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.apache.kafka.connect.util.clusters.WorkerHandle;
import org.opentest4j.AssertionFailedError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.closeconnect.users.UserTopicReader.Delivered;
import io.closeconnect.users.UserTopicReader.Kind;
import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okio.Buffer;

/**
 * The removal scenario that {@link RemovalsIT} (at-least-once) and {@link RemovalsExactlyOnceIT}
 * run on a Connect cluster of two workers, against the fake Close API on its wall clock, served in
 * name order ({@code close.users.order.by=last_name,first_name}, so that a rename moves a user):
 * <ol>
 *   <li>the connector starts with {@value #USERS} users and Connect creates both topics compacted;</li>
 *   <li>before every request (pages, confirmations, {@code /me/}) the fake changes: edits, renames,
 *       inserts, deletions (404), departures to another organization (200 elsewhere) and re-adds of
 *       removed users (same id, same {@code date_updated});</li>
 *   <li>mid-walk, task 0 is restarted through the REST API; later, mid-walk, the worker running it is
 *       stopped and another one started;</li>
 *   <li>once a removal was announced, the connector is stopped ({@code PUT .../stop}); while it is
 *       stopped one announced user is deleted, one leaves the organization and one whose removal was
 *       announced is added back; then it is resumed;</li>
 *   <li>the changes stop; after two more full sweeps the topic read as a table must equal the fake's
 *       live users at their latest {@code date_updated}, and a full sweep later nothing more arrives.</li>
 * </ol>
 * The checks every mode shares are here; the mode's own (duplicates) are in its IT.
 */
final class RemovalScenario implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RemovalScenario.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int USERS = 200;
    static final int PAGE_SIZE = 15;
    private static final String[] FIRST = {"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"};
    private static final String[] LAST = {"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"};

    /** What Close answered to one {@code GET /api/v1/user/{id}/}. */
    enum Answer { NOT_FOUND, OTHER_ORGANIZATION, PRESENT, OTHER }

    /** One confirmation request: the user, when it was received (wall-clock millis) and the answer. */
    record Lookup(String id, long receivedMs, Answer answer) {
    }

    /** The users changed while the connector was stopped, and where the topic was then. */
    record WhileStopped(String deleted, String leftOrganization, String addedBack, int recordsBefore) {
    }

    /** What the scenario ends with: every record read, the fake's live users, the stop's changes. */
    record Outcome(List<Delivered> delivered, Map<String, Long> expected, WhileStopped whileStopped,
                   List<Lookup> lookups) {
    }

    final FakeCloseApi api;
    private final EmbeddedConnectCluster connect;
    private final String connector;
    private final String topic;
    private final String heartbeatTopic;
    private final Random churn;
    private final AtomicBoolean mutating = new AtomicBoolean(true);
    /** Users the churn leaves alone: those changed while the connector was stopped. */
    private final Set<String> untouchable = new HashSet<>();
    private final List<Lookup> lookups = new ArrayList<>();
    private final MockWebServer server = new MockWebServer();

    RemovalScenario(EmbeddedConnectCluster connect, String connector, long seed) throws IOException {
        this.connect = connect;
        this.connector = connector;
        this.topic = connector;
        this.heartbeatTopic = connector + "-heartbeat";
        this.churn = new Random(seed);
        api = new FakeCloseApi("removals-key", seed, false);
        api.order(FakeCloseApi.Order.LAST_NAME_FIRST_NAME);
        api.addUsers(USERS);
        // Slow enough for a restart to land mid-walk, fast enough for short sweeps.
        api.responseDelayMs(15);
        api.beforeEachRequest(this::change);
        server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
                long receivedMs = System.currentTimeMillis();
                MockResponse response = api.dispatch(request);
                String path = request.getUrl().encodedPath();
                if (path.startsWith("/api/v1/user/") && path.length() > "/api/v1/user/".length()) {
                    String id = path.substring("/api/v1/user/".length()).replaceAll("/$", "");
                    synchronized (lookups) {
                        lookups.add(new Lookup(id, receivedMs, answer(response)));
                    }
                }
                return response;
            }
        });
        server.start();
    }

    /** The connector's configuration; callers add what their mode needs. */
    Map<String, String> connectorConfig() {
        Map<String, String> config = ConnectClusters.createTopicsCompacted(ConnectClusters.connectorConfig(
                server.url("/").toString(), "removals-key", topic, PAGE_SIZE, 200));
        config.put(CloseUsersConfig.HEARTBEAT_TOPIC, heartbeatTopic);
        config.put(CloseUsersConfig.ORDER_BY, "last_name,first_name");
        config.put(CloseUsersConfig.WATERMARK_LAG_MS, "500");
        // The valve is RemovalsIT's other test; here no sweep's removals may be held.
        config.put(CloseUsersConfig.REMOVAL_HOLD_MIN, "1000");
        return config;
    }

    /** Runs the scenario with this connector configuration and checks what every mode must show. */
    Outcome run(Map<String, String> config) throws Exception {
        long startedMs = System.currentTimeMillis();
        connect.configureConnector(connector, config);
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(connector, 1, "connector did not start");
        waitFor(() -> topicsExist(topic, heartbeatTopic), 60_000, "Connect to create " + topic + " and " + heartbeatTopic);
        assertCompacted(topic, heartbeatTopic);

        try (UserTopicReader reader = new UserTopicReader(connect.kafka(), topic)) {
            // 1. A task restart (POST /connectors/<name>/tasks/0/restart) in the middle of the snapshot's walk.
            long skip = waitForMidWalk(1);
            connect.restartTask(connector, 0);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(connector, 1, "the task did not restart");
            log.info("Restarted the task at _skip={}", skip);

            // 2. A worker restart in the middle of a later walk: the worker running the task stops, another starts.
            skip = waitForMidWalk(sweepStarts() + 2);
            WorkerHandle running = ConnectClusters.workerRunningTheTask(connect, connector);
            connect.removeWorker(running);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(connector, 1,
                    "the task did not move to the remaining worker");
            connect.addWorker();
            connect.assertions().assertAtLeastNumWorkersAreUp(2, "the new worker did not start");
            log.info("Stopped the worker running the task at _skip={}", skip);

            // 3. Once a removal was announced, changes while the connector is stopped.
            reader.readUntil(d -> announcedRemoved(d).isPresent(), 60_000, "a removal announced for a user still removed");
            connect.stopConnector(connector);
            connect.assertions().assertConnectorIsStopped(connector, "connector did not stop");
            WhileStopped whileStopped = changeWhileStopped(reader);
            connect.resumeConnector(connector);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(connector, 1, "connector did not resume");
            int resumed = sweepStarts();
            waitFor(() -> sweepStarts() >= resumed + 2, 60_000, "two sweeps of churn after resuming");

            // 4. The changes stop. Two full sweeps later, the topic is the fake's list.
            Map<String, Long> expected = stopChanging();
            int settled = sweepStarts();
            // The sweep under way may be one that started before; the two after it start after the changes.
            waitFor(() -> sweepStarts() >= settled + 3, 60_000, "two full sweeps after the changes stopped");
            try {
                reader.readUntil(d -> UserTopicReader.table(d).equals(expected), 60_000,
                        "the topic read as a table to equal the fake's live users");
            } catch (AssertionFailedError e) {
                fail("The topic read as a table differs from the fake's live users: "
                        + UserTopicReader.difference(expected, UserTopicReader.table(reader.delivered())), e);
            }
            int matched = reader.delivered().size();
            int later = sweepStarts();
            waitFor(() -> sweepStarts() >= later + 2, 60_000, "a full sweep after the topic matched");
            List<Delivered> delivered = reader.readToEnd(30_000);
            assertEquals(List.of(), delivered.subList(matched, delivered.size()),
                    "nothing arrives once the topic holds the list and nothing changes");

            List<Lookup> seen;
            synchronized (lookups) {
                seen = List.copyOf(lookups);
            }
            Map<Answer, Integer> answers = new TreeMap<>();
            seen.forEach(lookup -> answers.merge(lookup.answer(), 1, Integer::sum));
            log.info("Removal scenario: {} records, {} user records, {} removals, {} live users, {} list requests, "
                            + "{} confirmations {}, {} sweeps, {} ms", delivered.size(),
                    delivered.stream().filter(Delivered::isUser).count(),
                    delivered.stream().filter(d -> d.kind() == Kind.REMOVAL).count(), expected.size(),
                    api.requestCount(), seen.size(), answers, sweepStarts(), System.currentTimeMillis() - startedMs);
            Outcome outcome = new Outcome(delivered, expected, whileStopped, seen);
            assertRemovalsAnnouncedInFull(outcome);
            assertRemovalsProvenByClose(outcome);
            assertChangesWhileStoppedAnnounced(outcome);
            return outcome;
        }
    }

    // ---------------------------------------------------------------- the changes

    /** Before every request: one change, chosen at random, to users the test does not watch. */
    private void change(FakeCloseApi fake) {
        if (!mutating.get()) {
            return;
        }
        int pick = churn.nextInt(11);
        String id = fake.userCount() == 0 ? null : fake.userIdAt(churn.nextInt(fake.userCount()));
        if (pick < 4) {
            if (id != null && !untouchable.contains(id)) {
                fake.edit(id);
            }
        } else if (pick < 6) {
            if (id != null && !untouchable.contains(id)) {
                fake.rename(id, FIRST[churn.nextInt(FIRST.length)], LAST[churn.nextInt(LAST.length)] + churn.nextInt(1000));
            }
        } else if (pick < 8) {
            fake.insertAt(churn.nextInt(fake.userCount() + 1));
        } else if (pick < 9) {
            if (id != null && !untouchable.contains(id)) {
                fake.delete(id);
            }
        } else if (pick < 10) {
            if (id != null && !untouchable.contains(id)) {
                fake.leaveOrganization(id);
            }
        } else {
            List<String> removed = fake.removedIds();
            removed.removeAll(untouchable);
            if (!removed.isEmpty()) {
                fake.readd(removed.get(churn.nextInt(removed.size())), churn.nextInt(fake.userCount() + 1));
            }
        }
    }

    /**
     * While the connector is stopped: deletes an announced user, moves another out of the
     * organization, and adds back a user whose removal the topic announced. The churn leaves them
     * alone from then on, so that what the connector must say about them is known.
     */
    private WhileStopped changeWhileStopped(UserTopicReader reader) {
        List<Delivered> delivered = reader.readToEnd(30_000);
        Map<String, Long> table = UserTopicReader.table(delivered);
        String addedBack = announcedRemoved(delivered).orElseThrow();
        List<String> announced = new ArrayList<>();
        synchronized (api) {
            api.currentVersions().forEach((id, micros) -> {
                if (Long.valueOf(Timestamps.toMillis(micros)).equals(table.get(id))) {
                    announced.add(id);
                }
            });
            assertTrue(announced.size() >= 2, "two listed users announced at their version: " + announced);
            String deleted = announced.get(churn.nextInt(announced.size()));
            announced.remove(deleted);
            String left = announced.get(churn.nextInt(announced.size()));
            untouchable.addAll(List.of(deleted, left, addedBack));
            api.delete(deleted);
            api.leaveOrganization(left);
            api.readd(addedBack, churn.nextInt(api.userCount() + 1));
            log.info("While stopped: deleted {}, moved {} out of the organization, added back {}", deleted, left, addedBack);
            return new WhileStopped(deleted, left, addedBack, delivered.size());
        }
    }

    /** A user removed in the fake now whose last record in the topic is its tombstone. */
    private Optional<String> announcedRemoved(List<Delivered> delivered) {
        Set<String> removed = new HashSet<>(api.removedIds());
        removed.removeAll(untouchable);
        Map<String, Delivered> last = UserTopicReader.lastOf(delivered, removed);
        return last.values().stream().filter(d -> d.kind() == Kind.TOMBSTONE).map(Delivered::id).sorted().findFirst();
    }

    /** Stops the changes; the fake's live users, as the topic read as a table must show them. */
    private Map<String, Long> stopChanging() {
        // The flag is read under the fake's lock: once this holds the lock, no change is under way.
        synchronized (api) {
            mutating.set(false);
            return UserTopicReader.tableOf(api.currentVersions());
        }
    }

    // ---------------------------------------------------------------- the checks every mode shares

    /**
     * Every removal record says removed, when, and why, and the next record with its key is its
     * tombstone (the default {@code removal.output}); no tombstone comes without a removal record;
     * and no user listed at the end is left tombstoned.
     */
    static void assertRemovalsAnnouncedInFull(Outcome outcome) {
        List<Delivered> delivered = outcome.delivered();
        Map<String, Delivered> previous = new HashMap<>();
        Set<String> awaitingTombstone = new HashSet<>();
        for (Delivered record : delivered) {
            String id = record.id();
            if (awaitingTombstone.contains(id)) {
                assertEquals(Kind.TOMBSTONE, record.kind(), "the record after the removal record of " + id + ": " + record);
                awaitingTombstone.remove(id);
            } else if (record.kind() == Kind.TOMBSTONE) {
                fail("a tombstone without a removal record before it: " + record + " after " + previous.get(id));
            }
            if (record.kind() == Kind.REMOVAL) {
                assertNotNull(record.removedAtMillis(), "removed_at of " + record);
                assertTrue(Set.of("not_found", "left_organization").contains(record.removalReason()),
                        "removal_reason of " + record);
                Delivered before = previous.get(id);
                assertTrue(before != null && before.kind() != Kind.REMOVAL,
                        "a removal record announces a user the topic announced: " + record + " after " + before);
                awaitingTombstone.add(id);
            }
            previous.put(id, record);
        }
        assertEquals(Set.of(), awaitingTombstone, "removal records without their tombstone");
        for (String id : outcome.expected().keySet()) {
            Delivered last = previous.get(id);
            assertTrue(last != null && last.isUser(), "listed user " + id + " ends with " + last);
        }
    }

    /**
     * No false removal: each removal record matches a confirmation of that user, made before the
     * record's {@code removed_at}, that Close answered with a proof of that reason (a 404 for
     * {@code not_found}, the user in another organization only for {@code left_organization}),
     * each confirmation proving one removal record at most.
     */
    static void assertRemovalsProvenByClose(Outcome outcome) {
        Map<String, List<Lookup>> proofs = new HashMap<>();
        for (Lookup lookup : outcome.lookups()) {
            if (lookup.answer() == Answer.NOT_FOUND || lookup.answer() == Answer.OTHER_ORGANIZATION) {
                proofs.computeIfAbsent(lookup.id(), id -> new ArrayList<>()).add(lookup);
            }
        }
        for (Delivered record : outcome.delivered()) {
            if (record.kind() != Kind.REMOVAL) {
                continue;
            }
            Answer wanted = record.removalReason().equals("not_found") ? Answer.NOT_FOUND : Answer.OTHER_ORGANIZATION;
            List<Lookup> candidates = proofs.getOrDefault(record.id(), new ArrayList<>());
            Lookup proof = candidates.stream()
                    .filter(l -> l.answer() == wanted && l.receivedMs() <= record.removedAtMillis())
                    .reduce((a, b) -> b).orElse(null);
            assertNotNull(proof, "a false removal: no answer of Close proves " + record + "; Close answered "
                    + outcome.lookups().stream().filter(l -> l.id().equals(record.id())).toList());
            candidates.remove(proof);
            if (wanted == Answer.OTHER_ORGANIZATION) {
                assertEquals(List.of(FakeCloseApi.OTHER_ORGANIZATION), record.organizations(),
                        "the removal record of a user who left carries the user as Close returned it: " + record);
            }
        }
    }

    /** What changed while the connector was stopped is announced after it resumes. */
    private static void assertChangesWhileStoppedAnnounced(Outcome outcome) {
        WhileStopped stopped = outcome.whileStopped();
        List<Delivered> after = outcome.delivered().subList(stopped.recordsBefore(), outcome.delivered().size());
        List<Kind> deleted = after.stream().filter(d -> d.id().equals(stopped.deleted())).map(Delivered::kind).toList();
        assertEquals(List.of(Kind.REMOVAL, Kind.TOMBSTONE), deleted, "the user deleted while stopped");
        assertEquals("not_found", reasonOf(after, stopped.deleted()));
        List<Kind> left = after.stream().filter(d -> d.id().equals(stopped.leftOrganization())).map(Delivered::kind).toList();
        assertEquals(List.of(Kind.REMOVAL, Kind.TOMBSTONE), left, "the user who left while stopped");
        assertEquals("left_organization", reasonOf(after, stopped.leftOrganization()));
        List<Delivered> back = after.stream().filter(d -> d.id().equals(stopped.addedBack())).toList();
        assertEquals(1, back.size(), "the user added back while stopped is announced again: " + back);
        assertEquals(outcome.expected().get(stopped.addedBack()), back.get(0).updatedMillis(),
                "at the date_updated it had before its removal");
    }

    private static String reasonOf(List<Delivered> records, String id) {
        return records.stream().filter(d -> d.id().equals(id) && d.kind() == Kind.REMOVAL).findFirst()
                .orElseThrow().removalReason();
    }

    private void assertCompacted(String... topics) throws InterruptedException, ExecutionException {
        try (Admin admin = connect.kafka().createAdminClient()) {
            List<ConfigResource> resources = new ArrayList<>();
            for (String name : topics) {
                resources.add(new ConfigResource(ConfigResource.Type.TOPIC, name));
            }
            Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get();
            for (ConfigResource resource : resources) {
                assertEquals("compact", configs.get(resource).get("cleanup.policy").value(),
                        "cleanup.policy of " + resource.name());
            }
        }
        for (Map.Entry<String, Optional<TopicDescription>> topic : connect.kafka().describeTopics(topics).entrySet()) {
            assertEquals(1, topic.getValue().orElseThrow().partitions().size(), "partitions of " + topic.getKey());
        }
    }

    private boolean topicsExist(String... topics) {
        return connect.kafka().describeTopics(topics).values().stream().allMatch(Optional::isPresent);
    }

    // ---------------------------------------------------------------- the request log

    /**
     * How many sweeps have started: requests for {@code _skip=0} that follow a later page (or
     * none). A walk that steps back to 0 counts too, so waits on it are lower bounds.
     */
    int sweepStarts() {
        List<Long> skips = api.requestedSkips();
        int started = 0;
        for (int i = 0; i < skips.size(); i++) {
            if (skips.get(i) == 0 && (i == 0 || skips.get(i - 1) > 0)) {
                started++;
            }
        }
        return started;
    }

    /** Waits until sweep {@code sweep} has started and its walk is between a quarter and half of the list; the _skip. */
    private long waitForMidWalk(int sweep) throws InterruptedException {
        long[] skip = new long[1];
        waitFor(() -> {
            List<Long> skips = api.requestedSkips();
            skip[0] = skips.isEmpty() ? 0 : skips.get(skips.size() - 1);
            int users = api.userCount();
            return sweepStarts() >= sweep && skip[0] >= users / 4 && skip[0] <= users / 2;
        }, 60_000, "sweep " + sweep + " to be half-way");
        return skip[0];
    }

    private static Answer answer(MockResponse response) {
        if (response.getCode() == 404) {
            return Answer.NOT_FOUND;
        }
        if (response.getCode() != 200 || response.getBody() == null) {
            return Answer.OTHER;
        }
        try {
            Buffer body = new Buffer();
            response.getBody().writeTo(body);
            JsonNode user = JSON.readTree(body.readUtf8());
            Collection<String> organizations = new ArrayList<>();
            user.path("organizations").forEach(o -> organizations.add(o.asText()));
            return organizations.contains(FakeCloseApi.ORGANIZATION) ? Answer.PRESENT : Answer.OTHER_ORGANIZATION;
        } catch (IOException e) {
            return Answer.OTHER;
        }
    }

    static void waitFor(BooleanSupplier condition, long timeoutMs, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("Timed out after " + timeoutMs + " ms waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    /** Deletes the connector, if it was created, and stops the fake. */
    @Override
    public void close() throws IOException {
        mutating.set(false);
        try {
            if (connect.connectors().contains(connector)) {
                connect.deleteConnector(connector);
            }
        } finally {
            server.close();
        }
    }
}
