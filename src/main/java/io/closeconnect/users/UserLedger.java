package io.closeconnect.users;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;

/**
 * What downstream has been told: for every user the topic may hold, the version ({@code
 * date_updated}) of the last record emitted for it, and whether a change of membership (a first
 * announcement, a removal) is under way.
 *
 * <p>The sweep emits a user whose version is newer than the one announced, or who was never
 * announced, whatever the watermark; and a member no longer listed is a candidate for removal. The
 * ledger is kept in Connect's offset storage, split by a hash of the id into {@value #SHARDS}
 * source partitions ({@code {"close_api_url": ..., "resource": "users.announced", "shard":
 * "00".."63"}}), each holding {@code {"announced": "id@date_updated,..."}}: about 77 bytes a user,
 * so a shard stays near 120 KB at 100,000 users, well under Kafka's 1 MB message limit.
 *
 * <h2>Entries</h2>
 * <ul>
 *   <li>{@code id@2026-01-02T03:04:05.000000Z}: announced at that version.</li>
 *   <li>{@code id@+2026-...Z}: about to be announced (a first record, or a record after a removal).
 *       The record may or may not be in the topic: the user counts as a member, so that a
 *       departure is never missed, and as not announced, so that it is emitted (again).</li>
 *   <li>{@code id@~2026-...Z}: about to be announced removed. The removal may or may not be in the
 *       topic: the user still counts as a member until it is.</li>
 *   <li>{@code id@-}: announced removed during the sweep in progress; dropped when it completes.</li>
 * </ul>
 *
 * <h2>Never behind and never ahead of the topic</h2>
 * Connect commits the offsets of each source partition in the order its records were polled, up to
 * the last record acknowledged; a crash in at-least-once mode loses the offsets of records
 * delivered since the last commit. So a record carries its shard's offset as last written ({@link
 * #carriedOffset}), which claims nothing the record itself says, and the shard's new offset rides on
 * a record placed after it ({@link #checkpoint()}): a version is never claimed before its record is
 * in the topic. And a change of membership is first written as an intent (adding, removing), and
 * its records wait until that intent is stored for good ({@link Delivery}): a crash can then lose
 * the record's own offset, but never leave the topic holding a user the ledger does not count, or
 * a removal the ledger does not know may have happened.
 *
 * <h2>Order of entries</h2>
 * Each shard keeps its entries in the order they were first written; a change replaces an entry in
 * place, and only {@link #purgeRemoved()} (when a sweep completes) drops some. So during a sweep a
 * shard only grows at its end, and the users it held when the sweep started stay its first
 * entries: {@link SweepCoverage} relies on it.
 *
 * <p>Not thread-safe: one task uses it from one thread at a time.
 */
final class UserLedger {

    static final int SHARDS = 64;
    static final String RESOURCE = "users.announced";
    static final String PARTITION_SHARD = "shard";
    /** The offset key of a shard: its entries, {@code id@date_updated} separated by commas. */
    static final String ANNOUNCED = "announced";
    /**
     * The offset key that marks a shard written while the ledger was built from the offsets of an
     * earlier version ({@code "ledger": "building"}), so that a restart before the sweep's own offset
     * was stored goes on building instead of taking the shards for a complete ledger.
     */
    static final String BUILDING = "ledger";

    /** What the ledger knows of one user. */
    enum State {
        /** Announced at the entry's version. */
        ANNOUNCED(""),
        /** About to be announced at the entry's version: a member that may not be in the topic yet. */
        ADDING("+"),
        /** About to be announced removed: a member that may already be gone from the topic. */
        REMOVING("~"),
        /** Announced removed during the sweep in progress. */
        REMOVED("-");

        final String mark;

        State(String mark) {
            this.mark = mark;
        }

        boolean member() {
            return this != REMOVED;
        }
    }

    /** One user's entry; {@code batch} is the poll batch that carries its latest intent (0: stored already). */
    private static final class Entry {
        State state;
        long version;
        long batch;

        Entry(State state, long version, long batch) {
            this.state = state;
            this.version = version;
            this.batch = batch;
        }
    }

    private final String apiUrl;
    private final List<Map<String, String>> partitions;
    private final List<LinkedHashMap<String, Entry>> shards;
    private final List<Shard> written;
    private final boolean stored;
    private boolean storedWhileBuilding;
    private boolean building;
    private int members;

    /** What a shard's offset said when it was last handed out, and what changed since. */
    private static final class Shard {
        Map<String, Object> offset;
        String encoded;
        /** Ids added at the end since {@link #offset}; null once anything else changed. */
        List<String> appended = new ArrayList<>();
        boolean dirty;
    }

    /** A source partition and the offset to store for it. */
    record Checkpoint(Map<String, String> partition, Map<String, Object> offset) {
    }

    private UserLedger(String apiUrl, boolean stored) {
        this.apiUrl = apiUrl;
        this.stored = stored;
        this.partitions = partitions(apiUrl);
        this.shards = new ArrayList<>(SHARDS);
        this.written = new ArrayList<>(SHARDS);
        for (int s = 0; s < SHARDS; s++) {
            shards.add(new LinkedHashMap<>());
            Shard shard = new Shard();
            shard.encoded = "";
            shard.offset = offsetMap("");
            written.add(shard);
        }
    }

    /** A ledger with nothing announced and nothing stored. */
    static UserLedger empty(String apiUrl) {
        return new UserLedger(apiUrl, false);
    }

    /**
     * The ledger as stored: {@code stored} maps each partition of {@link #partitions} to its offset,
     * or lacks it (never written). Every intent in it is stored for good.
     *
     * @throws ConnectException naming the shard and the entry when a stored offset is malformed
     */
    static UserLedger restore(String apiUrl, Map<Map<String, String>, Map<String, Object>> stored) {
        boolean any = false;
        for (Map<String, String> partition : partitions(apiUrl)) {
            any |= stored.get(partition) != null;
        }
        UserLedger ledger = new UserLedger(apiUrl, any);
        ledger.storedWhileBuilding = any;
        for (int s = 0; s < SHARDS; s++) {
            Map<String, Object> offset = stored.get(ledger.partitions.get(s));
            if (offset == null) {
                continue;
            }
            ledger.storedWhileBuilding &= offset.containsKey(BUILDING);
            for (Map.Entry<String, Version> entry : decode(offset, s).entrySet()) {
                Version version = entry.getValue();
                ledger.shards.get(s).put(entry.getKey(), new Entry(version.state(), version.micros(), 0));
                if (version.state().member()) {
                    ledger.members++;
                }
            }
            Shard shard = ledger.written.get(s);
            shard.offset = Collections.unmodifiableMap(new LinkedHashMap<>(offset));
            shard.encoded = (String) offset.get(ANNOUNCED);
        }
        return ledger;
    }

    /** The source partition of each shard, in shard order; key order fixed, as Connect needs. */
    static List<Map<String, String>> partitions(String apiUrl) {
        List<Map<String, String>> all = new ArrayList<>(SHARDS);
        for (int s = 0; s < SHARDS; s++) {
            all.add(partition(apiUrl, s));
        }
        return Collections.unmodifiableList(all);
    }

    static Map<String, String> partition(String apiUrl, int shard) {
        Map<String, String> partition = new LinkedHashMap<>();
        partition.put(SweepState.PARTITION_URL, apiUrl);
        partition.put(SweepState.PARTITION_RESOURCE, RESOURCE);
        partition.put(PARTITION_SHARD, shardName(shard));
        return Collections.unmodifiableMap(partition);
    }

    static String shardName(int shard) {
        return shard < 10 ? "0" + shard : Integer.toString(shard);
    }

    /**
     * The shard of a user: a mix of {@link String#hashCode()} (whose value the Java language fixes,
     * so it is the same in every JVM), modulo {@value #SHARDS}.
     */
    static int shardOf(String id) {
        int h = id.hashCode();
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return Math.floorMod(h, SHARDS);
    }

    /** Whether any shard had a stored offset when the task started: the ledger existed before. */
    boolean stored() {
        return stored;
    }

    /** Whether every shard stored was written while the ledger was being built. */
    boolean storedWhileBuilding() {
        return storedWhileBuilding;
    }

    /**
     * Marks the offsets written from now on as written while building (or not). Leaving the building
     * state rewrites every shard, so that none keeps the mark.
     */
    void building(boolean now) {
        if (building && !now) {
            for (int s = 0; s < SHARDS; s++) {
                if (!shards.get(s).isEmpty()) {
                    changed(s);
                }
            }
        }
        building = now;
    }

    /** The user's state, or null when the ledger has no entry for it. */
    State state(String id) {
        Entry entry = entry(id);
        return entry == null ? null : entry.state;
    }

    /** The version announced (or being announced) for this user; meaningless without an entry. */
    long version(String id) {
        Entry entry = entry(id);
        return entry == null ? Long.MIN_VALUE : entry.version;
    }

    /** The version announced for this user, or null unless it is {@link State#ANNOUNCED}. */
    Long announced(String id) {
        Entry entry = entry(id);
        return entry == null || entry.state != State.ANNOUNCED ? null : entry.version;
    }

    /** Whether the topic may hold this user: announced, or a change of membership under way. */
    boolean member(String id) {
        Entry entry = entry(id);
        return entry != null && entry.state.member();
    }

    /** Whether the user's latest intent is stored for good, so that its records may go out. */
    boolean intentStored(String id, Delivery delivery) {
        Entry entry = entry(id);
        return entry != null && delivery.stored(entry.batch);
    }

    private Entry entry(String id) {
        return shards.get(shardOf(id)).get(id);
    }

    /** How many users the topic may hold: announced, or being added or removed. */
    int memberCount() {
        return members;
    }

    /** Records that a record of this version of the user was emitted. */
    void announce(String id, long micros) {
        write(id, State.ANNOUNCED, micros, 0);
    }

    /** Records the intent to announce the user at this version, carried by poll batch {@code batch}. */
    void intendAdd(String id, long micros, long batch) {
        write(id, State.ADDING, micros, batch);
    }

    /** Records the intent to announce the user's removal, carried by poll batch {@code batch}. */
    void intendRemove(String id, long batch) {
        Entry entry = entry(id);
        if (entry != null && entry.state.member()) {
            write(id, State.REMOVING, entry.version, batch);
        }
    }

    /** Records that the user's removal was announced; the entry stays, marked, until {@link #purgeRemoved()}. */
    void markRemoved(String id) {
        Entry entry = entry(id);
        if (entry != null && entry.state.member()) {
            write(id, State.REMOVED, entry.version, 0);
        }
    }

    private void write(String id, State state, long micros, long batch) {
        int s = shardOf(id);
        Entry entry = shards.get(s).get(id);
        if (entry == null) {
            shards.get(s).put(id, new Entry(state, micros, batch));
            members += state.member() ? 1 : 0;
            Shard shard = written.get(s);
            if (shard.appended != null) {
                shard.appended.add(id);
            }
            shard.dirty = true;
            return;
        }
        entry.batch = batch;
        if (entry.state == state && entry.version == micros) {
            return;
        }
        members += (state.member() ? 1 : 0) - (entry.state.member() ? 1 : 0);
        entry.state = state;
        entry.version = micros;
        changed(s);
    }

    /** Drops the marks of users announced removed: done when a sweep completes. */
    void purgeRemoved() {
        for (int s = 0; s < SHARDS; s++) {
            if (shards.get(s).values().removeIf(entry -> entry.state == State.REMOVED)) {
                changed(s);
            }
        }
    }

    /**
     * Forgets every announcement of a version after {@code micros}, keeping the user as announced
     * at {@code micros}: the next sweep emits again every listed user changed after that moment,
     * once, and users no longer listed remain candidates for removal. This is how a replay starts.
     */
    void rewind(long micros) {
        for (int s = 0; s < SHARDS; s++) {
            boolean any = false;
            for (Entry entry : shards.get(s).values()) {
                if (entry.state == State.ANNOUNCED && entry.version > micros) {
                    entry.version = micros;
                    any = true;
                }
            }
            if (any) {
                changed(s);
            }
        }
    }

    private void changed(int s) {
        Shard shard = written.get(s);
        shard.appended = null;
        shard.dirty = true;
    }

    Map<String, String> partitionOf(String id) {
        return partitions.get(shardOf(id));
    }

    /**
     * The offset a record about this user carries: its shard's offset as last handed out, which
     * claims nothing that is not already delivered. Shared, not copied.
     */
    Map<String, Object> carriedOffset(String id) {
        return written.get(shardOf(id)).offset;
    }

    /**
     * The new offsets of the shards that changed since the last checkpoint, to be stored by records
     * placed after every record about the users they describe. From now on records carry them.
     */
    List<Checkpoint> checkpoint() {
        List<Checkpoint> checkpoints = new ArrayList<>();
        for (int s = 0; s < SHARDS; s++) {
            Shard shard = written.get(s);
            if (!shard.dirty) {
                continue;
            }
            String text;
            if (shard.appended != null) {
                // Only new users since the last offset: add them to its text instead of writing it again.
                StringBuilder out = new StringBuilder(shard.encoded.length() + shard.appended.size() * 80);
                out.append(shard.encoded);
                for (String id : shard.appended) {
                    appendEntry(out, id, shards.get(s).get(id));
                }
                text = out.toString();
            } else {
                StringBuilder out = new StringBuilder(shards.get(s).size() * 80);
                shards.get(s).forEach((id, entry) -> appendEntry(out, id, entry));
                text = out.toString();
            }
            shard.encoded = text;
            shard.offset = building ? buildingOffsetMap(text) : offsetMap(text);
            shard.appended = new ArrayList<>();
            shard.dirty = false;
            checkpoints.add(new Checkpoint(partitions.get(s), shard.offset));
        }
        return checkpoints;
    }

    /** How many entries shard {@code s} holds, marks of removed users included. */
    int shardSize(int s) {
        return shards.get(s).size();
    }

    /**
     * The users whose intent to be added is written but who are not announced yet, in shard order.
     * Their records go out when a walk meets them with the intent stored.
     */
    List<String> adding() {
        List<String> ids = new ArrayList<>();
        for (LinkedHashMap<String, Entry> shard : shards) {
            shard.forEach((id, entry) -> {
                if (entry.state == State.ADDING) {
                    ids.add(id);
                }
            });
        }
        return ids;
    }

    Iterator<String> ids(int s) {
        return Collections.unmodifiableSet(shards.get(s).keySet()).iterator();
    }

    private static Map<String, Object> offsetMap(String text) {
        Map<String, Object> offset = new LinkedHashMap<>();
        offset.put(ANNOUNCED, text);
        return Collections.unmodifiableMap(offset);
    }

    private static Map<String, Object> buildingOffsetMap(String text) {
        Map<String, Object> offset = new LinkedHashMap<>(offsetMap(text));
        offset.put(BUILDING, SweepState.LedgerStatus.BUILDING.key());
        return Collections.unmodifiableMap(offset);
    }

    private static void appendEntry(StringBuilder out, String id, Entry entry) {
        if (out.length() > 0) {
            out.append(',');
        }
        OffsetIds.escape(out, id);
        out.append('@');
        if (entry.state == State.REMOVED) {
            out.append(State.REMOVED.mark);
        } else {
            out.append(entry.state.mark).append(Timestamps.format(entry.version));
        }
    }

    /** One stored entry: its state and version (meaningless for {@link State#REMOVED}). */
    record Version(State state, long micros) {
    }

    /**
     * Reads the offset of shard {@code shard}: id to entry, in the stored order.
     *
     * @throws ConnectException naming the shard, the key and the entry when it is malformed
     */
    static Map<String, Version> decode(Map<String, ?> offset, int shard) {
        String where = "The offset of ledger shard " + shardName(shard);
        for (String key : offset.keySet()) {
            if (!ANNOUNCED.equals(key) && !BUILDING.equals(key)) {
                throw new ConnectException(where + " has the unknown key '" + key + "'; its keys are '"
                        + ANNOUNCED + "' and, while the ledger is built, '" + BUILDING + "'");
            }
        }
        Object marker = offset.get(BUILDING);
        if (offset.containsKey(BUILDING) && !SweepState.LedgerStatus.BUILDING.key().equals(marker)) {
            throw new ConnectException(where + " has '" + BUILDING + "' = " + marker + "; it can only be '"
                    + SweepState.LedgerStatus.BUILDING.key() + "'");
        }
        Object raw = offset.get(ANNOUNCED);
        if (!(raw instanceof String text)) {
            throw new ConnectException(where + " needs the key '" + ANNOUNCED + "' as a string of id@timestamp "
                    + "entries separated by commas, not " + (raw == null ? "null" : raw.getClass().getSimpleName()));
        }
        Map<String, Version> entries = new LinkedHashMap<>();
        if (text.isEmpty()) {
            return entries;
        }
        for (String entry : text.split(",", -1)) {
            int at = entry.lastIndexOf('@');
            if (at <= 0 || at == entry.length() - 1) {
                throw new ConnectException(where + " has the entry '" + entry + "' in '" + ANNOUNCED
                        + "', which is not of the form id@timestamp");
            }
            String id;
            Version version;
            try {
                id = OffsetIds.unescape(entry.substring(0, at));
                version = parseVersion(entry.substring(at + 1));
            } catch (IllegalArgumentException e) {
                throw new ConnectException(where + " has the entry '" + entry + "' in '" + ANNOUNCED + "': "
                        + e.getMessage());
            }
            if (shardOf(id) != shard) {
                throw new ConnectException(where + " has the entry '" + entry + "', but user " + id
                        + " belongs to shard " + shardName(shardOf(id)) + "; entries cannot move between shards");
            }
            if (entries.put(id, version) != null) {
                throw new ConnectException(where + " lists user " + id + " twice");
            }
        }
        return entries;
    }

    private static Version parseVersion(String text) {
        if (text.equals(State.REMOVED.mark)) {
            return new Version(State.REMOVED, Long.MIN_VALUE);
        }
        for (State state : new State[] {State.ADDING, State.REMOVING}) {
            if (text.startsWith(state.mark)) {
                return new Version(state, Timestamps.parseMicros(text.substring(1)));
            }
        }
        return new Version(State.ANNOUNCED, Timestamps.parseMicros(text));
    }

    String apiUrl() {
        return apiUrl;
    }
}
