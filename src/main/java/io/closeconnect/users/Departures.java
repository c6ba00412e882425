package io.closeconnect.users;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The rule that turns Close's answer about one announced user the walk did not see into a verdict:
 * removed, still here, or unknown. Only two answers prove a removal: a 404 in Close's own words (the
 * id matches no user), and a user whose {@code organizations} share none with the credential's own
 * user. Anything else (a user still in a shared organization, an answer without organizations, an
 * unknown list of our own organizations, any other status) proves nothing, and the user stays
 * announced.
 */
final class Departures {

    private Departures() {
    }

    /** Why a user counts as removed; the text is the {@code removal_reason} of the removal record. */
    enum Reason {
        /** {@code GET /api/v1/user/{id}/} answered 404: the id matches no user. */
        NOT_FOUND("not_found"),
        /** The user exists, but in no organization the credential's user belongs to. */
        LEFT_ORGANIZATION("left_organization");

        final String text;

        Reason(String text) {
            this.text = text;
        }
    }

    /**
     * What one confirmation found.
     *
     * @param removed why the user counts as removed, or null
     * @param present the user as Close returned it when it is still there, or null
     * @param detail  why the answer proves nothing, when neither of the above
     */
    record Verdict(Reason removed, CloseUser present, String detail) {
        boolean unknown() {
            return removed == null && present == null;
        }
    }

    /**
     * @param id              the user asked about
     * @param lookup          Close's answer to {@code GET /api/v1/user/{id}/}
     * @param myOrganizations the organizations of the credential's user, or null when unknown
     */
    static Verdict judge(String id, UserLookup lookup, Collection<String> myOrganizations) {
        switch (lookup.outcome()) {
            case NOT_FOUND:
                return new Verdict(Reason.NOT_FOUND, null, "");
            case INCONCLUSIVE:
                return new Verdict(null, null, "Close answered " + lookup.status()
                        + (lookup.detail().isEmpty() ? "" : " (" + lookup.detail() + ")"));
            default:
                break;
        }
        CloseUser user = lookup.user();
        if (!user.id().equals(id)) {
            return new Verdict(null, null, "Close answered with user " + user.id() + ", not " + id);
        }
        List<String> theirs = organizations(user.json().get(UserRecordMapper.ORGANIZATIONS));
        if (theirs == null || myOrganizations == null || myOrganizations.isEmpty()) {
            // Without both lists, a 200 cannot prove a departure; the user is still there as far as we know.
            return new Verdict(null, user, "");
        }
        for (String organization : theirs) {
            if (myOrganizations.contains(organization)) {
                return new Verdict(null, user, "");
            }
        }
        return new Verdict(Reason.LEFT_ORGANIZATION, null, "");
    }

    /**
     * Organization ids from Close's JSON: an array of ids (a user) or of objects with an {@code id}
     * (the {@code /me/} answer). Null when the field is missing or of another shape.
     */
    static List<String> organizations(JsonNode node) {
        if (node == null || !node.isArray()) {
            return null;
        }
        List<String> ids = new ArrayList<>(node.size());
        for (JsonNode element : node) {
            JsonNode id = element.isObject() ? element.get("id") : element;
            if (id == null || !id.isTextual() || id.textValue().isEmpty()) {
                return null;
            }
            ids.add(id.textValue());
        }
        return ids;
    }
}
