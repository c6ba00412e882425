package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Users the walk passes by: tied names that the server reorders between two requests, and an
 * anchor that jumps ahead (removed and listed again further down, unchanged). Each case lost an
 * update or a snapshot record before the ledger; each must now reach the topic.
 */
class PassedUsersTest {

    private static final String NAME_ORDER = "last_name,first_name";

    /** Runs a sweep over {@code source}, returning the topic as a table: id to version, removals deleting. */
    private static final class Run {
        final ScriptedSource source;
        final UserSweep sweep;
        final Map<String, Long> table = new HashMap<>();
        int removals;

        Run(ScriptedSource source, int pageSize, String order) {
            this.source = source;
            this.sweep = new UserSweep(source, pageSize, 0, UserLedger.empty("https://x"),
                    SweepState.initial().inOrder(order), new RemovalValve(100, 0, ""), Delivery.IMMEDIATE);
        }

        void sweep() throws InterruptedException {
            UserSweep.Step step;
            int steps = 0;
            do {
                if (++steps > 10_000) {
                    throw new AssertionError("the sweep does not complete");
                }
                step = sweep.step();
                for (UserSweep.Output output : step.outputs()) {
                    if (output instanceof UserSweep.Changed changed) {
                        table.put(changed.user().id(), changed.user().updatedMicros());
                    } else if (output instanceof UserSweep.Removed removed) {
                        table.remove(removed.id());
                        removals++;
                    }
                }
            } while (!step.completed());
        }
    }

    @Test
    void threeTiedUsersReorderedAcrossPagesOfFourLoseNoEdit() throws Exception {
        for (String order : List.of(NAME_ORDER, "")) {
            ScriptedSource source = new ScriptedSource().add(false, "a", "b").add(true, "w", "x", "y")
                    .add(false, "c", "d", "e");
            Run run = new Run(source, 4, order);
            run.sweep();
            assertEquals(8, run.table.size());
            source.edit("y");
            int first = source.requests + 1;
            // Sweep 2 reads [a, b, w, x]; before its next request the tie group comes back as y, w, x.
            source.beforeRequest = n -> {
                if (n == first + 1) {
                    source.order("a", "b", "y", "w", "x", "c", "d", "e");
                }
            };
            int lookupsBefore = source.lookups;
            run.sweep();
            assertEquals(source.version("y"), run.table.get("y"), "y's edit reached the topic in sweep 2 (" + order + ")");
            if (order.equals(NAME_ORDER)) {
                assertEquals(lookupsBefore, source.lookups, "in name order the next page starts before the tie: "
                        + "the walk itself reads y");
            } else {
                assertEquals(lookupsBefore + 1, source.lookups, "in the default order the walk passes y, and the "
                        + "check of announced users it did not see finds the edit");
            }
        }
    }

    @Test
    void twoTiedUsersFlippingAfterARemovalLoseNoEdit() throws Exception {
        for (String order : List.of(NAME_ORDER, "")) {
            ScriptedSource source = new ScriptedSource().add(false, "a", "b").add(true, "x", "y")
                    .add(false, "c", "d", "e");
            Run run = new Run(source, 3, order);
            run.sweep();
            source.edit("y");
            int first = source.requests + 1;
            // Sweep 2 reads [a, b, x]; then a is removed and the tie flips.
            source.beforeRequest = n -> {
                if (n == first + 1) {
                    source.remove("a");
                    source.order("b", "y", "x", "c", "d", "e");
                }
            };
            run.sweep();
            assertEquals(source.version("y"), run.table.get("y"), "y's edit reached the topic (" + order + ")");
            assertTrue(run.table.containsKey("a"), "sweep 2 saw a before it left");
            source.beforeRequest = n -> { };
            run.sweep();
            assertFalse(run.table.containsKey("a"), "sweep 3 announces a's removal");
            assertEquals(1, run.removals);
        }
    }

    @Test
    void removalsBehindThatMoveThePageIntoATieDoNotMakeTheSnapshotPassATiedUser() throws Exception {
        ScriptedSource source = new ScriptedSource().add(false, "a", "b", "c").add(true, "w", "x", "y")
                .add(false, "d", "e");
        // The snapshot reads [a, b, c, w]; the next page starts at b, the overlap before c, the user
        // before the tie. Before that request a, b and c leave and the tie comes back as y, x, w: the
        // page at _skip=1 is [x, w, d, e], which holds the anchor w, while y now lies before the page.
        source.beforeRequest = n -> {
            if (n == 2) {
                source.remove("a");
                source.remove("b");
                source.remove("c");
                source.order("y", "x", "w", "d", "e");
            }
        };
        Run run = new Run(source, 4, NAME_ORDER);
        run.sweep();
        assertEquals(source.version("y"), run.table.get("y"), "the snapshot itself reads y");
        source.beforeRequest = n -> { };
        run.sweep();
        assertEquals(List.of("d", "e", "w", "x", "y"), run.table.keySet().stream().sorted().toList(),
                "the next sweep removes a, b and c and passes no one");
    }

    @Test
    void aUserPassedInTheSnapshotReachesTheTopicWithoutAnEdit() throws Exception {
        ScriptedSource source = new ScriptedSource().add(false, "a", "b").add(true, "w", "x", "y")
                .add(false, "c", "d", "e");
        // The snapshot reads [a, b, w, x]; then the tie comes back as y, w, x: in the default order
        // the walk continues at x and never reads y.
        source.beforeRequest = n -> {
            if (n == 2) {
                source.order("a", "b", "y", "w", "x", "c", "d", "e");
            }
        };
        Run run = new Run(source, 4, "");
        run.sweep();
        assertFalse(run.table.containsKey("y"), "the snapshot passed y (the case this test is about)");
        source.beforeRequest = n -> { };
        run.sweep();
        assertEquals(source.version("y"), run.table.get("y"),
                "y was never announced, so the next sweep emits it whatever its date_updated");
        assertEquals(8, run.table.size());
    }

    @Test
    void anAnchorThatJumpsAheadDoesNotMakeTheWalkSkipEditedUsers() throws Exception {
        ScriptedSource source = new ScriptedSource().add(false, "u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7");
        Run run = new Run(source, 2, "");
        run.sweep();
        source.edit("u2");
        source.edit("u3");
        int first = source.requests + 1;
        // Sweep 2 reads [u0, u1]. Then u1 (the newest anchor) is removed and listed again, unchanged,
        // further down inside the next page, and u0, just behind it, is removed.
        source.beforeRequest = n -> {
            if (n == first + 1) {
                source.remove("u0");
                source.remove("u1");
                source.readd("u1", 2);
            }
        };
        run.sweep();
        assertEquals(List.of("u2", "u3", "u1", "u4", "u5", "u6", "u7"), source.ids());
        assertEquals(source.version("u2"), run.table.get("u2"), "u2, passed by the jump, is confirmed and emitted");
        assertEquals(source.version("u3"), run.table.get("u3"), "u3, read before the anchor, is emitted");
        source.beforeRequest = n -> { };
        run.sweep();
        assertFalse(run.table.containsKey("u0"), "u0's removal is announced by the next sweep");
        assertTrue(run.table.containsKey("u1"), "u1 is listed: no removal");
    }
}
