package io.closeconnect.users;

/**
 * What {@code GET /api/v1/user/{id}/} said about one user, before any policy is applied: the user
 * as Close returned it, a 404 in Close's own words, or an answer that says nothing about the user.
 *
 * @param outcome which of the three
 * @param user    the user, for {@link Outcome#FOUND}; null otherwise
 * @param status  the HTTP status Close answered
 * @param detail  Close's error message, or why the answer proves nothing; empty for a user found
 */
public record UserLookup(Outcome outcome, CloseUser user, int status, String detail) {

    public enum Outcome {
        /** 200 with a user object. */
        FOUND,
        /** 404 with Close's JSON error (the id matches no user), not a 404 for an unknown path. */
        NOT_FOUND,
        /** Any other final answer (403, an unknown path's 404, another 4xx): it proves nothing. */
        INCONCLUSIVE
    }

    public static UserLookup found(CloseUser user) {
        return new UserLookup(Outcome.FOUND, user, 200, "");
    }

    public static UserLookup notFound(String detail) {
        return new UserLookup(Outcome.NOT_FOUND, null, 404, detail);
    }

    public static UserLookup inconclusive(int status, String detail) {
        return new UserLookup(Outcome.INCONCLUSIVE, null, status, detail);
    }
}
