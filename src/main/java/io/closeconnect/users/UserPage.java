package io.closeconnect.users;

import java.util.List;

/**
 * One answer of {@code GET /api/v1/user/}.
 *
 * @param users    the users in the order Close listed them
 * @param hasMore  Close's {@code has_more}
 * @param servedAtMicros a moment no later than the one at which Close read this page, on Close's
 *                 clock where it says (the {@code Date} header), else on ours
 */
public record UserPage(List<CloseUser> users, boolean hasMore, long servedAtMicros) {
}
