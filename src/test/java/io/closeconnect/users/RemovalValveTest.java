package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class RemovalValveTest {

    private static List<String> ids(int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add("user_" + i);
        }
        return ids;
    }

    @Test
    void theThresholdIsTheShareRoundedUpButNeverBelowTheMinimum() {
        RemovalValve valve = new RemovalValve(5, 10, "");
        assertEquals(5.0, valve.percent());
        assertEquals(10, valve.minimum());
        assertEquals(10, valve.threshold(0));
        assertEquals(10, valve.threshold(200), "5% of 200 is under the minimum");
        assertEquals(50, valve.threshold(1_000));
        assertEquals(51, valve.threshold(1_001), "50.05 rounds up");
        assertEquals(3, new RemovalValve(2.5, 0, "").threshold(120));
    }

    @Test
    void candidatesUpToTheThresholdGoThroughAndOneMoreIsHeld() {
        RemovalValve valve = new RemovalValve(5, 10, "");
        RemovalValve.Decision within = valve.judge(ids(50), 1_000);
        assertFalse(within.hold());
        assertFalse(within.released());
        assertEquals(50, within.threshold());
        assertEquals("", within.token(), "a set within the threshold needs no token");

        RemovalValve.Decision over = valve.judge(ids(51), 1_000);
        assertTrue(over.hold());
        assertFalse(over.released());
        assertEquals(50, over.threshold());
        assertEquals(RemovalValve.token(ids(51)), over.token());
    }

    @Test
    void everyAnnouncedUserMissingIsHeldWhateverTheMinimumUnlessTheValveIsOff() {
        RemovalValve valve = new RemovalValve(50, 10, "");
        assertTrue(valve.judge(ids(3), 3).hold(), "3 of 3 gone, though 10 may always go");
        assertFalse(valve.judge(ids(2), 3).hold(), "2 of 3 gone is within the minimum");
        assertFalse(valve.judge(List.of(), 0).hold(), "nothing announced, nothing missing: nothing to hold");
        assertFalse(new RemovalValve(99.9, 10, "").judge(ids(3), 4).hold());
        assertTrue(new RemovalValve(99.9, 10, "").judge(ids(4), 4).hold());
        RemovalValve off = new RemovalValve(100, 0, "");
        assertFalse(off.judge(ids(3), 3).hold(), "100 percent turns the valve off");
        assertEquals(3, off.threshold(3));
    }

    @Test
    void aReleaseAppliesToExactlyTheSetItNames() {
        String token = RemovalValve.token(ids(30));
        RemovalValve released = new RemovalValve(5, 10, "  " + token + "\n");
        RemovalValve.Decision decision = released.judge(ids(30), 100);
        assertFalse(decision.hold(), "the token, blanks around it trimmed, releases the set");
        assertTrue(decision.released());
        assertEquals(token, decision.token());

        RemovalValve.Decision other = released.judge(ids(31), 100);
        assertTrue(other.hold(), "one more user gone is another set");
        assertFalse(other.released());

        RemovalValve.Decision unset = new RemovalValve(5, 10, null).judge(ids(30), 100);
        assertTrue(unset.hold());
        assertFalse(unset.released());
        assertTrue(new RemovalValve(5, 10, null).judge(ids(5), 100).token().isEmpty());
    }

    @Test
    void theTokenIsTheCountAndTheStartOfASha256OverTheSortedIds() {
        // printf 'a\nb\nc\n' | sha256sum
        assertEquals("3-880553fca8fc", RemovalValve.token(List.of("c", "a", "b")));
        assertEquals(RemovalValve.token(List.of("a", "b", "c")), RemovalValve.token(List.of("b", "c", "a")),
                "the order the walk missed them in does not matter");
        // printf '' | sha256sum
        assertEquals("0-e3b0c44298fc", RemovalValve.token(List.of()));
        List<String> ids = new ArrayList<>(List.of("b", "a"));
        RemovalValve.token(ids);
        assertEquals(List.of("b", "a"), ids, "the caller's list is left as it was");
    }
}
