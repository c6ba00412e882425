package io.closeconnect.users;

import java.util.List;

/** Where the sweep reads users from: Close over HTTP, or a fake in tests. */
public interface UserSource {

    /**
     * Returns the page at {@code _skip=skip}, {@code _limit=limit}. Transient failures are retried
     * inside; what comes out is either a page or a failure the task cannot recover from.
     *
     * @throws InterruptedException when the task is stopping
     */
    UserPage fetch(long skip, int limit) throws InterruptedException;

    /**
     * One user by id ({@code GET /api/v1/user/{id}/}), with the same retries as {@link #fetch}.
     *
     * @throws InterruptedException when the task is stopping
     */
    UserLookup lookUp(String id) throws InterruptedException;

    /**
     * The ids of the organizations of the credential's own user ({@code GET /api/v1/me/}), or
     * {@code null} when Close's answer does not list them.
     *
     * @throws InterruptedException when the task is stopping
     */
    List<String> myOrganizations() throws InterruptedException;
}
