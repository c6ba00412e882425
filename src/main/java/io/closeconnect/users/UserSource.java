package io.closeconnect.users;

/** Where the sweep reads pages of users from: Close over HTTP, or a fake in tests. */
public interface UserSource {

    /**
     * Returns the page at {@code _skip=skip}, {@code _limit=limit}. Transient failures are retried
     * inside; what comes out is either a page or a failure the task cannot recover from.
     *
     * @throws InterruptedException when the task is stopping
     */
    UserPage fetch(long skip, int limit) throws InterruptedException;
}
