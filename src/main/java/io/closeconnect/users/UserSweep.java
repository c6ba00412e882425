package io.closeconnect.users;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sweep: walks every page of users from {@code _skip=0} until {@code has_more} is false and
 * picks the users to emit. Holds the {@link SweepState} and nothing else across pages.
 *
 * <h2>How it avoids losing updates</h2>
 * <ul>
 *   <li>The filter is the watermark W: a user is emitted when its {@code date_updated} is after W
 *       and after the last version of it emitted ({@link SweepState#recent()}).</li>
 *   <li>W is never the largest {@code date_updated} seen. When a sweep completes, W becomes the
 *       moment the sweep started (minus a lag). A user edited behind the walk's position has a
 *       later {@code date_updated}, so the next sweep emits it.</li>
 *   <li>Pages overlap by one user, and the sweep remembers the last few users it processed
 *       (anchors). A page must contain an anchor unchanged; the walk continues after it. When none
 *       is there, users were removed behind the position or the anchors moved, and the walk steps
 *       back a page until it finds one, or starts the walk again from 0. Users that are not edited
 *       keep their relative order, so everything after an unchanged anchor is still ahead.</li>
 *   <li>Users found before the anchor in a page were processed already, or were inserted or
 *       renamed there during the walk (their {@code date_updated} is after the sweep start, so the
 *       next sweep has them), or, between users with the same name, reordered. A sweep walked from
 *       its first page by this object emits those that pass the filter and it has not emitted.</li>
 * </ul>
 */
final class UserSweep {

    private static final Logger log = LoggerFactory.getLogger(UserSweep.class);

    /** A user to emit and the sync state once it is delivered. */
    record Emit(CloseUser user, SweepState stateAfter) {
    }

    /**
     * What one page produced.
     *
     * @param emits     the users to emit, in list order
     * @param completed whether this page ended the sweep
     * @param usersSeen how many users the page held
     */
    record Step(List<Emit> emits, boolean completed, int usersSeen) {
    }

    private final UserSource source;
    /** The _limit of the next request: page.size, or less once Close served a smaller page (its max_limit). */
    private int limit;
    private final long lagMicros;
    private SweepState state;
    private int misses;
    /**
     * Versions emitted by this sweep since the task started, so that a walk started over from 0
     * does not emit them again. Per-sweep bookkeeping in memory only: a few dozen bytes a user.
     */
    private Map<String, Long> emittedThisSweep = new HashMap<>();
    /** Whether this object has seen the sweep in progress from its first page, so emittedThisSweep is complete. */
    private boolean walkedFromStart;

    UserSweep(UserSource source, int pageSize, long lagMillis, SweepState restored) {
        this.source = source;
        this.limit = Math.max(2, pageSize);
        this.lagMicros = lagMillis * 1_000L;
        this.state = restored;
    }

    SweepState state() {
        return state;
    }

    boolean inProgress() {
        return state.sweepInProgress();
    }

    /** Fetches and processes the next page, starting a sweep when none is in progress. */
    Step step() throws InterruptedException {
        long skip = state.skip();
        UserPage page = source.fetch(skip, limit);
        limit = page.limit();
        if (!state.sweepInProgress()) {
            walkedFromStart = true;
            state = state.started(page.servedAtMicros() - lagMicros);
        }
        List<CloseUser> users = page.users();
        int start = 0;
        if (!state.anchors().isEmpty()) {
            int anchorAt = indexOfNewestAnchor(users);
            if (anchorAt >= 0) {
                start = anchorAt + 1;
                misses = 0;
            } else if (skip > 0) {
                // Each miss in a row doubles the step, so a walk that keeps losing ground to
                // removals still finds its anchor in a few requests.
                long stride = (long) (limit - 1) << Math.min(misses++, 20);
                long back = Math.max(0, skip - stride);
                log.debug("No anchor in the page at _skip={}: users were removed behind the position, stepping back to {}",
                        skip, back);
                state = state.withSkip(back);
                return new Step(List.of(), false, users.size());
            } else {
                log.info("None of the last users processed is in the list any more; walking again from the start "
                        + "of the list, with the same watermark");
                state = state.restartWalk();
                misses = 0;
            }
        }
        List<Emit> emits = new ArrayList<>();
        // Users before the anchor were processed already, or moved there during the walk. An edited
        // one is left to the next sweep, but one whose order flipped without an edit (users with
        // the same name) would be passed by for good: emit whatever passes the filter and was not
        // emitted by this sweep, without moving the position or the anchors. Only a task that
        // walked this sweep from its start knows what the sweep emitted; after a restart mid-sweep
        // this would repeat users, so the sweep relies on their position as before.
        for (int i = 0; walkedFromStart && i < start - 1; i++) {
            CloseUser user = users.get(i);
            if (!isAnchor(user) && state.shouldEmit(user)
                    && emittedThisSweep.getOrDefault(user.id(), Long.MIN_VALUE) < user.updatedMicros()) {
                state = state.emittedOutOfPlace(user);
                emittedThisSweep.put(user.id(), user.updatedMicros());
                emits.add(new Emit(user, state));
            }
        }
        for (int i = start; i < users.size(); i++) {
            CloseUser user = users.get(i);
            boolean emit = !isAnchor(user) && state.shouldEmit(user)
                    && emittedThisSweep.getOrDefault(user.id(), Long.MIN_VALUE) < user.updatedMicros();
            state = state.processed(user, skip + i, emit);
            if (emit) {
                emittedThisSweep.put(user.id(), user.updatedMicros());
                emits.add(new Emit(user, state));
            }
        }
        if (!users.isEmpty()) {
            state = state.withSkip(skip + users.size() - 1);
        }
        if (page.hasMore()) {
            return new Step(emits, false, users.size());
        }
        state = state.completed();
        // A new map rather than clear(): clear() keeps the table sized for every user of the sweep.
        emittedThisSweep = new HashMap<>();
        return new Step(emits, true, users.size());
    }

    private int indexOfNewestAnchor(List<CloseUser> users) {
        List<SweepState.Version> anchors = state.anchors();
        for (int a = anchors.size() - 1; a >= 0; a--) {
            SweepState.Version anchor = anchors.get(a);
            for (int i = 0; i < users.size(); i++) {
                if (anchor.matches(users.get(i))) {
                    return i;
                }
            }
        }
        return -1;
    }

    private boolean isAnchor(CloseUser user) {
        for (SweepState.Version anchor : state.anchors()) {
            if (anchor.matches(user)) {
                return true;
            }
        }
        return false;
    }
}
