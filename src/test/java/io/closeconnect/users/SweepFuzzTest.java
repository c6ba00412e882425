package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A slice of {@link SweepFuzz} in every build, from fixed seeds: at least 5,000 tie schedules and
 * 5,000 re-add schedules (issue 14), and a thousand of each other family, all with zero losses,
 * zero false removals, zero late removals and zero duplicates without a lost offset. The full run
 * is {@code mvn -B -Pfuzz verify}.
 */
class SweepFuzzTest {

    @ParameterizedTest(name = "{0}: {2} schedules")
    @CsvSource({"TIES, 1, 5000", "READDS, 1, 5000", "ANCHORS, 1, 1000", "CHURN, 1, 1000"})
    void everyScheduleKeepsTheInvariants(SweepFuzz.Family family, long firstSeed, int count) throws Exception {
        // Two threads: CI's machines have two cores, and the slices' tallies add up to one run's.
        SweepFuzz.Tally tally = SweepFuzz.run(family, firstSeed, count, 2);
        String report = SweepFuzz.Tally.header() + "\n" + tally.row() + "\n" + String.join("\n", tally.examples);
        assertEquals(count, tally.schedules);
        assertEquals(0, tally.lostUsers, report);
        assertEquals(0, tally.falseRemovals, report);
        assertEquals(0, tally.lateRemovals, report);
        assertEquals(0, tally.duplicatesWithoutLoss, report);
        assertTrue(tally.crashes > count / 2, "crashes exercised: " + tally.crashes);
        System.out.println(report);
    }
}
