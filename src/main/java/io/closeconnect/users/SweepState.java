package io.closeconnect.users;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;

/**
 * Where the sweep stands, as stored in Connect's offset storage under the source partition
 * {@link #partition}: the walk's position, the watermark, the sweep's phase and its coverage. What
 * downstream has been told lives in {@link UserLedger}, in partitions of its own.
 *
 * <p>Immutable; the sweep makes a new state for every step.
 *
 * @param skip         the list position of the last user processed in the sweep in progress (the
 *                     next request starts at or before it, so that pages overlap), or 0
 * @param watermark    micros; the start of the last completed sweep, minus the configured lag.
 *                     {@code null} before the first sweep completes
 * @param sweepStarted micros; a moment before the sweep in progress read its first page, minus the
 *                     lag. It becomes the watermark when the sweep completes; {@code null} between sweeps
 * @param anchors      the last users processed by the walk, oldest first, at most {@link #MAX_ANCHORS}.
 *                     The next page must contain one of them unchanged, or the list shifted under the
 *                     walk and it steps back
 * @param orderBy      the {@code close.users.order.by} the position and anchors refer to; {@code null}
 *                     when unknown (an offset written by hand)
 * @param ledger       whether the ledger is still being built from offsets of a version before it
 *                     ({@link LedgerStatus#BUILDING}) or says what downstream has been told
 *                     ({@link LedgerStatus#COMPLETE}); {@code null} in an offset written by hand or
 *                     by a version before the ledger
 * @param phase        what the sweep in progress is doing; {@code null} between sweeps
 * @param seenBase     the coverage's {@code seen_base} ({@link SweepCoverage}); {@code null} between sweeps
 * @param seen         the coverage's bits ({@link SweepCoverage}); {@code null} between sweeps
 * @param recent       from offsets of a version before the ledger only: users emitted with a version
 *                     after the watermark. Used while the ledger is built, then dropped
 * @param organizations the organizations the listed users belonged to in the last completed sweep
 *                     (at most {@link #MAX_ORGANIZATIONS}): a credential whose user belongs to none
 *                     of them is another account's
 */
public record SweepState(long skip, Long watermark, Long sweepStarted, List<Version> anchors, String orderBy,
                         LedgerStatus ledger, Phase phase, String seenBase, String seen, Map<String, Long> recent,
                         List<String> organizations) {

    /** Offset keys. */
    public static final String SKIP = "skip";
    public static final String WATERMARK = "watermark";
    public static final String SWEEP_STARTED = "sweep_started";
    public static final String ANCHORS = "anchors";
    public static final String ORDER_BY = "order_by";
    public static final String LEDGER = "ledger";
    public static final String PHASE = "phase";
    public static final String SEEN_BASE = "seen_base";
    public static final String SEEN = "seen";
    public static final String RECENT = "recent";
    public static final String ORGANIZATIONS = "organizations";

    private static final List<String> KEYS = List.of(SKIP, WATERMARK, SWEEP_STARTED, ANCHORS, ORDER_BY, LEDGER,
            PHASE, SEEN_BASE, SEEN, RECENT, ORGANIZATIONS);

    static final int MAX_ORGANIZATIONS = 20;

    /** Source partition keys. */
    public static final String PARTITION_URL = "close_api_url";
    public static final String PARTITION_RESOURCE = "resource";
    public static final String RESOURCE_USERS = "users";

    static final int MAX_ANCHORS = 4;

    /** Whether the ledger can be trusted as the list of what was announced. */
    public enum LedgerStatus {
        /** Built during the first sweep after an upgrade: users at or before the watermark count as announced. */
        BUILDING,
        /** Every announced user, and only those, is in the ledger. */
        COMPLETE;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** What the sweep in progress is doing. */
    public enum Phase {
        /** Reading the pages of the list. */
        WALK,
        /** Asking Close one by one about the announced users the walk did not see. */
        CONFIRM,
        /**
         * Walking the list once more, after the walk: users whose intent to be added is stored but
         * whose record is not in memory (found by a task that stopped before their records went
         * out, or more than fit in memory) go out when this walk meets them.
         */
        RELEASE;

        String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One version of one user: its id and {@code date_updated} in micros. */
    public record Version(String id, long micros) {
        static Version of(CloseUser user) {
            return new Version(user.id(), user.updatedMicros());
        }

        boolean matches(CloseUser user) {
            return micros == user.updatedMicros() && id.equals(user.id());
        }
    }

    public SweepState {
        anchors = List.copyOf(anchors);
        recent = Map.copyOf(recent);
        organizations = List.copyOf(organizations);
    }

    /** A state that does not know the account's organizations. */
    public SweepState(long skip, Long watermark, Long sweepStarted, List<Version> anchors, String orderBy,
                      LedgerStatus ledger, Phase phase, String seenBase, String seen, Map<String, Long> recent) {
        this(skip, watermark, sweepStarted, anchors, orderBy, ledger, phase, seenBase, seen, recent, List.of());
    }

    /**
     * The state when no offset is stored for the sweep: a connector that has never run, or whose
     * offsets were deleted, or that crashed before its first sweep offset was committed. Whatever the
     * ledger holds is what was announced (nothing, for a new connector: the first sweep emits every user).
     */
    public static SweepState initial() {
        return new SweepState(0, null, null, List.of(), null, LedgerStatus.COMPLETE, null, null, null, Map.of(),
                List.of());
    }

    /**
     * The source partition. Connect finds stored offsets by the partition's serialized bytes, so
     * its key order must be the same in every JVM: {@code Map.of} iterates in an order that changes
     * from one JVM run to the next, which would lose the offsets on every worker restart.
     */
    public static Map<String, String> partition(String apiUrl) {
        Map<String, String> partition = new LinkedHashMap<>();
        partition.put(PARTITION_URL, apiUrl);
        partition.put(PARTITION_RESOURCE, RESOURCE_USERS);
        return Collections.unmodifiableMap(partition);
    }

    public boolean sweepInProgress() {
        return sweepStarted != null;
    }

    /** A sweep starting now: the walk at the top of the list, nothing seen yet. */
    SweepState started(long sweepStartedMicros, SweepCoverage coverage) {
        return new SweepState(0, watermark, sweepStartedMicros, List.of(), orderBy, ledger, Phase.WALK,
                coverage.encodeBase(), coverage.encodeSeen(), recent, organizations);
    }

    /**
     * This state for a walk in {@code order}. A position and anchors taken in another order say
     * nothing about this one, so a sweep in progress walks again from the start of the list, with
     * the same sweep start and coverage: nothing is skipped.
     */
    SweepState inOrder(String order) {
        if (orderBy != null && !orderBy.equals(order) && phase != Phase.CONFIRM) {
            return new SweepState(0, watermark, sweepStarted, List.of(), order, ledger, phase, seenBase, seen, recent,
                    organizations);
        }
        return new SweepState(skip, watermark, sweepStarted, anchors, order, ledger, phase, seenBase, seen, recent,
                organizations);
    }

    /** The ledger's status, once the task knows whether a ledger was stored. */
    SweepState withLedger(LedgerStatus status) {
        return new SweepState(skip, watermark, sweepStarted, anchors, orderBy, status, phase, seenBase, seen, recent,
                organizations);
    }

    /** The walk's position after a page (or after stepping back), with the coverage so far. */
    SweepState walked(long newSkip, List<Version> newAnchors, SweepCoverage coverage) {
        return new SweepState(newSkip, watermark, sweepStarted, newAnchors, orderBy, ledger,
                phase == Phase.RELEASE ? Phase.RELEASE : Phase.WALK, coverage.encodeBase(), coverage.encodeSeen(),
                recent, organizations);
    }

    /** The walk is over, and users wait for their first record: the list is walked once more from the top. */
    SweepState releasing(SweepCoverage coverage) {
        return new SweepState(0, watermark, sweepStarted, List.of(), orderBy, ledger, Phase.RELEASE,
                coverage.encodeBase(), coverage.encodeSeen(), recent, organizations);
    }

    /** The walk is over; the users it did not see are being confirmed with Close. */
    SweepState confirming(SweepCoverage coverage) {
        return new SweepState(0, watermark, sweepStarted, List.of(), orderBy, ledger, Phase.CONFIRM,
                coverage.encodeBase(), coverage.encodeSeen(), recent, organizations);
    }

    /**
     * The state once the sweep is over: its start becomes the watermark, the ledger is complete, and
     * {@code listedOrganizations} (those of the users it listed) become the account's when there are any.
     */
    SweepState completed(java.util.Collection<String> listedOrganizations) {
        long newWatermark = watermark == null ? sweepStarted : Math.max(watermark, sweepStarted);
        List<String> kept = organizations;
        if (!listedOrganizations.isEmpty()) {
            List<String> sorted = new ArrayList<>(listedOrganizations);
            sorted.sort(null);
            kept = sorted.subList(0, Math.min(MAX_ORGANIZATIONS, sorted.size()));
        }
        return new SweepState(0, newWatermark, null, List.of(), orderBy, LedgerStatus.COMPLETE, null, null, null,
                Map.of(), kept);
    }

    /** This state as a Connect offset: only strings and longs, timestamps as ISO-8601 with micros. */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put(SKIP, skip);
        map.put(WATERMARK, watermark == null ? null : Timestamps.format(watermark));
        map.put(SWEEP_STARTED, sweepStarted == null ? null : Timestamps.format(sweepStarted));
        map.put(ANCHORS, encode(anchors));
        map.put(ORDER_BY, orderBy);
        map.put(LEDGER, ledger == null ? null : ledger.key());
        map.put(PHASE, phase == null ? null : phase.key());
        map.put(SEEN_BASE, seenBase);
        map.put(SEEN, seen);
        if (!organizations.isEmpty()) {
            map.put(ORGANIZATIONS, String.join(",", organizations));
        }
        if (!recent.isEmpty()) {
            List<Version> versions = new ArrayList<>(recent.size());
            recent.forEach((id, micros) -> versions.add(new Version(id, micros)));
            versions.sort((a, b) -> a.id().compareTo(b.id()));
            map.put(RECENT, encode(versions));
        }
        return map;
    }

    /**
     * Reads an offset back. Missing keys take their initial values, so an operator can write just
     * {@code {"watermark": "..."}}. A {@code null} map is the initial state.
     *
     * @throws ConnectException naming the key when a value has the wrong type or shape
     */
    public static SweepState fromMap(Map<String, ?> map) {
        if (map == null) {
            return initial();
        }
        for (String key : map.keySet()) {
            if (!KEYS.contains(key)) {
                throw new ConnectException("Offset key '" + key + "' is unknown; the keys are " + KEYS);
            }
        }
        long skip = 0;
        Object rawSkip = map.get(SKIP);
        if (rawSkip != null) {
            if (!(rawSkip instanceof Long || rawSkip instanceof Integer || rawSkip instanceof Short
                    || rawSkip instanceof Byte)) {
                throw new ConnectException("Offset key '" + SKIP + "' must be a whole number, not "
                        + rawSkip.getClass().getSimpleName() + " " + rawSkip);
            }
            skip = ((Number) rawSkip).longValue();
            if (skip < 0) {
                throw new ConnectException("Offset key '" + SKIP + "' must be 0 or more, not " + skip);
            }
        }
        Long watermark = timestamp(map, WATERMARK);
        Long sweepStarted = timestamp(map, SWEEP_STARTED);
        List<Version> anchors = decode(map, ANCHORS);
        List<Version> recentList = decode(map, RECENT);
        if (anchors.size() > MAX_ANCHORS) {
            throw new ConnectException("Offset key '" + ANCHORS + "' holds " + anchors.size()
                    + " entries; at most " + MAX_ANCHORS + " are allowed");
        }
        Object rawOrder = map.get(ORDER_BY);
        if (rawOrder != null && !CloseUsersConfig.ORDER_BY_VALUES.contains(rawOrder)) {
            throw new ConnectException("Offset key '" + ORDER_BY + "' must be one of " + CloseUsersConfig.ORDER_BY_VALUES
                    + " (empty for Close's default order), not " + rawOrder);
        }
        LedgerStatus ledger = choice(map, LEDGER, LedgerStatus.values());
        Phase phase = choice(map, PHASE, Phase.values());
        String seenBase = text(map, SEEN_BASE);
        String seen = text(map, SEEN);
        if ((seenBase == null) != (seen == null)) {
            throw new ConnectException("Offset keys '" + SEEN_BASE + "' and '" + SEEN + "' go together: set both "
                    + "or neither");
        }
        if (seenBase != null) {
            SweepCoverage.parseBase(seenBase, new int[UserLedger.SHARDS], new int[UserLedger.SHARDS]);
            SweepCoverage.parseSeen(seen);
        }
        if (sweepStarted == null && (skip != 0 || !anchors.isEmpty() || phase != null || seen != null)) {
            throw new ConnectException("Offset keys '" + SKIP + "', '" + ANCHORS + "', '" + PHASE + "' and '" + SEEN
                    + "' describe a sweep in progress, so '" + SWEEP_STARTED + "' must be set too");
        }
        Map<String, Long> recent = new HashMap<>();
        for (Version version : recentList) {
            recent.put(version.id(), version.micros());
        }
        String rawOrganizations = text(map, ORGANIZATIONS);
        List<String> organizations = rawOrganizations == null || rawOrganizations.isEmpty() ? List.of()
                : List.of(rawOrganizations.split(",", -1));
        if (organizations.contains("") || organizations.size() > MAX_ORGANIZATIONS) {
            throw new ConnectException("Offset key '" + ORGANIZATIONS + "' must hold at most " + MAX_ORGANIZATIONS
                    + " organization ids separated by commas, not '" + rawOrganizations + "'");
        }
        return new SweepState(skip, watermark, sweepStarted, anchors, (String) rawOrder, ledger,
                sweepStarted == null ? null : phase == null ? Phase.WALK : phase, seenBase, seen, recent, organizations);
    }

    private static <E extends Enum<E>> E choice(Map<String, ?> map, String key, E[] values) {
        Object raw = map.get(key);
        if (raw == null) {
            return null;
        }
        List<String> allowed = new ArrayList<>();
        for (E value : values) {
            String name = value.name().toLowerCase(Locale.ROOT);
            if (name.equals(raw)) {
                return value;
            }
            allowed.add(name);
        }
        throw new ConnectException("Offset key '" + key + "' must be one of " + allowed + ", not " + raw);
    }

    private static String text(Map<String, ?> map, String key) {
        Object raw = map.get(key);
        if (raw == null || raw instanceof String) {
            return (String) raw;
        }
        throw new ConnectException("Offset key '" + key + "' must be a string, not " + raw.getClass().getSimpleName());
    }

    private static Long timestamp(Map<String, ?> map, String key) {
        Object raw = map.get(key);
        if (raw == null) {
            return null;
        }
        if (!(raw instanceof String text)) {
            throw new ConnectException("Offset key '" + key + "' must be an ISO-8601 timestamp string such as "
                    + "2024-01-31T00:00:00.000000Z, not " + raw.getClass().getSimpleName() + " " + raw);
        }
        try {
            return Timestamps.parseMicros(text);
        } catch (IllegalArgumentException e) {
            throw new ConnectException("Offset key '" + key + "' must be an ISO-8601 timestamp such as "
                    + "2024-01-31T00:00:00.000000Z: " + e.getMessage());
        }
    }

    static String encode(List<Version> versions) {
        StringBuilder out = new StringBuilder(versions.size() * 80);
        for (Version version : versions) {
            if (out.length() > 0) {
                out.append(',');
            }
            OffsetIds.escape(out, version.id());
            out.append('@').append(Timestamps.format(version.micros()));
        }
        return out.toString();
    }

    private static List<Version> decode(Map<String, ?> map, String key) {
        Object raw = map.get(key);
        if (raw == null) {
            return List.of();
        }
        if (!(raw instanceof String text)) {
            throw new ConnectException("Offset key '" + key + "' must be a string of id@timestamp entries "
                    + "separated by commas, not " + raw.getClass().getSimpleName());
        }
        List<Version> versions = new ArrayList<>();
        if (text.isEmpty()) {
            return versions;
        }
        for (String entry : text.split(",", -1)) {
            int at = entry.lastIndexOf('@');
            if (at <= 0 || at == entry.length() - 1) {
                throw new ConnectException("Offset key '" + key + "' has the entry '" + entry
                        + "', which is not of the form id@timestamp");
            }
            try {
                versions.add(new Version(OffsetIds.unescape(entry.substring(0, at)),
                        Timestamps.parseMicros(entry.substring(at + 1))));
            } catch (IllegalArgumentException e) {
                throw new ConnectException("Offset key '" + key + "' has the entry '" + entry + "': " + e.getMessage());
            }
        }
        return versions;
    }
}
