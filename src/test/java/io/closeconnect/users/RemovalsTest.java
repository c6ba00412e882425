package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.log4j.AppenderSkeleton;
import org.apache.log4j.Level;
import org.apache.log4j.Logger;
import org.apache.log4j.spi.LoggingEvent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * Removals: a user who leaves is announced once confirmed, never before; a user who comes back
 * is emitted again; unknown answers and a wrong key never remove anyone; the valve holds a mass
 * removal until released; offsets of an earlier version build the ledger without re-emitting.
 */
class RemovalsTest {

    private static FakeCloseApi fake(long seed, int users) {
        FakeCloseApi api = new FakeCloseApi("key", seed, true);
        api.addUsers(users);
        return api;
    }

    private static List<SweepHarness.Delivered> of(SweepHarness harness, SweepHarness.Kind kind) {
        return harness.records.stream().filter(r -> r.kind() == kind).toList();
    }

    @Test
    void aDeletedUserAndOneWhoLeftAreAnnouncedRemovedByTheNextSweep() throws Exception {
        FakeCloseApi api = fake(1, 50);
        List<String> ids = new ArrayList<>(api.currentVersions().keySet());
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(1);
        api.delete(ids.get(3));
        api.leaveOrganization(ids.get(40));
        harness.runSweeps(1);
        List<SweepHarness.Delivered> removals = of(harness, SweepHarness.Kind.REMOVAL);
        assertEquals(List.of(ids.get(3), ids.get(40)), removals.stream().map(SweepHarness.Delivered::id).sorted().toList());
        assertEquals(2, of(harness, SweepHarness.Kind.TOMBSTONE).size());
        assertEquals(List.of(), harness.tableMismatches());
        assertEquals(4, api.lookupCount(), "the two missing users were confirmed, and again before going out");
        assertEquals(48, harness.sweep().ledger().memberCount());
        assertEquals(new UserSweep.RemovalSummary(2, 2, 0, 0), harness.sweep().lastRemovals());
        harness.runSweeps(2);
        assertEquals(2, of(harness, SweepHarness.Kind.REMOVAL).size(), "announced once");
        assertEquals(4, api.lookupCount(), "and never asked about again");
    }

    @Test
    void theRemovalRecordSaysWhyAndWhenAndTheTombstoneFollows() throws Exception {
        FakeCloseApi api = fake(2, 5);
        List<String> ids = new ArrayList<>(api.currentVersions().keySet());
        UserSweep sweep = new UserSweep(api, 10, 0, UserLedger.empty(SweepHarness.URL),
                SweepState.initial().inOrder(""), new RemovalValve(100, 0, ""), Delivery.IMMEDIATE);
        removals(sweep);
        api.leaveOrganization(ids.get(1));
        UserSweep.Removed removed = null;
        while (removed == null) {
            UserSweep.Step step = sweep.step();
            for (UserSweep.Output output : step.outputs()) {
                if (output instanceof UserSweep.Removed r) {
                    removed = r;
                }
            }
        }
        assertEquals(Departures.Reason.LEFT_ORGANIZATION, removed.reason());
        assertEquals(ids.get(1), removed.current().id(), "the user as Close returned it, in its new organization");
        UserRecordMapper mapper = new UserRecordMapper("t");
        SourceRecord record = mapper.toRemovalRecord(removed.id(), removed.lastVersion(), removed.current(),
                removed.removedAtMicros(), removed.reason().text, removed.partition(), removed.offset());
        Struct value = (Struct) record.value();
        assertEquals(true, value.get(UserRecordMapper.REMOVED));
        assertEquals("left_organization", value.get(UserRecordMapper.REMOVAL_REASON));
        assertEquals(Timestamps.toMillis(removed.removedAtMicros()), ((java.util.Date) value.get(UserRecordMapper.REMOVED_AT)).getTime());
        assertEquals(List.of(FakeCloseApi.OTHER_ORGANIZATION), value.get(UserRecordMapper.ORGANIZATIONS));
        assertEquals(record.timestamp(), Timestamps.toMillis(removed.removedAtMicros()));
        SourceRecord tombstone = mapper.toTombstone(removed.id(), removed.removedAtMicros(), removed.partition(),
                removed.offset());
        assertEquals(removed.id(), tombstone.key());
        assertNull(tombstone.value());
        assertNull(tombstone.valueSchema());
        assertEquals(UserLedger.partition(SweepHarness.URL, UserLedger.shardOf(removed.id())), tombstone.sourcePartition());
    }

    @Test
    void aUserListedAgainIsEmittedAgainEvenWithTheSameDateUpdated() throws Exception {
        FakeCloseApi api = fake(3, 30);
        List<String> ids = new ArrayList<>(api.currentVersions().keySet());
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(1);
        long version = api.currentVersions().get(ids.get(7));
        api.delete(ids.get(7));
        harness.runSweeps(1);
        assertFalse(harness.table().containsKey(ids.get(7)));
        api.readd(ids.get(7), 2);
        harness.runSweeps(1);
        assertEquals(version, harness.table().get(ids.get(7)), "emitted again, at the same version");
        assertEquals(2, harness.emitted().stream().filter(v -> v.id().equals(ids.get(7))).count());
        assertEquals(0, harness.duplicates(), "a version emitted again after its removal is no duplicate");
    }

    @Test
    void aUserRemovedAndListedAgainBeforeTheCheckIsNotRemoved() throws Exception {
        FakeCloseApi api = fake(4, 30);
        List<String> ids = new ArrayList<>(api.currentVersions().keySet());
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(1);
        api.delete(ids.get(25));
        api.beforeEachRequest(a -> {
            // Sweep 2's walk (4 pages) misses the user; it is back, elsewhere, when the check asks about it.
            if (a.requestCount() == 8 && !a.isListed(ids.get(25))) {
                a.readd(ids.get(25), 0);
            }
        });
        harness.runSweeps(2);
        assertEquals(1, api.lookupCount(), "the walk missed it, so the sweep asked Close about it");
        assertEquals(List.of(), of(harness, SweepHarness.Kind.REMOVAL));
        assertEquals(List.of(), harness.tableMismatches());
    }

    /** A source whose single-user answers say nothing, whose /me/ lists nothing, or which answers as another organization. */
    private static final class Unhelpful extends ScriptedSourceWrapper {
        UserLookup answer;
        List<String> organizations = List.of(ScriptedSource.ORGANIZATION);

        Unhelpful(ScriptedSource source) {
            super(source);
        }

        @Override
        public UserLookup lookUp(String id) {
            return answer != null ? answer : super.lookUp(id);
        }

        @Override
        public List<String> myOrganizations() {
            return organizations;
        }
    }

    /** Delegates to a scripted source. */
    private static class ScriptedSourceWrapper implements UserSource {
        final ScriptedSource source;

        ScriptedSourceWrapper(ScriptedSource source) {
            this.source = source;
        }

        @Override
        public UserPage fetch(long skip, int limit) {
            return source.fetch(skip, limit);
        }

        @Override
        public UserLookup lookUp(String id) {
            return source.lookUp(id);
        }

        @Override
        public List<String> myOrganizations() {
            return source.myOrganizations();
        }
    }

    private static int removals(UserSweep sweep) throws InterruptedException {
        int removals = 0;
        UserSweep.Step step;
        do {
            step = sweep.step();
            for (UserSweep.Output output : step.outputs()) {
                removals += output instanceof UserSweep.Removed ? 1 : 0;
            }
        } while (!step.completed());
        return removals;
    }

    @Test
    void answersThatProveNothingRemoveNobodyAndAreCheckedAgain() throws Exception {
        ScriptedSource script = new ScriptedSource().add(false, "a", "b", "c", "d");
        Unhelpful source = new Unhelpful(script);
        UserSweep sweep = new UserSweep(source, 3, 0, UserLedger.empty("https://x"), SweepState.initial().inOrder(""),
                new RemovalValve(100, 0, ""), Delivery.IMMEDIATE);
        removals(sweep);
        script.remove("b");
        for (UserLookup answer : List.of(UserLookup.inconclusive(403, "Forbidden"),
                UserLookup.inconclusive(404, "The requested URL was not found"),
                UserLookup.inconclusive(418, ""))) {
            source.answer = answer;
            assertEquals(0, removals(sweep), answer.toString());
            assertEquals(1, sweep.lastRemovals().unconfirmed());
            assertEquals(4, sweep.ledger().memberCount(), "b stays announced");
        }
        // Another organization's answer proves nothing when our own organizations are unknown.
        source.answer = UserLookup.found(otherOrganization("b"));
        source.organizations = null;
        assertEquals(0, removals(sweep));
        source.organizations = List.of();
        assertEquals(0, removals(sweep), "an empty list of our organizations is as good as unknown");
        source.organizations = List.of(ScriptedSource.ORGANIZATION);
        assertEquals(1, removals(sweep), "with both lists known, it proves the departure");
        assertEquals(3, sweep.ledger().memberCount());
    }

    private static CloseUser otherOrganization(String id) {
        com.fasterxml.jackson.databind.node.ObjectNode node = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        node.put("id", id);
        node.putArray("organizations").add("orga_elsewhere");
        return new CloseUser(id, 1L, node);
    }

    @Test
    void aUserTheWalkPassedIsConfirmedPresentAndEmittedIfItChanged() throws Exception {
        ScriptedSource script = new ScriptedSource().add(false, "a", "b", "c", "d", "e");
        UserSweep sweep = new UserSweep(script, 3, 0, UserLedger.empty("https://x"), SweepState.initial().inOrder(""),
                new RemovalValve(100, 0, ""), Delivery.IMMEDIATE);
        removals(sweep);
        script.edit("d");
        script.beforeRequest = n -> {
            if (n == 4) {
                script.order("d", "a", "b", "c", "e"); // after sweep 2 read [a, b, c], d jumps behind the walk
            }
        };
        List<String> emitted = new ArrayList<>();
        UserSweep.Step step;
        do {
            step = sweep.step();
            step.outputs().forEach(o -> emitted.add(((UserSweep.Changed) o).user().id()));
        } while (!step.completed());
        assertEquals(List.of("d"), emitted);
        assertEquals(1, script.lookups, "found by the check of announced users the walk did not see");
        assertEquals(script.version("d"), sweep.ledger().announced("d"));
    }

    // ---------------------------------------------------------------- the valve

    private static final class LogCapture extends AppenderSkeleton {
        final List<LoggingEvent> events = new ArrayList<>();

        @Override
        protected void append(LoggingEvent event) {
            events.add(event);
        }

        @Override
        public void close() {
        }

        @Override
        public boolean requiresLayout() {
            return false;
        }

        List<String> errors() {
            return events.stream().filter(e -> e.getLevel() == Level.ERROR).map(e -> e.getRenderedMessage()).toList();
        }
    }

    private final LogCapture capture = new LogCapture();

    @AfterEach
    void detach() {
        Logger.getRootLogger().removeAppender(capture);
    }

    @Test
    void aSweepThatLosesNinetyPercentAnnouncesNothingSaysWhyAndReleasesWhenTold() throws Exception {
        Logger.getRootLogger().addAppender(capture);
        FakeCloseApi api = fake(5, 200);
        List<String> ids = new ArrayList<>(api.currentVersions().keySet());
        SweepHarness harness = new SweepHarness(api, 25).valve(new RemovalValve(5, 10, ""));
        harness.runSweeps(1);
        for (int i = 0; i < 180; i++) {
            api.delete(ids.get(i));
        }
        harness.runSweeps(1);
        assertEquals(List.of(), of(harness, SweepHarness.Kind.REMOVAL));
        assertEquals(0, api.lookupCount(), "a held sweep sends no confirmation request either");
        assertEquals(180, harness.sweep().lastRemovals().held());
        List<String> errors = capture.errors();
        assertEquals(1, errors.size(), "one ERROR per sweep: " + errors);
        String error = errors.get(0);
        String token = RemovalValve.token(ids.subList(0, 180));
        for (String part : List.of("Holding 180 removals", "of the 200 announced users", "more than the 10",
                "removal.release", token, "PUT /connectors/<name>/config")) {
            assertTrue(error.contains(part), "'" + part + "' in: " + error);
        }
        harness.runSweeps(1);
        assertEquals(2, capture.errors().size(), "held again, said again");
        assertEquals(200, harness.sweep().ledger().memberCount(), "nothing is lost while held");

        // A release of another set (one more user gone since) does not apply.
        api.delete(ids.get(180));
        harness.valve(new RemovalValve(5, 10, token));
        harness.runSweeps(1);
        assertEquals(List.of(), of(harness, SweepHarness.Kind.REMOVAL));
        String newToken = RemovalValve.token(ids.subList(0, 181));
        assertTrue(capture.errors().get(capture.errors().size() - 1).contains(newToken));

        harness.valve(new RemovalValve(5, 10, newToken));
        harness.runSweeps(1);
        assertEquals(181, of(harness, SweepHarness.Kind.REMOVAL).size(), "released: every one, each confirmed");
        assertEquals(2 * 181, api.lookupCount(), "each confirmed, and again just before it went out");
        assertEquals(List.of(), harness.tableMismatches());
        assertEquals(0, harness.sweep().lastRemovals().held());
    }

    @Test
    void removalsUpToTheThresholdGoThrough() throws Exception {
        RemovalValve valve = new RemovalValve(5, 10, "");
        assertEquals(10, valve.threshold(0));
        assertEquals(10, valve.threshold(200));
        assertEquals(50, valve.threshold(1_000));
        assertEquals(51, valve.threshold(1_001), "the share rounds up");
        FakeCloseApi api = fake(6, 1_000);
        List<String> ids = new ArrayList<>(api.currentVersions().keySet());
        SweepHarness harness = new SweepHarness(api, 100).valve(valve);
        harness.runSweeps(1);
        for (int i = 0; i < 50; i++) {
            api.delete(ids.get(i * 20));
        }
        harness.runSweeps(1);
        assertEquals(50, of(harness, SweepHarness.Kind.REMOVAL).size());
    }

    @Test
    void anEmptyListFromCloseHoldsEverything() throws Exception {
        ScriptedSource script = new ScriptedSource().add(false, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l");
        UserSweep sweep = new UserSweep(script, 5, 0, UserLedger.empty("https://x"), SweepState.initial().inOrder(""),
                new RemovalValve(5, 10, ""), Delivery.IMMEDIATE);
        removals(sweep);
        for (String id : List.copyOf(script.ids())) {
            script.remove(id);
        }
        assertEquals(0, removals(sweep), "an outage that lists nobody removes nobody");
        assertEquals(12, sweep.lastRemovals().held());
        assertEquals(0, script.lookups);
    }

    // ---------------------------------------------------------------- offsets of an earlier version

    @Test
    void offsetsOfTheVersionBeforeTheLedgerBuildItWithoutReEmittingAnyone() throws Exception {
        FakeCloseApi api = fake(7, 60);
        List<String> ids = new ArrayList<>(api.currentVersions().keySet());
        long watermark = api.nowMicros();
        api.advanceClock(1_000_000);
        api.edit(ids.get(10)); // after the old watermark: the old connector had not emitted it
        api.edit(ids.get(20)); // after it too, but the old offset's recent says it was emitted
        long recent = api.currentVersions().get(ids.get(20));
        Map<String, Object> legacy = Map.of("skip", 27L, "watermark", Timestamps.format(watermark),
                "sweep_started", Timestamps.format(watermark + 500_000), "anchors", ids.get(27) + "@"
                        + Timestamps.format(api.currentVersions().get(ids.get(27))),
                "recent", ids.get(20) + "@" + Timestamps.format(recent), "order_by", "");
        SweepState restored = SweepState.fromMap(legacy);
        assertNull(restored.ledger());
        UserSweep sweep = new UserSweep(api, 10, 0, UserLedger.empty(SweepHarness.URL), restored.inOrder(""),
                new RemovalValve(5, 10, ""), Delivery.IMMEDIATE);
        assertEquals(SweepState.LedgerStatus.BUILDING, sweep.state().ledger());
        assertFalse(sweep.inProgress(), "the old sweep in progress is walked again from the start");
        List<String> emitted = new ArrayList<>();
        UserSweep.Step step;
        do {
            step = sweep.step();
            step.outputs().forEach(o -> emitted.add(((UserSweep.Changed) o).user().id()));
        } while (!step.completed());
        assertEquals(List.of(ids.get(10)), emitted, "only the edit the old connector had not emitted");
        assertEquals(60, sweep.ledger().memberCount(), "every listed user is in the ledger now");
        assertEquals(SweepState.LedgerStatus.COMPLETE, sweep.state().ledger());
        api.delete(ids.get(5));
        assertEquals(1, removals(sweep), "and removals are detected from then on");
    }

    @Test
    void aHandWrittenWatermarkReplaysChangesAfterItAndKeepsTheLedger() throws Exception {
        FakeCloseApi api = fake(8, 40);
        List<String> ids = new ArrayList<>(api.currentVersions().keySet());
        SweepHarness harness = new SweepHarness(api, 10);
        harness.runSweeps(1);
        long replayFrom = api.nowMicros();
        api.advanceClock(1_000);
        api.edit(ids.get(3));
        api.edit(ids.get(30));
        harness.runSweeps(1);
        int before = harness.emitted().size();
        // The operator PATCHes {"watermark": replayFrom}; the ledger partitions stay as they are.
        Map<Map<String, String>, Map<String, Object>> stored = new java.util.HashMap<>();
        for (SweepHarness.Delivered record : harness.records) {
            stored.put(record.partition(), record.offset());
        }
        stored.put(SweepState.partition(SweepHarness.URL), Map.of("watermark", Timestamps.format(replayFrom)));
        UserLedger ledger = UserLedger.restore(SweepHarness.URL, stored);
        UserSweep sweep = new UserSweep(api, 10, 0, ledger,
                SweepState.fromMap(stored.get(SweepState.partition(SweepHarness.URL))).inOrder(""),
                new RemovalValve(5, 10, ""), Delivery.IMMEDIATE);
        List<String> replayed = new ArrayList<>();
        UserSweep.Step step;
        do {
            step = sweep.step();
            step.outputs().forEach(o -> replayed.add(((UserSweep.Changed) o).user().id()));
        } while (!step.completed());
        replayed.sort(null);
        assertEquals(List.of(ids.get(3), ids.get(30)), replayed, "each user changed after the moment, once");
        assertEquals(42, before);
        api.delete(ids.get(0));
        assertEquals(1, removals(sweep), "the ledger kept every announced user: removals still work");
    }
}
