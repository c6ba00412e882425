package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class DeparturesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> MINE = List.of("orga_1", "orga_2");

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static UserLookup found(String id, String organizations) {
        ObjectNode node = (ObjectNode) json("{\"id\": \"" + id + "\"}");
        if (organizations != null) {
            node.set("organizations", json(organizations));
        }
        return UserLookup.found(new CloseUser(id, 1L, node));
    }

    @Test
    void aCloseNotFoundIsARemoval() {
        Departures.Verdict verdict = Departures.judge("user_a", UserLookup.notFound("Empty query: not found"), MINE);
        assertEquals(Departures.Reason.NOT_FOUND, verdict.removed());
        assertNull(verdict.present());
        assertFalse(verdict.unknown());
        assertEquals("not_found", verdict.removed().text);
    }

    @Test
    void anyOtherAnswerProvesNothingAndSaysWhat() {
        Departures.Verdict verdict = Departures.judge("user_a", UserLookup.inconclusive(403, "Forbidden"), MINE);
        assertTrue(verdict.unknown());
        assertEquals("Close answered 403 (Forbidden)", verdict.detail());
        assertEquals("Close answered 404", Departures.judge("user_a", UserLookup.inconclusive(404, ""), MINE).detail(),
                "no empty parentheses without a detail");
    }

    @Test
    void anAnswerAboutAnotherUserProvesNothing() {
        Departures.Verdict verdict = Departures.judge("user_a", found("user_b", "[\"orga_9\"]"), MINE);
        assertTrue(verdict.unknown());
        assertEquals("Close answered with user user_b, not user_a", verdict.detail());
    }

    @Test
    void aUserInAnOrganizationWeShareIsStillHere() {
        UserLookup lookup = found("user_a", "[\"orga_9\", \"orga_2\"]");
        Departures.Verdict verdict = Departures.judge("user_a", lookup, MINE);
        assertNull(verdict.removed());
        assertSame(lookup.user(), verdict.present());
        assertFalse(verdict.unknown());
    }

    @Test
    void aUserInNoneOfOurOrganizationsLeft() {
        Departures.Verdict verdict = Departures.judge("user_a", found("user_a", "[\"orga_9\"]"), MINE);
        assertEquals(Departures.Reason.LEFT_ORGANIZATION, verdict.removed());
        assertEquals("left_organization", verdict.removed().text);
        assertNull(verdict.present());
        assertEquals(Departures.Reason.LEFT_ORGANIZATION,
                Departures.judge("user_a", found("user_a", "[]"), MINE).removed(), "in no organization at all");
    }

    @Test
    void withoutBothListsAUserFoundIsStillHere() {
        for (Departures.Verdict verdict : List.of(
                Departures.judge("user_a", found("user_a", null), MINE),
                Departures.judge("user_a", found("user_a", "\"orga_9\""), MINE),
                Departures.judge("user_a", found("user_a", "[\"orga_9\"]"), null),
                Departures.judge("user_a", found("user_a", "[\"orga_9\"]"), List.of()))) {
            assertNull(verdict.removed());
            assertEquals("user_a", verdict.present().id());
        }
    }

    @Test
    void organizationsAreIdsOrObjectsWithAnId() {
        assertEquals(List.of("orga_1", "orga_2"), Departures.organizations(json("[\"orga_1\", \"orga_2\"]")));
        assertEquals(List.of("orga_1", "orga_2"),
                Departures.organizations(json("[{\"id\": \"orga_1\", \"name\": \"A\"}, {\"id\": \"orga_2\"}]")));
        assertEquals(List.of(), Departures.organizations(json("[]")));
        assertNull(Departures.organizations(null));
        assertNull(Departures.organizations(json("\"orga_1\"")));
        assertNull(Departures.organizations(json("{\"id\": \"orga_1\"}")));
        assertNull(Departures.organizations(json("[\"orga_1\", 7]")), "one id of another type spoils the list");
        assertNull(Departures.organizations(json("[\"orga_1\", \"\"]")));
        assertNull(Departures.organizations(json("[{\"name\": \"A\"}]")));
        assertNull(Departures.organizations(json("[{\"id\": 7}]")));
    }
}
