package io.closeconnect.users;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.connect.errors.ConnectException;

/**
 * Where the sync stands, as stored in Connect's offset storage after every record.
 *
 * <p>All fields are immutable; every change makes a new state, so a record can carry the exact
 * state that holds once it is delivered.
 *
 * @param skip         the {@code _skip} of the next request: the list position of the last user
 *                     processed in the sweep in progress (pages overlap by that one user), or 0
 * @param watermark    micros; every version with {@code date_updated} at or before it has been
 *                     emitted. {@code null} before the first completed sweep (the snapshot)
 * @param sweepStarted micros; a moment before the sweep in progress read its first page, minus the
 *                     configured lag. It becomes the watermark when the sweep completes. {@code null}
 *                     between sweeps
 * @param anchors      the last users processed by the sweep in progress, oldest first, at most
 *                     {@link #MAX_ANCHORS}. The next page must contain one of them unchanged, or
 *                     the list shifted under the sweep and it steps back
 * @param orderBy      the {@code close.users.order.by} the positions and anchors refer to;
 *                     {@code null} when unknown (an offset written by hand)
 * @param recent       users emitted with a {@code date_updated} after the watermark, id to micros.
 *                     Only these could be met again by a filter on the watermark, so only these
 *                     are remembered to keep them from being emitted twice
 */
public record SweepState(long skip, Long watermark, Long sweepStarted, List<Version> anchors,
                         Map<String, Long> recent, String orderBy) {

    /** Offset keys. */
    public static final String SKIP = "skip";
    public static final String WATERMARK = "watermark";
    public static final String SWEEP_STARTED = "sweep_started";
    public static final String ANCHORS = "anchors";
    public static final String RECENT = "recent";
    public static final String ORDER_BY = "order_by";

    /** Source partition keys. */
    public static final String PARTITION_URL = "close_api_url";
    public static final String PARTITION_RESOURCE = "resource";
    public static final String RESOURCE_USERS = "users";

    static final int MAX_ANCHORS = 4;
    /**
     * The most entries {@link #recent} holds, which keeps every offset under about 60 KB.
     * It keeps the versions emitted after the sweep start (the next sweep's filter would meet them
     * again) and, during an incremental sweep, the versions that sweep emitted at or before its
     * start (the in-memory record of them dies with the task, and a restart whose walk lost its
     * anchors starts over from the top of the list). Past the limit, such as during a bulk import
     * or the snapshot, those versions may be emitted a second time: a duplicate, never a loss.
     */
    static final int MAX_RECENT = 1_000;

    private static final char ENTRY_SEPARATOR = ',';
    private static final char VERSION_SEPARATOR = '@';

    /** One version of one user: its id and {@code date_updated} in micros. */
    public record Version(String id, long micros) {
        static Version of(CloseUser user) {
            return new Version(user.id(), user.updatedMicros());
        }

        boolean matches(CloseUser user) {
            return micros == user.updatedMicros() && id.equals(user.id());
        }
    }

    /** A state whose order is unknown, as an offset written by hand without {@code order_by}. */
    public SweepState(long skip, Long watermark, Long sweepStarted, List<Version> anchors, Map<String, Long> recent) {
        this(skip, watermark, sweepStarted, anchors, recent, null);
    }

    public SweepState {
        anchors = List.copyOf(anchors);
        recent = recent instanceof RecentVersions shared ? shared : new RecentVersions(new HashMap<>(recent));
    }

    /** The state of a connector that has never run: the first sweep emits every user. */
    public static SweepState initial() {
        return new SweepState(0, null, null, List.of(), Map.of(), null);
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

    /** Whether a user with this version must be emitted: newer than the watermark and than what was emitted. */
    boolean shouldEmit(CloseUser user) {
        if (watermark != null && user.updatedMicros() <= watermark) {
            return false;
        }
        Long emitted = recent.get(user.id());
        return emitted == null || emitted < user.updatedMicros();
    }

    SweepState started(long sweepStartedMicros) {
        return new SweepState(0, watermark, sweepStartedMicros, List.of(), recent, orderBy);
    }

    /**
     * This state for a walk in {@code order}. A position and anchors taken in another order say
     * nothing about this one, so a sweep in progress walks again from the start of the list, with
     * the same watermark and sweep start: nothing it had not emitted yet is skipped.
     */
    SweepState inOrder(String order) {
        if (orderBy == null || orderBy.equals(order)) {
            return orderBy == null ? new SweepState(skip, watermark, sweepStarted, anchors, recent, order) : this;
        }
        return new SweepState(0, watermark, sweepStarted, List.of(), recent, order);
    }

    SweepState withSkip(long newSkip) {
        return new SweepState(newSkip, watermark, sweepStarted, anchors, recent, orderBy);
    }

    /** Forgets the position (not the watermark or the sweep start): the walk begins again at 0. */
    SweepState restartWalk() {
        return new SweepState(0, watermark, sweepStarted, List.of(), recent, orderBy);
    }

    /** The state after processing {@code user} at list position {@code position}. */
    SweepState processed(CloseUser user, long position, boolean emitted) {
        List<Version> newAnchors = new ArrayList<>(anchors.size() + 1);
        for (Version anchor : anchors) {
            if (!anchor.id().equals(user.id())) {
                newAnchors.add(anchor);
            }
        }
        newAnchors.add(Version.of(user));
        while (newAnchors.size() > MAX_ANCHORS) {
            newAnchors.remove(0);
        }
        Map<String, Long> newRecent = recent;
        boolean wanted = user.updatedMicros() > sweepStarted || watermark != null;
        boolean room = recent.size() < MAX_RECENT || recent.containsKey(user.id());
        if (emitted && wanted && room) {
            newRecent = ((RecentVersions) recent).with(user.id(), user.updatedMicros());
        }
        return new SweepState(position, watermark, sweepStarted, newAnchors, newRecent, orderBy);
    }

    /** The state after emitting {@code user} found behind the position: only {@code recent} changes. */
    SweepState emittedOutOfPlace(CloseUser user) {
        boolean wanted = user.updatedMicros() > sweepStarted || watermark != null;
        boolean room = recent.size() < MAX_RECENT || recent.containsKey(user.id());
        if (!wanted || !room) {
            return this;
        }
        return new SweepState(skip, watermark, sweepStarted, anchors,
                ((RecentVersions) recent).with(user.id(), user.updatedMicros()), orderBy);
    }

    /** The state once the walk has passed the last page: the sweep start becomes the watermark. */
    SweepState completed() {
        long newWatermark = watermark == null ? sweepStarted : Math.max(watermark, sweepStarted);
        Map<String, Long> kept = new HashMap<>();
        recent.forEach((id, micros) -> {
            if (micros > newWatermark) {
                kept.put(id, micros);
            }
        });
        return new SweepState(0, newWatermark, null, List.of(), kept, orderBy);
    }

    /** This state as a Connect offset: only strings and longs, timestamps as ISO-8601 with micros. */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put(SKIP, skip);
        map.put(WATERMARK, watermark == null ? null : Timestamps.format(watermark));
        map.put(SWEEP_STARTED, sweepStarted == null ? null : Timestamps.format(sweepStarted));
        map.put(ANCHORS, encode(anchors));
        map.put(RECENT, ((RecentVersions) recent).encoded());
        map.put(ORDER_BY, orderBy);
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
            if (!List.of(SKIP, WATERMARK, SWEEP_STARTED, ANCHORS, RECENT, ORDER_BY).contains(key)) {
                throw new ConnectException("Offset key '" + key + "' is unknown; the keys are "
                        + List.of(SKIP, WATERMARK, SWEEP_STARTED, ANCHORS, RECENT, ORDER_BY));
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
        if (sweepStarted == null && (skip != 0 || !anchors.isEmpty())) {
            throw new ConnectException("Offset keys '" + SKIP + "' and '" + ANCHORS + "' describe a sweep in "
                    + "progress, so '" + SWEEP_STARTED + "' must be set too");
        }
        if (anchors.size() > MAX_ANCHORS) {
            throw new ConnectException("Offset key '" + ANCHORS + "' holds " + anchors.size()
                    + " entries; at most " + MAX_ANCHORS + " are allowed");
        }
        Map<String, Long> recent = new HashMap<>();
        for (Version version : recentList) {
            recent.put(version.id(), version.micros());
        }
        Object rawOrder = map.get(ORDER_BY);
        if (rawOrder != null && !CloseUsersConfig.ORDER_BY_VALUES.contains(rawOrder)) {
            throw new ConnectException("Offset key '" + ORDER_BY + "' must be one of " + CloseUsersConfig.ORDER_BY_VALUES
                    + " (empty for Close's default order), not " + rawOrder);
        }
        return new SweepState(skip, watermark, sweepStarted, anchors, recent, (String) rawOrder);
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
                out.append(ENTRY_SEPARATOR);
            }
            out.append(version.id()).append(VERSION_SEPARATOR).append(Timestamps.format(version.micros()));
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
        for (String entry : text.split(String.valueOf(ENTRY_SEPARATOR), -1)) {
            int at = entry.lastIndexOf(VERSION_SEPARATOR);
            if (at <= 0 || at == entry.length() - 1) {
                throw new ConnectException("Offset key '" + key + "' has the entry '" + entry
                        + "', which is not of the form id@timestamp");
            }
            try {
                versions.add(new Version(entry.substring(0, at), Timestamps.parseMicros(entry.substring(at + 1))));
            } catch (IllegalArgumentException e) {
                throw new ConnectException("Offset key '" + key + "' has the entry '" + entry + "': " + e.getMessage());
            }
        }
        return versions;
    }

    /**
     * The {@code recent} map: immutable, shared by every state until an emit adds to it, and
     * encoded for the offset once rather than for every record.
     */
    private static final class RecentVersions extends AbstractMap<String, Long> {
        private final Map<String, Long> versions;
        private volatile String encoded;

        RecentVersions(Map<String, Long> versions) {
            this.versions = versions;
        }

        RecentVersions with(String id, long micros) {
            Map<String, Long> copy = new HashMap<>(versions);
            copy.put(id, micros);
            return new RecentVersions(copy);
        }

        String encoded() {
            String text = encoded;
            if (text == null) {
                List<Version> sorted = new ArrayList<>(versions.size());
                versions.forEach((id, micros) -> sorted.add(new Version(id, micros)));
                sorted.sort((a, b) -> a.id().compareTo(b.id()));
                text = encode(sorted);
                encoded = text;
            }
            return text;
        }

        @Override
        public Long get(Object key) {
            return versions.get(key);
        }

        @Override
        public boolean containsKey(Object key) {
            return versions.containsKey(key);
        }

        @Override
        public int size() {
            return versions.size();
        }

        @Override
        public Set<Entry<String, Long>> entrySet() {
            return Collections.unmodifiableMap(versions).entrySet();
        }
    }
}
