package io.closeconnect.users;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;

/**
 * What downstream has been told: for every user the connector announced and has not announced
 * removed since, the version ({@code date_updated}) of the last record it emitted for that user.
 *
 * <p>The sweep emits a user whose version is newer than the one announced, or who was never
 * announced, whatever the watermark; and a user announced but no longer listed is a candidate for
 * removal. The ledger is kept in Connect's offset storage, split by a hash of the id into
 * {@value #SHARDS} source partitions ({@code {"close_api_url": ..., "resource": "users.announced",
 * "shard": "00".."63"}}), each holding {@code {"announced": "id@date_updated,..."}}: about 77 bytes a
 * user, so a shard stays near 120 KB at 100,000 users, well under Kafka's 1 MB message limit.
 *
 * <h2>Never ahead of delivery</h2>
 * A shard's offset may only claim what was delivered. Connect commits the offsets of each source
 * partition in the order its records were polled, independently of the other partitions, and only
 * up to the last record acknowledged. So every record about a user carries its shard's partition
 * and the shard's offset as it was last written ({@link #carriedOffset}), which claims nothing new;
 * after the records of a step, {@link #checkpoint()} hands out the changed shards' new offsets for
 * records placed behind them. Committing such an offset requires every earlier record of the shard
 * to be acknowledged, so the ledger never says a user was announced before its record is in Kafka.
 *
 * <h2>Order of entries</h2>
 * Each shard keeps its entries in the order they were first announced; a new version replaces an
 * entry in place, and a removal marks it in place ({@code id@-}) until the sweep completes and
 * {@link #purgeRemoved()} drops the marks. So during a sweep a shard only grows at its end, and the
 * users it held when the sweep started stay its first entries: {@link SweepCoverage} relies on it.
 *
 * <p>Not thread-safe: one task uses it from one thread at a time.
 */
final class UserLedger {

    static final int SHARDS = 64;
    static final String RESOURCE = "users.announced";
    static final String PARTITION_SHARD = "shard";
    /** The offset key of a shard: its entries, {@code id@date_updated} separated by commas. */
    static final String ANNOUNCED = "announced";
    /** The version written for a user announced removed during the sweep in progress. */
    static final String REMOVED_MARK = "-";

    private static final long REMOVED = Long.MIN_VALUE;

    private final String apiUrl;
    private final List<Map<String, String>> partitions;
    private final List<LinkedHashMap<String, Long>> shards;
    private final List<Shard> written;
    private final boolean stored;
    private int announced;

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
     * or lacks it (never written).
     *
     * @throws ConnectException naming the shard and the entry when a stored offset is malformed
     */
    static UserLedger restore(String apiUrl, Map<Map<String, String>, Map<String, Object>> stored) {
        boolean any = false;
        for (Map<String, String> partition : partitions(apiUrl)) {
            any |= stored.get(partition) != null;
        }
        UserLedger ledger = new UserLedger(apiUrl, any);
        for (int s = 0; s < SHARDS; s++) {
            Map<String, Object> offset = stored.get(ledger.partitions.get(s));
            if (offset == null) {
                continue;
            }
            Map<String, Long> entries = decode(offset, s);
            ledger.shards.get(s).putAll(entries);
            for (long version : entries.values()) {
                if (version != REMOVED) {
                    ledger.announced++;
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

    /** The version announced for this user, or null when it was never announced or was announced removed. */
    Long announced(String id) {
        Long version = shards.get(shardOf(id)).get(id);
        return version == null || version == REMOVED ? null : version;
    }

    /** Whether this user was announced removed during the sweep in progress. */
    boolean removedThisSweep(String id) {
        Long version = shards.get(shardOf(id)).get(id);
        return version != null && version == REMOVED;
    }

    /** How many users are announced and not removed. */
    int announcedCount() {
        return announced;
    }

    /** Records that a record of this version of the user was emitted. */
    void announce(String id, long micros) {
        int s = shardOf(id);
        Long before = shards.get(s).put(id, micros);
        if (before == null) {
            announced++;
            Shard shard = written.get(s);
            if (shard.appended != null) {
                shard.appended.add(id);
            }
            shard.dirty = true;
        } else if (before != micros) {
            if (before == REMOVED) {
                announced++;
            }
            changed(s);
        }
    }

    /** Records that the user's removal was announced; the entry stays, marked, until {@link #purgeRemoved()}. */
    void markRemoved(String id) {
        int s = shardOf(id);
        Long before = shards.get(s).get(id);
        if (before == null || before == REMOVED) {
            return;
        }
        shards.get(s).put(id, REMOVED);
        announced--;
        changed(s);
    }

    /** Drops the marks of users announced removed: done when a sweep completes. */
    void purgeRemoved() {
        for (int s = 0; s < SHARDS; s++) {
            if (shards.get(s).values().removeIf(version -> version == REMOVED)) {
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
            for (Map.Entry<String, Long> entry : shards.get(s).entrySet()) {
                if (entry.getValue() != REMOVED && entry.getValue() > micros) {
                    entry.setValue(micros);
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
                shards.get(s).forEach((id, version) -> appendEntry(out, id, version));
                text = out.toString();
            }
            shard.encoded = text;
            shard.offset = offsetMap(text);
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

    /** The ids of shard {@code s} in the order of their entries (first announced first). */
    Iterator<String> ids(int s) {
        return Collections.unmodifiableSet(shards.get(s).keySet()).iterator();
    }

    private static Map<String, Object> offsetMap(String text) {
        Map<String, Object> offset = new LinkedHashMap<>();
        offset.put(ANNOUNCED, text);
        return Collections.unmodifiableMap(offset);
    }

    private static void appendEntry(StringBuilder out, String id, long version) {
        if (out.length() > 0) {
            out.append(',');
        }
        OffsetIds.escape(out, id);
        out.append('@').append(version == REMOVED ? REMOVED_MARK : Timestamps.format(version));
    }

    /**
     * Reads the offset of shard {@code shard}: id to micros, marks of removed users as
     * {@link Long#MIN_VALUE}, in the stored order.
     *
     * @throws ConnectException naming the shard, the key and the entry when it is malformed
     */
    static Map<String, Long> decode(Map<String, ?> offset, int shard) {
        String where = "The offset of ledger shard " + shardName(shard);
        for (String key : offset.keySet()) {
            if (!ANNOUNCED.equals(key)) {
                throw new ConnectException(where + " has the unknown key '" + key + "'; its only key is '"
                        + ANNOUNCED + "'");
            }
        }
        Object raw = offset.get(ANNOUNCED);
        if (!(raw instanceof String text)) {
            throw new ConnectException(where + " needs the key '" + ANNOUNCED + "' as a string of id@timestamp "
                    + "entries separated by commas, not " + (raw == null ? "null" : raw.getClass().getSimpleName()));
        }
        Map<String, Long> entries = new LinkedHashMap<>();
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
            long version;
            try {
                id = OffsetIds.unescape(entry.substring(0, at));
                String when = entry.substring(at + 1);
                version = when.equals(REMOVED_MARK) ? REMOVED : Timestamps.parseMicros(when);
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

    String apiUrl() {
        return apiUrl;
    }
}
