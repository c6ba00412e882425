package io.closeconnect.users;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The guard against mass removal. A wrong key, a permission change or a Close incident makes many
 * announced users vanish from the list at once; a sweep whose walk misses more users than the
 * threshold holds all of them: none is confirmed, none announced, and the sweep says how to release
 * exactly that set. Held users stay announced, so the next sweep checks them again, and nothing is
 * lost while they are held.
 *
 * <p>A sweep that misses every announced user is held too, however few they are, unless the valve
 * is turned off (100 percent).
 *
 * <p>The threshold counts users missing from the walk, before any is confirmed: confirming a whole
 * company one request at a time is what a wrong key would otherwise cost, and a confirmation cannot
 * tell a real departure from a key of another organization anyway.
 */
final class RemovalValve {

    private final double percent;
    private final int minimum;
    private final String releaseToken;

    /**
     * @param percent      the share of announced users a sweep may remove, in percent
     * @param minimum      the number of removals a sweep may always make, whatever the share
     * @param releaseToken the token of a held set the operator released, or empty
     */
    RemovalValve(double percent, int minimum, String releaseToken) {
        this.percent = percent;
        this.minimum = minimum;
        this.releaseToken = releaseToken == null ? "" : releaseToken.trim();
    }

    double percent() {
        return percent;
    }

    int minimum() {
        return minimum;
    }

    /** The most removals one sweep may make among {@code announced} users: the share, but never less than the minimum. */
    int threshold(int announced) {
        return Math.max(minimum, (int) Math.ceil(announced * percent / 100.0));
    }

    /**
     * Whether to hold these candidates.
     *
     * @param candidates the announced users the walk did not see
     * @param announced  how many users are announced
     */
    Decision judge(List<String> candidates, int announced) {
        int threshold = threshold(announced);
        // Every announced user gone at once is held whatever the minimum: a small account and a key of
        // another account look alike. Only a valve turned off (100%) lets it through.
        boolean everyone = percent < 100.0 && announced > 0 && candidates.size() >= announced;
        if (candidates.size() <= threshold && !everyone) {
            return new Decision(false, false, threshold, "");
        }
        String token = token(candidates);
        boolean released = token.equals(releaseToken);
        return new Decision(!released, released, threshold, token);
    }

    /**
     * @param hold      hold every candidate: confirm none, announce none
     * @param released  the candidates exceed the threshold, but the operator released exactly this set
     * @param threshold the threshold that applied
     * @param token     the set's release token, when it exceeds the threshold
     */
    record Decision(boolean hold, boolean released, int threshold, String token) {
    }

    /**
     * A token that names a set of users: their count and the start of a SHA-256 over their sorted
     * ids, such as {@code 93-5f2c1a9b0e7d}. A release applies to that set only.
     */
    static String token(List<String> ids) {
        List<String> sorted = new ArrayList<>(ids);
        sorted.sort(null);
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (String id : sorted) {
                digest.update(id.getBytes(StandardCharsets.UTF_8));
                digest.update((byte) '\n');
            }
            return sorted.size() + "-" + HexFormat.of().formatHex(digest.digest(), 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
