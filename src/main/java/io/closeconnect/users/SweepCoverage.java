package io.closeconnect.users;

import java.util.ArrayList;
import java.util.Base64;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;

/**
 * Which of the users announced when the sweep started the sweep in progress has seen listed (or
 * confirmed with Close one by one). Those it has not seen once its walk is over are the candidates
 * for removal.
 *
 * <p>It survives a restart in the sweep's offset, in a few bytes per user: the users announced at
 * the sweep's start are the first {@code base[s]} entries of each {@link UserLedger} shard (a shard
 * only grows at its end during a sweep), so a bit per user in that order says which were seen. A
 * hash of each shard's first ids checks on restore that the stored ledger still starts the same
 * way. Connect commits the offsets of different source partitions independently, so after a crash
 * in at-least-once mode a shard can be a step ahead of or behind the sweep's offset; where its hash
 * no longer matches, that shard's users count as seen for this sweep (their removal check waits
 * for the next sweep), never as unseen, which would cost a confirmation request each and could trip
 * the removal valve.
 *
 * <p>Not thread-safe: one task uses it from one thread at a time.
 */
final class SweepCoverage {

    private final int[] base;
    private final int[] check;
    /** Position in the bit set of each user announced at the sweep's start, for the shards whose hash matched. */
    private final Map<String, Integer> positions;
    private final BitSet seen;
    private final int size;
    private final List<Integer> unknownShards;

    private SweepCoverage(int[] base, int[] check, Map<String, Integer> positions, BitSet seen,
                          List<Integer> unknownShards) {
        this.base = base;
        this.check = check;
        this.positions = positions;
        this.seen = seen;
        int total = 0;
        for (int count : base) {
            total += count;
        }
        this.size = total;
        this.unknownShards = unknownShards;
    }

    /** The coverage of a sweep that starts now: every user the ledger announces is still to be seen. */
    static SweepCoverage start(UserLedger ledger) {
        int[] base = new int[UserLedger.SHARDS];
        int[] check = new int[UserLedger.SHARDS];
        Map<String, Integer> positions = new HashMap<>();
        int position = 0;
        for (int s = 0; s < UserLedger.SHARDS; s++) {
            base[s] = ledger.shardSize(s);
            int hash = HASH_START;
            for (Iterator<String> ids = ledger.ids(s); ids.hasNext(); ) {
                String id = ids.next();
                hash = mix(hash, id);
                positions.put(id, position++);
            }
            check[s] = hash;
        }
        return new SweepCoverage(base, check, positions, new BitSet(position), List.of());
    }

    /** Notes that this user is listed (or was confirmed one way or the other). */
    void saw(String id) {
        Integer position = positions.get(id);
        if (position != null) {
            seen.set(position);
        }
    }

    boolean seen(String id) {
        Integer position = positions.get(id);
        return position == null || seen.get(position);
    }

    /**
     * The members at the sweep's start that it has not seen and that are still members (not
     * announced removed since), in ledger order.
     */
    List<String> unseen(UserLedger ledger) {
        List<String> unseen = new ArrayList<>();
        for (int s = 0; s < UserLedger.SHARDS; s++) {
            Iterator<String> ids = ledger.ids(s);
            for (int i = 0; i < base[s] && ids.hasNext(); i++) {
                String id = ids.next();
                Integer position = positions.get(id);
                if (position != null && !seen.get(position) && ledger.member(id)) {
                    unseen.add(id);
                }
            }
        }
        return unseen;
    }

    /** The shards whose stored ledger did not match this coverage on restore (empty for a fresh one). */
    List<Integer> unknownShards() {
        return unknownShards;
    }

    /** The {@code seen} offset value: one bit per user announced at the sweep's start, base64. */
    String encodeSeen() {
        return Base64.getEncoder().withoutPadding().encodeToString(seen.toByteArray());
    }

    /** The {@code seen_base} offset value: for each shard, {@code count.hash} of its first users, comma-separated. */
    String encodeBase() {
        StringBuilder out = new StringBuilder(UserLedger.SHARDS * 12);
        for (int s = 0; s < UserLedger.SHARDS; s++) {
            if (s > 0) {
                out.append(',');
            }
            out.append(base[s]).append('.').append(Integer.toHexString(check[s]));
        }
        return out.toString();
    }

    /**
     * The coverage stored in a sweep's offset, against the ledger as restored.
     *
     * @throws ConnectException naming the key when a value is malformed
     */
    static SweepCoverage decode(String encodedBase, String encodedSeen, UserLedger ledger) {
        int[] base = new int[UserLedger.SHARDS];
        int[] check = new int[UserLedger.SHARDS];
        parseBase(encodedBase, base, check);
        BitSet bits = parseSeen(encodedSeen);
        Map<String, Integer> positions = new HashMap<>();
        BitSet seen = new BitSet();
        List<Integer> unknown = new ArrayList<>();
        int position = 0;
        for (int s = 0; s < UserLedger.SHARDS; s++) {
            List<String> first = new ArrayList<>(base[s]);
            int hash = HASH_START;
            Iterator<String> ids = ledger.ids(s);
            for (int i = 0; i < base[s] && ids.hasNext(); i++) {
                String id = ids.next();
                first.add(id);
                hash = mix(hash, id);
            }
            boolean matches = first.size() == base[s] && hash == check[s];
            for (int i = 0; i < base[s]; i++) {
                if (matches) {
                    positions.put(first.get(i), position + i);
                }
                if (!matches || bits.get(position + i)) {
                    seen.set(position + i);
                }
            }
            if (!matches) {
                unknown.add(s);
            }
            position += base[s];
        }
        return new SweepCoverage(base, check, positions, seen, List.copyOf(unknown));
    }

    static void parseBase(String text, int[] base, int[] check) {
        String[] parts = text.split(",", -1);
        if (parts.length != UserLedger.SHARDS) {
            throw new ConnectException("Offset key '" + SweepState.SEEN_BASE + "' must hold " + UserLedger.SHARDS
                    + " entries of the form count.hash separated by commas, not " + parts.length);
        }
        for (int s = 0; s < parts.length; s++) {
            int dot = parts[s].indexOf('.');
            try {
                base[s] = Integer.parseInt(parts[s].substring(0, Math.max(0, dot)));
                check[s] = Integer.parseUnsignedInt(parts[s].substring(dot + 1), 16);
                if (base[s] < 0) {
                    throw new NumberFormatException("negative");
                }
            } catch (NumberFormatException | IndexOutOfBoundsException e) {
                throw new ConnectException("Offset key '" + SweepState.SEEN_BASE + "' has the entry '" + parts[s]
                        + "', which is not of the form count.hash (a count and a hexadecimal hash)");
            }
        }
    }

    static BitSet parseSeen(String text) {
        try {
            return BitSet.valueOf(Base64.getDecoder().decode(text));
        } catch (IllegalArgumentException e) {
            throw new ConnectException("Offset key '" + SweepState.SEEN + "' must be base64: " + e.getMessage());
        }
    }

    /** How many users the sweep had to see: those announced at its start. */
    int size() {
        return size;
    }

    private static final int HASH_START = 0x811c9dc5;

    /** A 32-bit FNV-1a step over the id's characters and a separator. */
    private static int mix(int hash, String id) {
        int h = hash;
        for (int i = 0; i < id.length(); i++) {
            h ^= id.charAt(i);
            h *= 0x01000193;
        }
        h ^= ',';
        h *= 0x01000193;
        return h;
    }
}
