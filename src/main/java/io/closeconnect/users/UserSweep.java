package io.closeconnect.users;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sweep: walks every page of users from {@code _skip=0} until {@code has_more} is false, emits
 * the users downstream has not been told about, then confirms with Close, one by one, the announced
 * users the walk did not see, and announces those who left. One {@link #step()} is one page or one
 * batch of confirmations; the task turns its outputs into records.
 *
 * <h2>What it emits</h2>
 * A user is emitted when the {@link UserLedger} has no version of it, or an older one: whatever its
 * {@code date_updated}, wherever the walk meets it (in the part of a page that overlaps the previous
 * one too). So a user the walk passes by is caught by the next sweep that lists it, and the ledger
 * keeps duplicates exact across restarts.
 *
 * <h2>How it walks</h2>
 * <ul>
 *   <li>Consecutive pages overlap, and the sweep remembers the last few users it processed (anchors).
 *       A page must contain an anchor unchanged; the walk continues after it. When none is there,
 *       users were removed behind the position or the anchors moved, and the walk steps back until
 *       it finds one, or starts the walk again from 0.</li>
 *   <li>The overlap adapts: it grows when users are removed behind the position (each one would
 *       otherwise cost a step back) and shrinks again when they are not.</li>
 * </ul>
 *
 * <h2>Removals</h2>
 * The members the walk did not see are candidates. If there are more than the
 * {@link RemovalValve} allows, all are held. Otherwise each is confirmed with
 * {@code GET /api/v1/user/{id}/} and judged by {@link Departures}: removed users are announced and
 * marked in the ledger, users still there are emitted if they changed, and unknown answers leave
 * the user a member.
 *
 * <h2>Changes of membership wait for their intent</h2>
 * A user's first record and a removal change what the topic holds. Each is first written to the
 * ledger as an intent, carried by this step's checkpoints, and its records go out in a later step,
 * once {@link Delivery} says that step is stored for good; a removal is confirmed with Close once more
 * just before. Until then the user waits in memory (at most {@value #MAX_WAITING_USERS} new users). New
 * users whose record is not in memory (more than that, or found by an earlier task that stopped before
 * their records went out) are emitted by one more walk of the list, once their intents are stored. A
 * sweep completes once nothing waits.
 */
final class UserSweep {

    private static final Logger log = LoggerFactory.getLogger(UserSweep.class);
    /** The largest {@code _limit} the walk asks for when it widens a page (Close's maximum for users). */
    static final int MAX_LIMIT = 1_000;
    /** How many users one step confirms: one poll's worth of requests. */
    static final int CONFIRMATIONS_PER_STEP = 25;
    /** The most new users kept in memory while their intent is being stored. */
    static final int MAX_WAITING_USERS = 1_000;

    /** Something the task turns into records. */
    sealed interface Output permits Changed, Removed {
    }

    /**
     * A user to emit.
     *
     * @param partition the source partition of the user's ledger shard
     * @param offset    the offset the record carries: the shard as last written, claiming nothing new
     */
    record Changed(CloseUser user, Map<String, String> partition, Map<String, Object> offset) implements Output {
    }

    /**
     * A user confirmed removed.
     *
     * @param lastVersion     the version last announced for the user
     * @param reason          what Close said
     * @param current         the user as Close returned it when it left the organization, else null
     * @param removedAtMicros when the connector confirmed the removal
     */
    record Removed(String id, long lastVersion, Departures.Reason reason, CloseUser current, long removedAtMicros,
                   Map<String, String> partition, Map<String, Object> offset) implements Output {
    }

    /**
     * What one step produced.
     *
     * @param outputs       the users to emit and remove, in order
     * @param checkpoints   the ledger shards that changed, with their new offsets: to be stored
     *                      by records after {@code outputs}
     * @param state         the sweep state after the step, to be stored after the checkpoints
     * @param completed     whether this step ended the sweep
     * @param usersSeen     how many users the page held (0 for a confirmation step)
     * @param confirmations how many users this step confirmed with Close
     * @param waiting       whether the sweep is only waiting for intents to be stored: the next step
     *                      need not come at once
     */
    record Step(List<Output> outputs, List<UserLedger.Checkpoint> checkpoints, SweepState state,
                boolean completed, int usersSeen, int confirmations, boolean waiting, boolean pageRead) {
    }

    /**
     * A removal confirmed, waiting for its intent to be stored.
     *
     * @param wasAnnounced whether the user was announced before (its record surely in the topic),
     *                     rather than being added (its first record may not have gone out)
     */
    private record WaitingRemoval(Departures.Reason reason, CloseUser current, boolean wasAnnounced) {
    }

    /** What the last completed sweep did about removals. */
    record RemovalSummary(int candidates, int removed, int held, int unconfirmed) {
        static final RemovalSummary NONE = new RemovalSummary(0, 0, 0, 0);
    }

    private final UserSource source;
    /** The page size: page.size, or less once Close served a smaller page (its max_limit). */
    private int limit;
    /** The largest {@code _limit} Close serves: {@value #MAX_LIMIT}, or less once it said so. */
    private int largest = MAX_LIMIT;
    /**
     * The {@code _limit} of the next request: the page size, or more while users tied on the sort
     * key fill whole pages (see {@link #walk}).
     */
    private int nextLimit;
    private final long lagMicros;
    private final UserLedger ledger;
    private final RemovalValve valve;
    private final Delivery delivery;
    /** New users whose first record waits for its intent, in the order met. */
    private final Map<String, CloseUser> waitingAdds = new LinkedHashMap<>();
    /** Confirmed removals waiting for their intent. */
    private final Map<String, WaitingRemoval> waitingRemovals = new LinkedHashMap<>();
    private SweepState state;
    private SweepCoverage coverage;
    private int misses;
    private int overlap = 1;
    /** Where the last user of the previous page should be in this one if nothing moved; -1 when unknown. */
    private int expectedAnchorAt = -1;
    /** In a name order: where the run of users tied with the last one read began, and their sort key. */
    private long runStart = -1;
    private String runKey;
    private boolean accountChecked;
    /** Whether the step in progress read a page of the list. */
    private boolean pageRead;
    /** The organizations of the users listed by the sweep in progress. */
    private final java.util.Set<String> listedOrganizations = new java.util.HashSet<>();
    /** The candidates still to confirm, in memory; rebuilt from the coverage after a restart. */
    private Deque<String> pending;
    private List<String> myOrganizations;
    private boolean askedOrganizations;
    private int candidates;
    private int removed;
    private int held;
    private int unconfirmed;
    private String lastUnconfirmed = "";
    private RemovalSummary lastSummary = RemovalSummary.NONE;

    /**
     * @param restored the stored sweep state, with the configured order applied
     *                 ({@link SweepState#inOrder}); its ledger status decides how {@code ledger} is used
     */
    UserSweep(UserSource source, int pageSize, long lagMillis, UserLedger ledger, SweepState restored,
              RemovalValve valve, Delivery delivery) {
        this.source = source;
        this.delivery = delivery;
        this.limit = Math.max(2, pageSize);
        this.nextLimit = limit;
        this.lagMicros = lagMillis * 1_000L;
        this.ledger = ledger;
        this.valve = valve;
        this.state = resolve(restored);
        ledger.building(state.ledger() == SweepState.LedgerStatus.BUILDING);
        if (state.sweepInProgress()) {
            coverage = state.seen() == null ? SweepCoverage.start(UserLedger.empty(ledger.apiUrl()))
                    : SweepCoverage.decode(state.seenBase(), state.seen(), ledger);
            if (!coverage.unknownShards().isEmpty()) {
                log.info("{} of {} ledger shards were stored at another point than the sweep's offset (a restart "
                                + "in at-least-once mode); the removal check of their users waits for the next sweep",
                        coverage.unknownShards().size(), UserLedger.SHARDS);
            }
        }
    }

    /**
     * The state to work from. An offset the connector wrote says how far the ledger is. Any other
     * (written by hand, or by a version before the ledger) starts a new sweep: with a stored ledger
     * it is a replay, so announcements after its watermark are forgotten (all of them without one);
     * without, the ledger is built by the next sweep from the offset's promise that every version up
     * to its watermark (and those in its {@code recent}) was emitted.
     */
    private SweepState resolve(SweepState restored) {
        if (restored.ledger() != null) {
            return restored;
        }
        SweepState fresh = new SweepState(0, restored.watermark(), null, List.of(), restored.orderBy(), null, null,
                null, null, restored.recent(), restored.organizations());
        if (ledger.stored() && ledger.storedWhileBuilding()) {
            // Only the building sweep's shards are stored (a restart before its sweep offset was): go on building.
            ledger.building(true);
            return fresh.withLedger(SweepState.LedgerStatus.BUILDING);
        }
        if (ledger.stored()) {
            long from = restored.watermark() == null ? Long.MIN_VALUE + 1 : restored.watermark();
            ledger.rewind(from);
            log.info("The sweep offset was written by hand: every listed user changed after {} is emitted again "
                    + "by the next sweep", restored.watermark() == null ? "any time" : Timestamps.format(from));
            return fresh.withLedger(SweepState.LedgerStatus.COMPLETE);
        }
        if (restored.watermark() != null) {
            log.info("No ledger of announced users is stored yet (offsets of an earlier version): the next sweep "
                    + "builds it, counting users at or before the watermark {} as announced; removals that "
                    + "happened before it cannot be known", Timestamps.format(restored.watermark()));
        }
        ledger.building(true);
        return fresh.withLedger(SweepState.LedgerStatus.BUILDING);
    }

    SweepState state() {
        return state;
    }

    boolean inProgress() {
        return state.sweepInProgress();
    }

    UserLedger ledger() {
        return ledger;
    }

    /** The removals of the last completed sweep. */
    RemovalSummary lastRemovals() {
        return lastSummary;
    }

    /** The current overlap between consecutive pages, in users. */
    int overlap() {
        return overlap;
    }

    /**
     * Releases what waited for its intent, then reads the next page, or confirms the next batch of
     * candidates, starting a sweep when none is in progress.
     */
    Step step() throws InterruptedException {
        pageRead = false;
        List<Output> outputs = new ArrayList<>();
        int asked = release(outputs);
        return state.phase() == SweepState.Phase.CONFIRM ? confirm(outputs, asked) : walk(outputs);
    }

    /**
     * Once per task, before its first page: a credential whose user belongs to none of the
     * organizations the account's users were listed in is another account's key. Its users would be
     * announced as this account's, and this account's removed: the task fails instead.
     */
    private void checkAccount() throws InterruptedException {
        accountChecked = true;
        List<String> known = state.organizations();
        if (known.isEmpty()) {
            return;
        }
        List<String> mine = source.myOrganizations();
        if (mine != null && !mine.isEmpty() && java.util.Collections.disjoint(mine, known)) {
            throw new org.apache.kafka.connect.errors.ConnectException("The credential's user belongs to the Close "
                    + "organizations " + mine + ", none of which this connector has been streaming " + known
                    + ": it is another account's credential. Its users would be announced as this account's and this "
                    + "account's users removed, so the task stops. Check the credential (" + CloseUsersConfig.API_KEY
                    + " or " + CloseUsersConfig.OAUTH_ACCESS_TOKEN + "). To stream another Close account on purpose, "
                    + "delete the connector's offsets first (DELETE /connectors/<name>/offsets).");
        }
    }

    private void noteOrganizations(CloseUser user) {
        List<String> organizations = Departures.organizations(user.json().get(UserRecordMapper.ORGANIZATIONS));
        if (organizations != null && listedOrganizations.size() < SweepState.MAX_ORGANIZATIONS * 5) {
            listedOrganizations.addAll(organizations);
        }
    }

    /**
     * The credential's organizations to judge a departure against: those that the listed users
     * share, so that a {@code /me/} answer the list does not bear out proves nothing. Null when
     * unknown or when none is shared.
     */
    private List<String> judgingOrganizations() {
        if (myOrganizations == null) {
            return null;
        }
        java.util.Collection<String> listed = listedOrganizations.isEmpty() ? state.organizations() : listedOrganizations;
        if (listed.isEmpty()) {
            return myOrganizations;
        }
        List<String> shared = myOrganizations.stream().filter(listed::contains).toList();
        return shared.isEmpty() ? null : shared;
    }

    /** Users waiting for their intent and those waiting to be emitted by a later sweep: how many. */
    int waiting() {
        return waitingAdds.size() + waitingRemovals.size();
    }

    /**
     * Emits the new users and announces the removals whose intent is stored now. A removal is
     * confirmed with Close again first (at most {@value #CONFIRMATIONS_PER_STEP} a step): the user
     * may have come back while it waited. Returns how many confirmations it asked for.
     */
    private int release(List<Output> outputs) throws InterruptedException {
        for (var it = waitingAdds.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, CloseUser> waiting = it.next();
            String id = waiting.getKey();
            if (ledger.state(id) != UserLedger.State.ADDING) {
                it.remove();
            } else if (ledger.intentStored(id, delivery)) {
                it.remove();
                emit(waiting.getValue(), outputs);
            }
        }
        int asked = 0;
        List<String> due = new ArrayList<>();
        for (var it = waitingRemovals.entrySet().iterator(); it.hasNext() && due.size() < CONFIRMATIONS_PER_STEP; ) {
            String id = it.next().getKey();
            if (ledger.state(id) != UserLedger.State.REMOVING) {
                it.remove();
            } else if (ledger.intentStored(id, delivery)) {
                due.add(id);
            }
        }
        for (String id : due) {
            UserLookup lookup = source.lookUp(id);
            asked++;
            confirmed(id, lookup, outputs);
            WaitingRemoval waiting = waitingRemovals.remove(id);
            if (waiting != null && ledger.state(id) == UserLedger.State.REMOVING) {
                // Close's second answer proved nothing: the removal never went out.
                restore(id, waiting, null, outputs);
            }
        }
        return asked;
    }

    private Step walk(List<Output> outputs) throws InterruptedException {
        if (!accountChecked) {
            checkAccount();
        }
        if (state.phase() == SweepState.Phase.RELEASE && state.skip() == 0 && state.anchors().isEmpty()
                && ledger.adding().stream().anyMatch(id -> !ledger.intentStored(id, delivery))) {
            // The walk once more starts when every intent it is for is stored.
            return finish(outputs, false, 0, 0, outputs.isEmpty());
        }
        long request = state.skip();
        if (!state.sweepInProgress()) {
            nextLimit = limit;
            listedOrganizations.clear();
        }
        int asked = nextLimit;
        UserPage page = source.fetch(request, asked);
        pageRead = true;
        if (page.limit() < asked) {
            // Close serves no more than this a page: the walk asks for no more from now on.
            largest = page.limit();
            limit = Math.min(limit, largest);
        }
        if (!state.sweepInProgress()) {
            coverage = SweepCoverage.start(ledger);
            state = state.started(page.servedAtMicros() - lagMicros, coverage);
            candidates = removed = held = unconfirmed = 0;
            expectedAnchorAt = -1;
            runStart = -1;
        }
        List<CloseUser> users = page.users();
        for (CloseUser user : users) {
            coverage.saw(user.id());
            noteOrganizations(user);
            consider(user, outputs);
        }
        int start = 0;
        if (!state.anchors().isEmpty()) {
            int anchorAt = indexOfNewestAnchor(users);
            if (anchorAt >= 0 && request > 0 && beginsInsideTiedRun(users, anchorAt)) {
                // Users removed behind the position moved the page's start into the run of tied
                // users: one of them that the server now returns ahead of the anchor may lie before
                // the page. Only a page that starts before the run proves the run was read whole.
                anchorAt = -1;
            }
            if (anchorAt >= 0) {
                start = anchorAt + 1;
                misses = 0;
                adaptOverlap(users, anchorAt);
            } else if (request > 0) {
                // Each miss in a row doubles the step, so a walk that keeps losing ground to
                // removals still finds its anchor in a few requests. A larger overlap absorbs the next burst.
                long stride = (long) Math.max(1, limit - overlap) << Math.min(misses++, 20);
                long back = Math.max(0, request - stride);
                overlap = Math.min(maxOverlap(), Math.max(2, overlap * 2));
                expectedAnchorAt = -1;
                runStart = -1;
                log.debug("No anchor in the page at _skip={} (or it starts among users with the same name): users were "
                        + "removed behind the position, stepping back to {} with an overlap of {}", request, back, overlap);
                state = state.walked(back, state.anchors(), coverage);
                return finish(outputs, false, users.size(), 0, false);
            } else {
                log.info("None of the last users processed is in the list any more; walking again from the start "
                        + "of the list");
                state = state.walked(0, List.of(), coverage);
                misses = 0;
            }
        }
        if (!page.hasMore()) {
            if (!users.isEmpty()) {
                state = state.walked(request + users.size() - 1, anchorsAfter(users, start), coverage);
            }
            return walkOver(outputs, users.size());
        }
        long next = nextRequest(users, request);
        state = state.walked(next, withRunAnchor(anchorsAfter(users, start), users, request), coverage);
        return finish(outputs, false, users.size(), 0, false);
    }

    /**
     * Where the next page starts, and how long it is. It starts the overlap before the end of this
     * page. In a name order it also starts the overlap before the user just before the run of users
     * tied on the sort key with the last one: the server may return tied users in another order on
     * every request, so the next page must hold the whole run again, and the last user before it,
     * which no reordering of the run can move, as an anchor.
     * When that re-reads more than a page of the usual length would hold, the next page is as long
     * again as what it re-reads, up to Close's largest page; a run longer than that cannot be read
     * whole, and the task fails saying so.
     */
    private long nextRequest(List<CloseUser> users, long request) {
        int size = users.size();
        long end = request + size;
        long next = end - Math.max(1, Math.min(overlap, size - 1));
        nextLimit = limit;
        String order = state.orderBy();
        if (order == null || order.isEmpty()) {
            runStart = -1;
            expectedAnchorAt = (int) (end - 1 - next);
            return next;
        }
        // Where the run begins as far as this page shows. A page that is all one run puts it at the
        // page's start, so the next page starts before this one: a page starts before the run the
        // previous one ended with, and a step back or a restart forgets the run.
        int tied = tiedAtTheEnd(users);
        runStart = end - tied;
        runKey = sortKey(users.get(size - 1));
        // One user more than the overlap before the run: a removal behind the position then still
        // leaves the page starting before the run, which the walk needs to trust an anchor in it.
        next = Math.max(0, Math.min(next, runStart - 1 - overlap));
        long span = end - next;
        if (span + 1 > limit) {
            // The next page re-reads the run and its anchor: it must hold them and as many users again.
            if (span + 1 > largest) {
                throw new org.apache.kafka.connect.errors.ConnectException("Close lists at least " + tied
                        + " users with the same name in the order " + CloseUsersConfig.ORDER_BY + "=" + state.orderBy()
                        + ": re-reading them with the users just before them takes " + (span + 1) + " places, more "
                        + "than one page of " + largest + " can hold. The server may return them in another order "
                        + "on every request, so the walk cannot read them reliably. Set " + CloseUsersConfig.ORDER_BY
                        + " to empty (Close's default order).");
            }
            nextLimit = (int) Math.min(largest, 2 * span + 1);
        }
        expectedAnchorAt = (int) (end - 1 - next);
        return next;
    }

    /** The walk has read the last page: hold, confirm, or complete. */
    private Step walkOver(List<Output> outputs, int usersSeen) {
        if (state.phase() == SweepState.Phase.WALK) {
            // Users whose intent to be added is written but whose record this task does not hold: more
            // than fit in memory, or found by an earlier task that stopped before their records went
            // out. One more walk meets each of them and emits it once its intent is stored; what it
            // does not meet, the next sweep confirms as a candidate.
            List<String> unreleased = ledger.adding().stream().filter(id -> !waitingAdds.containsKey(id)).toList();
            if (!unreleased.isEmpty()) {
                log.info("Walking the list once more: {} new users have a stored intent but no record in memory (e.g. {})",
                        unreleased.size(), unreleased.get(0));
                state = state.releasing(coverage);
                return finish(outputs, false, usersSeen, 0, false);
            }
        }
        List<String> unseen = coverage.unseen(ledger);
        candidates = unseen.size();
        if (unseen.isEmpty()) {
            return completeOrWait(outputs, usersSeen, 0);
        }
        RemovalValve.Decision decision = valve.judge(unseen, coverage.size());
        if (decision.hold()) {
            held = unseen.size();
            String why = held >= coverage.size()
                    ? "every announced user, which no sweep removes without a release"
                    : "more than the " + decision.threshold() + " one sweep may remove";
            log.error("Holding {} removals: {} of the {} announced users are missing from the sweep that just ended, "
                            + "{} ({}={}% of them, at least {}). None of them is "
                            + "announced, and every sweep checks them again. A wrong key, a change in the key user's "
                            + "permissions or a Close incident look like this: check the credential first. If these "
                            + "users really left, release exactly this set by adding \"{}\": \"{}\" to the connector's "
                            + "configuration (PUT /connectors/<name>/config); the next sweep then confirms each of them "
                            + "with Close before announcing it.",
                    held, held, coverage.size(), why, CloseUsersConfig.REMOVAL_HOLD_PERCENT,
                    valve.percent(), CloseUsersConfig.REMOVAL_HOLD_MIN + "=" + valve.minimum(),
                    CloseUsersConfig.REMOVAL_RELEASE, decision.token());
            return completeOrWait(outputs, usersSeen, 0);
        }
        if (decision.released()) {
            log.warn("Releasing {} held removals ({}={}): confirming each of them with Close", unseen.size(),
                    CloseUsersConfig.REMOVAL_RELEASE, decision.token());
        }
        pending = new ArrayDeque<>(unseen);
        state = state.confirming(coverage);
        return finish(outputs, false, usersSeen, 0, false);
    }

    private Step confirm(List<Output> outputs, int released) throws InterruptedException {
        if (pending == null) {
            pending = new ArrayDeque<>(coverage.unseen(ledger));
            candidates = Math.max(candidates, pending.size());
        }
        int asked = released;
        while (!pending.isEmpty() && asked < CONFIRMATIONS_PER_STEP) {
            String id = pending.peekFirst();
            if (coverage.seen(id) || !ledger.member(id) || waitingRemovals.containsKey(id)) {
                pending.removeFirst();
                continue;
            }
            UserLookup lookup = source.lookUp(id);
            asked++;
            pending.removeFirst();
            confirmed(id, lookup, outputs);
        }
        if (pending.isEmpty()) {
            return completeOrWait(outputs, 0, asked);
        }
        state = state.confirming(coverage);
        return finish(outputs, false, 0, asked, false);
    }

    /** Acts on Close's answer about a member the walk did not see. */
    private void confirmed(String id, UserLookup lookup, List<Output> outputs) throws InterruptedException {
        if (!askedOrganizations) {
            myOrganizations = source.myOrganizations();
            askedOrganizations = true;
            if (myOrganizations == null) {
                log.warn("GET /api/v1/me/ listed no organizations: only a 404 can confirm a removal this sweep");
            }
        }
        Departures.Verdict verdict = Departures.judge(id, lookup, judgingOrganizations());
        if (verdict.removed() == null) {
            // Still there, or unknown: either way the sweep is done with this user until the next one.
            coverage.saw(id);
            if (verdict.present() != null) {
                consider(verdict.present(), outputs);
            } else {
                unconfirmed++;
                lastUnconfirmed = "user " + id + ": " + verdict.detail();
            }
            return;
        }
        if (ledger.state(id) == UserLedger.State.REMOVING && ledger.intentStored(id, delivery)
                || delivery.stored(delivery.nextBatch())) {
            coverage.saw(id);
            outputs.add(new Removed(id, ledger.version(id), verdict.removed(), lookup.user(),
                    Timestamps.toMicros(Instant.now()), ledger.partitionOf(id), ledger.carriedOffset(id)));
            ledger.markRemoved(id);
            removed++;
        } else {
            // Unseen until announced: a restart before then confirms it again in this sweep.
            boolean wasAnnounced = ledger.state(id) == UserLedger.State.ANNOUNCED;
            ledger.intendRemove(id, delivery.nextBatch());
            waitingRemovals.put(id, new WaitingRemoval(verdict.removed(), lookup.user(), wasAnnounced));
        }
    }

    /**
     * Completes the sweep, unless users it found still wait for their intent (new users, removals):
     * then the sweep waits for them, so that what one sweep found is out when it completes.
     */
    private Step completeOrWait(List<Output> outputs, int usersSeen, int confirmations) {
        if (!waitingRemovals.isEmpty() || !waitingAdds.isEmpty()) {
            state = state.confirming(coverage);
            return finish(outputs, false, usersSeen, confirmations, outputs.isEmpty());
        }
        if (unconfirmed > 0) {
            log.warn("{} announced users missing from the list could not be confirmed removed or present (last: {}); "
                    + "they stay announced and are checked again next sweep", unconfirmed, lastUnconfirmed);
        }
        ledger.purgeRemoved();
        if (state.ledger() == SweepState.LedgerStatus.BUILDING) {
            ledger.building(false);
        }
        state = state.completed(listedOrganizations);
        coverage = null;
        pending = null;
        askedOrganizations = false;
        myOrganizations = null;
        lastSummary = new RemovalSummary(candidates, removed, held, unconfirmed);
        return finish(outputs, true, usersSeen, confirmations, false);
    }

    private Step finish(List<Output> outputs, boolean completed, int usersSeen, int confirmations, boolean waiting) {
        return new Step(outputs, ledger.checkpoint(), state, completed, usersSeen, confirmations, waiting, pageRead);
    }

    /**
     * Emits the user if downstream was not told about this version. A member announced at an older
     * version is emitted at once. A member whose addition or removal is under way is emitted at once
     * if its intent is stored (the topic may hold it or not; either way it is counted), or left to
     * wait otherwise. A user the ledger does not count is a new member: its intent is written, and
     * its record waits for it. While the ledger is built from the offsets of an earlier version, a
     * user those offsets promise was emitted (at or before their watermark, or in their
     * {@code recent}) is recorded as announced without a record.
     */
    private void consider(CloseUser user, List<Output> outputs) {
        String id = user.id();
        long version = user.updatedMicros();
        UserLedger.State known = ledger.state(id);
        if (known == UserLedger.State.ANNOUNCED) {
            if (version > ledger.version(id)) {
                emit(user, outputs);
            }
        } else if (known == UserLedger.State.REMOVING && waitingRemovals.containsKey(id)) {
            // Listed again before its removal went out: the removal is off.
            restore(id, waitingRemovals.remove(id), user, outputs);
        } else if (known == UserLedger.State.REMOVING) {
            // A removal stored as under way by an earlier task: it may have gone out, so emit the user again.
            emit(user, outputs);
        } else if (known == UserLedger.State.ADDING && ledger.intentStored(id, delivery)) {
            emit(user, outputs);
        } else if (known == UserLedger.State.ADDING) {
            waitingAdds.computeIfPresent(id, (key, before) -> user);
        } else if (state.ledger() == SweepState.LedgerStatus.BUILDING && emittedBeforeTheLedger(user)) {
            ledger.announce(id, version);
        } else if (delivery.stored(delivery.nextBatch())) {
            emit(user, outputs);
        } else {
            ledger.intendAdd(id, version, delivery.nextBatch());
            awaitIntent(user);
        }
    }

    /**
     * Calls off a removal that never went out. A user announced before is in the topic: announced
     * again at its version, or emitted if it changed. A user still being added may not be: it is
     * added again, its record waiting for the new intent.
     */
    private void restore(String id, WaitingRemoval waiting, CloseUser user, List<Output> outputs) {
        long version = ledger.version(id);
        if (waiting.wasAnnounced() && (user == null || user.updatedMicros() <= version)) {
            ledger.announce(id, version);
        } else if (waiting.wasAnnounced()) {
            emit(user, outputs);
        } else {
            ledger.intendAdd(id, user == null ? version : user.updatedMicros(), delivery.nextBatch());
            if (user != null) {
                awaitIntent(user);
            }
        }
    }

    /**
     * Keeps a new user's record in memory until its intent is stored, while fewer than
     * {@value #MAX_WAITING_USERS} wait; the others are met again by the walk once more.
     */
    private void awaitIntent(CloseUser user) {
        if (waitingAdds.size() < MAX_WAITING_USERS) {
            waitingAdds.put(user.id(), user);
        }
    }

    private void emit(CloseUser user, List<Output> outputs) {
        outputs.add(new Changed(user, ledger.partitionOf(user.id()), ledger.carriedOffset(user.id())));
        ledger.announce(user.id(), user.updatedMicros());
        waitingAdds.remove(user.id());
    }

    private boolean emittedBeforeTheLedger(CloseUser user) {
        Long watermark = state.watermark();
        if (watermark == null) {
            return false;
        }
        Long recent = state.recent().get(user.id());
        return user.updatedMicros() <= watermark || (recent != null && user.updatedMicros() <= recent);
    }

    /**
     * Sizes the overlap from what the page shows: when the newest anchor is found {@code shift}
     * places before where it was expected, that many users were removed behind the position since
     * the last request. The overlap becomes twice that, plus one, so that the next burst of that size
     * costs no step back; without removals it shrinks by a quarter per page, down to one user.
     */
    private void adaptOverlap(List<CloseUser> users, int anchorAt) {
        List<SweepState.Version> anchors = state.anchors();
        if (expectedAnchorAt < 0 || !anchors.get(anchors.size() - 1).matches(users.get(anchorAt))) {
            return;
        }
        int shift = Math.max(0, expectedAnchorAt - anchorAt);
        int wanted = (int) Math.min(maxOverlap(), 2L * shift + 1);
        overlap = Math.max(1, Math.min(maxOverlap(), Math.max(wanted, overlap - Math.max(1, overlap / 4))));
    }

    /**
     * In a name order, how many users at the end of the page (never empty: a page with more after it
     * has users) tie with the last one on the sort key, the last one included: a database may return
     * tied rows in another order on the next request, so the next page must start before all of them.
     */
    private int tiedAtTheEnd(List<CloseUser> users) {
        String key = sortKey(users.get(users.size() - 1));
        int count = 1;
        for (int i = users.size() - 2; i >= 0 && sortKey(users.get(i)).equals(key); i--) {
            count++;
        }
        return count;
    }

    /**
     * The name a name order sorts by, folded as loosely as a database collation may compare it
     * (case, accents, surrounding blanks), so that whatever the server treats as a tie is one here.
     */
    static String sortKey(CloseUser user) {
        return fold(user.json().path(UserRecordMapper.LAST_NAME).asText("")) + '\u0000'
                + fold(user.json().path(UserRecordMapper.FIRST_NAME).asText(""));
    }

    private static String fold(String name) {
        String decomposed = java.text.Normalizer.normalize(name.strip(), java.text.Normalizer.Form.NFD);
        return decomposed.replaceAll("\\p{M}", "").toLowerCase(java.util.Locale.ROOT);
    }

    /** The most the removal part of the overlap grows to: a quarter of a page. */
    private int maxOverlap() {
        return Math.max(1, limit / 4);
    }

    /**
     * In a name order, the anchors keep, as their oldest, the user just before the run of tied users
     * the page ends with: the server may reorder the run, so its users make poor anchors, but not
     * move that one, which the next page holds. A page that starts with the run has no such user.
     */
    private List<SweepState.Version> withRunAnchor(List<SweepState.Version> anchors, List<CloseUser> users,
                                                   long request) {
        long before = runStart - 1;
        if (before < request) {
            // No run, or the page starts with it: no user before the run is on this page.
            return anchors;
        }
        SweepState.Version runAnchor = SweepState.Version.of(users.get((int) (before - request)));
        if (anchors.contains(runAnchor)) {
            return anchors;
        }
        List<SweepState.Version> kept = new ArrayList<>(anchors.subList(Math.max(0, anchors.size()
                - (SweepState.MAX_ANCHORS - 1)), anchors.size()));
        kept.add(0, runAnchor);
        return kept;
    }

    /** The anchors once the users of the page from {@code start} on are processed: the last few. */
    private List<SweepState.Version> anchorsAfter(List<CloseUser> users, int start) {
        List<SweepState.Version> anchors = new ArrayList<>(SweepState.MAX_ANCHORS + 1);
        int from = Math.max(start, users.size() - SweepState.MAX_ANCHORS);
        int fresh = users.size() - from;
        for (SweepState.Version anchor : state.anchors()) {
            boolean again = false;
            for (int i = from; i < users.size(); i++) {
                again |= users.get(i).id().equals(anchor.id());
            }
            if (!again) {
                anchors.add(anchor);
            }
        }
        while (anchors.size() > SweepState.MAX_ANCHORS - fresh) {
            anchors.remove(0);
        }
        for (int i = from; i < users.size(); i++) {
            anchors.add(SweepState.Version.of(users.get(i)));
        }
        return anchors;
    }

    /**
     * In a name order: whether the page starts among users tied with the run the walk is in (the
     * users tied with the last one read, or with the anchor found when a restart lost that run). Those
     * users may come back in any order, so one not read yet may lie just before the page.
     */
    private boolean beginsInsideTiedRun(List<CloseUser> users, int anchorAt) {
        String order = state.orderBy();
        if (order == null || order.isEmpty()) {
            return false;
        }
        String key = runKey != null ? runKey : sortKey(users.get(anchorAt));
        return sortKey(users.get(0)).equals(key);
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
}
