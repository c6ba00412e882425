package io.closeconnect.users.mutation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The per-class table printed after a PIT run, from a mutations.xml in PIT's format. */
class MutationScoresTest {

    private static String mutation(String status, boolean detected, String mutatedClass, int line) {
        return "<mutation detected='" + detected + "' status='" + status + "' numberOfTestsRun='2'>"
                + "<sourceFile>X.java</sourceFile><mutatedClass>" + mutatedClass + "</mutatedClass>"
                + "<mutatedMethod>parse</mutatedMethod><methodDescription>()V</methodDescription>"
                + "<lineNumber>" + line + "</lineNumber>"
                + "<mutator>org.pitest.mutationtest.engine.gregor.mutators.NegateConditionalsMutator</mutator>"
                + "<indexes><index>5</index></indexes><blocks><block>1</block></blocks>"
                + "<killingTest/><description>negated conditional</description></mutation>";
    }

    private static final String XML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<mutations partial=\"true\">"
            + mutation("KILLED", true, "io.closeconnect.users.RateLimiter", 10)
            + mutation("TIMED_OUT", true, "io.closeconnect.users.RateLimiter", 11)
            + mutation("SURVIVED", false, "io.closeconnect.users.RateLimiter$Window", 12)
            + mutation("KILLED", true, "io.closeconnect.users.Timestamps", 3)
            + mutation("NO_COVERAGE", false, "io.closeconnect.users.Timestamps", 4)
            + "</mutations>";

    private static List<MutationScores.Mutant> mutants() throws IOException {
        return MutationScores.read(new ByteArrayInputStream(XML.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void countsDetectedMutantsPerTopLevelClass() throws IOException {
        List<MutationScores.Score> scores = MutationScores.scores(mutants());
        assertEquals(List.of(new MutationScores.Score("RateLimiter", 3, 2, 1, 0),
                new MutationScores.Score("Timestamps", 2, 1, 0, 1)), scores);
        assertEquals(66, scores.get(0).percent(), "2 of 3, rounded down");
        assertEquals(50, scores.get(1).percent());
    }

    @Test
    void printsTheTableAndTheSurvivorsWithTheirLines() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        MutationScores.print(mutants(), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(out.matches("(?s).*RateLimiter\\s+3\\s+2\\s+1\\s+0\\s+66%.*"), out);
        assertTrue(out.matches("(?s).*all\\s+5\\s+3\\s+60%.*"), out);
        assertTrue(out.contains("RateLimiter:12 parse(): negated conditional [NegateConditionalsMutator]"), out);
        assertTrue(out.contains("Timestamps:4 parse(): negated conditional [NegateConditionalsMutator, NO_COVERAGE]"), out);
    }

    @Test
    void refusesWhatIsNotXml() {
        assertThrows(IOException.class, () -> MutationScores.read(new ByteArrayInputStream("{}".getBytes(StandardCharsets.UTF_8))));
    }
}
