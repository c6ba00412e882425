package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;

/**
 * Attacks a review made on the sweep, each one a way to remove people who did not leave or to
 * announce people who are not the account's, kept as regression tests.
 */
class AttackRegressionTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static CloseUser user(String id, String organization) {
        ObjectNode node = JSON.createObjectNode();
        node.put("id", id);
        node.put("first_name", "F");
        node.put("last_name", id);
        node.put("date_updated", "2024-01-01T00:00:00.000000Z");
        node.putArray("organizations").add(organization);
        return new CloseUser(id, Timestamps.parseMicros("2024-01-01T00:00:00Z"), node);
    }

    /** A list the test replaces at will, with /me/ and single-user answers it sets. */
    private static final class Account implements UserSource {
        List<CloseUser> users = new ArrayList<>();
        List<String> me = List.of("orga_ours");
        Map<String, UserLookup> answers = new HashMap<>();
        int lookups;

        @Override
        public UserPage fetch(long skip, int limit) {
            List<CloseUser> page = users.subList((int) Math.min(skip, users.size()),
                    (int) Math.min(users.size(), skip + limit));
            return new UserPage(new ArrayList<>(page), skip + limit < users.size(), 1_800_000_000_000_000L, limit);
        }

        @Override
        public UserLookup lookUp(String id) {
            lookups++;
            UserLookup answer = answers.get(id);
            if (answer != null) {
                return answer;
            }
            for (CloseUser user : users) {
                if (user.id().equals(id)) {
                    return UserLookup.found(user);
                }
            }
            return UserLookup.notFound("Empty query");
        }

        @Override
        public List<String> myOrganizations() {
            return me;
        }
    }

    private static int sweep(UserSweep sweep) throws InterruptedException {
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

    private static UserSweep sweepOver(Account account) {
        return new UserSweep(account, 500, 0, UserLedger.empty("https://x"), SweepState.initial().inOrder(""),
                new RemovalValve(5, 10, ""), Delivery.IMMEDIATE);
    }

    @Test
    void usersListedForTheFirstTimeDoNotRaiseTheRemovalThreshold() throws Exception {
        Account account = new Account();
        for (int i = 0; i < 100; i++) {
            account.users.add(user("user_ours_" + i, "orga_ours"));
        }
        UserSweep sweep = sweepOver(account);
        sweep(sweep);
        // 90 of the 100 vanish while 3,000 users never seen before appear: the threshold is 5% of the
        // 100 the sweep started with, not of 3,010.
        List<CloseUser> next = new ArrayList<>(account.users.subList(0, 10));
        for (int i = 0; i < 3_000; i++) {
            next.add(user("user_new_" + i, "orga_ours"));
        }
        account.users = next;
        assertEquals(0, sweep(sweep));
        assertEquals(90, sweep.lastRemovals().held());
        assertEquals(0, account.lookups);
    }

    @Test
    void aSweepThatMissesEveryAnnouncedUserIsHeldHoweverFew() throws Exception {
        Account account = new Account();
        for (int i = 0; i < 8; i++) {
            account.users.add(user("user_" + i, "orga_ours"));
        }
        UserSweep sweep = sweepOver(account);
        sweep(sweep);
        account.users = new ArrayList<>();
        List<String> errors;
        try (LogCapture log = LogCapture.of(UserSweep.class)) {
            assertEquals(0, sweep(sweep), "below the minimum of 10, but every one of them");
            errors = log.messages(org.apache.log4j.Level.ERROR, "Holding ");
        }
        assertEquals(8, sweep.lastRemovals().held());
        assertEquals(1, errors.size(), errors.toString());
        String error = errors.get(0);
        assertTrue(error.contains("8 of the 8 announced users are missing")
                && error.contains("every announced user, which no sweep removes without a release")
                && !error.contains("more than the"), error);
        account.users = new ArrayList<>(List.of(user("user_0", "orga_ours")));
        assertEquals(7, sweep(sweep), "one still there: the others are removals like any");
    }

    @Test
    void aLookupAnsweredWithAnotherUsersObjectProvesNothing() throws Exception {
        Account account = new Account();
        account.users.add(user("user_a", "orga_ours"));
        account.users.add(user("user_b", "orga_ours"));
        UserSweep sweep = sweepOver(account);
        sweep(sweep);
        account.users.remove(1);
        account.answers.put("user_b", UserLookup.found(user("user_z", "orga_elsewhere")));
        assertEquals(0, sweep(sweep));
        assertEquals(1, sweep.lastRemovals().unconfirmed());
    }

    @Test
    void aMeAnswerTheListDoesNotBearOutProvesNoDeparture() throws Exception {
        Account account = new Account();
        account.users.add(user("user_a", "orga_ours"));
        account.users.add(user("user_b", "orga_ours"));
        account.users.add(user("user_c", "orga_ours"));
        UserSweep sweep = sweepOver(account);
        sweep(sweep);
        // /me/ says the credential's user is in another organization than every listed user's; a
        // missing user found in "orga_ours" would count as gone if /me/ alone were believed.
        account.me = List.of("orga_elsewhere");
        account.users.remove(2);
        account.answers.put("user_c", UserLookup.found(user("user_c", "orga_ours")));
        assertEquals(0, sweep(sweep));
        account.answers.put("user_c", UserLookup.notFound("Empty query"));
        assertEquals(1, sweep(sweep), "a 404 still proves it");
    }

    @Test
    void aCredentialOfAnotherAccountStopsTheTaskBeforeItAnnouncesAnyone() throws Exception {
        Account account = new Account();
        account.users.add(user("user_a", "orga_ours"));
        UserSweep sweep = sweepOver(account);
        sweep(sweep);
        assertEquals(List.of("orga_ours"), sweep.state().organizations());
        // The task restarts with another account's key.
        Account other = new Account();
        other.me = List.of("orga_theirs");
        other.users.add(user("user_stranger", "orga_theirs"));
        UserSweep restarted = new UserSweep(other, 500, 0, sweep.ledger(),
                SweepState.fromMap(sweep.state().toMap()).inOrder(""), new RemovalValve(5, 10, ""), Delivery.IMMEDIATE);
        ConnectException e = assertThrows(ConnectException.class, restarted::step);
        assertTrue(e.getMessage().contains("another account's credential") && e.getMessage().contains("orga_theirs")
                && e.getMessage().contains("DELETE /connectors/<name>/offsets"), e.getMessage());
        // The same account, whose user joined one more organization, is fine.
        account.me = List.of("orga_new", "orga_ours");
        UserSweep same = new UserSweep(account, 500, 0, sweep.ledger(),
                SweepState.fromMap(sweep.state().toMap()).inOrder(""), new RemovalValve(5, 10, ""), Delivery.IMMEDIATE);
        sweep(same);
    }

    @Test
    void aCrashBeforeTheUpgradeSweepsOwnOffsetIsStoredGoesOnBuilding() throws Exception {
        FakeCloseApi api = new FakeCloseApi("key", 71, true);
        api.addUsers(40);
        Map<String, Object> legacy = new LinkedHashMap<>();
        legacy.put("watermark", Timestamps.format(api.nowMicros()));
        UserSweep first = new UserSweep(api, 10, 0, UserLedger.empty(SweepHarness.URL),
                SweepState.fromMap(legacy).inOrder(""), new RemovalValve(5, 10, ""), Delivery.IMMEDIATE);
        UserSweep.Step step = first.step();
        assertEquals(List.of(), step.outputs(), "every user is at or before the old watermark: adopted, not emitted");
        // The worker stored the shards of that step but not its sweep offset: the old one is still there.
        Map<Map<String, String>, Map<String, Object>> stored = new HashMap<>();
        for (UserLedger.Checkpoint checkpoint : step.checkpoints()) {
            assertEquals("building", checkpoint.offset().get(UserLedger.BUILDING));
            stored.put(checkpoint.partition(), new LinkedHashMap<>(checkpoint.offset()));
        }
        UserLedger restored = UserLedger.restore(SweepHarness.URL, stored);
        UserSweep again = new UserSweep(api, 10, 0, restored, SweepState.fromMap(legacy).inOrder(""),
                new RemovalValve(5, 10, ""), Delivery.IMMEDIATE);
        assertEquals(SweepState.LedgerStatus.BUILDING, again.state().ledger(), "not taken for a hand-written replay");
        int emitted = 0;
        do {
            step = again.step();
            emitted += step.outputs().size();
        } while (!step.completed());
        assertEquals(0, emitted, "nobody emitted again");
        assertEquals(40, again.ledger().memberCount());
        for (UserLedger.Checkpoint checkpoint : step.checkpoints()) {
            assertTrue(!checkpoint.offset().containsKey(UserLedger.BUILDING), "once built, no shard keeps the mark");
        }
    }

    @Test
    void theBuildingStateCannotBeWrittenByHand() {
        CloseUsersSourceConnector connector = new CloseUsersSourceConnector();
        Map<String, String> config = Map.of(CloseUsersConfig.API_KEY, "k", CloseUsersConfig.API_URL, SweepHarness.URL);
        ConnectException main = assertThrows(ConnectException.class, () -> connector.alterOffsets(config,
                Map.of(SweepState.partition(SweepHarness.URL), Map.of("ledger", "building",
                        "watermark", "2024-01-01T00:00:00Z"))));
        assertTrue(main.getMessage().contains("'ledger' = 'building'"), main.getMessage());
        String id = "user_x";
        ConnectException shard = assertThrows(ConnectException.class, () -> connector.alterOffsets(config,
                Map.of(UserLedger.partition(SweepHarness.URL, UserLedger.shardOf(id)),
                        Map.of("announced", "", "ledger", "building"))));
        assertTrue(shard.getMessage().contains("'ledger'"), shard.getMessage());
    }
}
