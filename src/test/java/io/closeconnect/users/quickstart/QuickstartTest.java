package io.closeconnect.users.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.LocalTime;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The quickstart's record lines. */
class QuickstartTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final LocalTime NOW = LocalTime.of(17, 53, 48);

    private static String user(String id, String first, String last, String email, long created, long updated) {
        ObjectNode user = JSON.createObjectNode();
        user.put("id", id).put("first_name", first).put("last_name", last).put("email", email)
                .put("date_created", created).put("date_updated", updated);
        return user.toString();
    }

    @Test
    void theColumnsStayAlignedForLongNamesAndEmails() {
        String id = "user_" + "a".repeat(43);
        List<String> lines = List.of(
                Quickstart.describe(NOW, id, user(id, "Ada", "Lovelace", "ada@example.com", 1_000, 1_000)),
                Quickstart.describe(NOW, id, user(id, "Maximiliana Evangelina", "Montgomery-Featherstonehaugh",
                        "maximiliana.evangelina.montgomery-featherstonehaugh.of.the.research.department@example.com",
                        1_000, 1_764_352_420_503L)),
                Quickstart.describe(NOW, id, user(id, "", "", "", 5, 5)));
        int date = lines.get(0).indexOf("1970-01-01T00:00:01.000Z");
        int email = lines.get(0).indexOf('<');
        assertTrue(date > 0 && email > date, lines.get(0));
        assertEquals(date, lines.get(1).indexOf("2025-11-28T17:53:40.503Z"), String.join("\n", lines));
        assertEquals(email, lines.get(1).indexOf('<'), String.join("\n", lines));
        assertEquals(date, lines.get(2).indexOf("1970-01-01T00:00:00.005Z"), "whole milliseconds keep their width");
        assertEquals(email, lines.get(2).indexOf('<'), String.join("\n", lines));
        assertTrue(lines.get(1).contains("Maximiliana Evangelina \u2026"), "a long name is cut: " + lines.get(1));
        assertTrue(lines.get(1).endsWith("<maximiliana.evangelina.montgomery-featherstonehaugh.of.the.research.department@example.com>"),
                "the email is last and whole");
        assertTrue(lines.get(0).startsWith("17:53:48  " + id + "  created  "), lines.get(0));
        assertTrue(lines.get(1).startsWith("17:53:48  " + id + "  updated  "), lines.get(1));
    }

    @Test
    void aRemovalRecordAndATombstoneSaySoInTheSameColumn() {
        String id = "user_" + "b".repeat(43);
        String created = Quickstart.describe(NOW, id, user(id, "Ada", "Lovelace", "ada@example.com", 1, 1));
        String removal = Quickstart.describe(NOW, id, "{\"id\": \"" + id + "\", \"date_updated\": 1, \"removed\": true, "
                + "\"removed_at\": 7, \"removal_reason\": \"not_found\"}");
        String tombstone = Quickstart.describe(NOW, id, null);
        assertEquals(created.indexOf("created"), removal.indexOf("removed"), removal);
        assertEquals(created.indexOf("1970-01-01T00:00:00.001Z"), removal.indexOf("1970-01-01T00:00:00.007Z"), removal);
        assertTrue(removal.endsWith("(not_found)"), removal);
        assertEquals(created.indexOf("created"), tombstone.indexOf("forget"), tombstone);
    }
}
