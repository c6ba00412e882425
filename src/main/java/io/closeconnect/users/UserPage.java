package io.closeconnect.users;

import java.util.List;

/**
 * One answer of {@code GET /api/v1/user/}.
 *
 * @param users    the users in the order Close listed them
 * @param hasMore  Close's {@code has_more}
 * @param servedAtMicros a moment no later than the one at which Close read this page, on Close's
 *                 clock where it says (the {@code Date} header), else on ours
 * @param limit    the {@code _limit} the page was served with: the one asked for, or less when
 *                 Close's {@code max_limit} is lower (see {@link CloseApiClient#fetch})
 */
public record UserPage(List<CloseUser> users, boolean hasMore, long servedAtMicros, int limit) {
}
