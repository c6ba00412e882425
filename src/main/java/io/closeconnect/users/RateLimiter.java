package io.closeconnect.users;

import java.util.Locale;

import okhttp3.Headers;

/**
 * Paces requests from Close's rate-limit headers so that a sweep spreads over the window instead of
 * running into 429s, and caps the connector's own rate when the user asks for it.
 *
 * <p>Close sends {@code RateLimit: limit=100, remaining=50, reset=5} (reset in seconds, possibly
 * fractional) on most responses, and older deployments {@code X-Rate-Limit-Limit/Remaining/Reset}.
 */
final class RateLimiter {

    /** Requests kept in hand before waiting for the window to reset. */
    private static final double RESERVE = 1.0;

    private final long minIntervalNanos;
    private long lastRequestNanos;
    private double remaining = Double.NaN;
    private long resetAtNanos;
    private long waitedMillis;

    /** @param maxRequestsPerSecond the connector's own cap, or 0 for none */
    RateLimiter(double maxRequestsPerSecond) {
        this.minIntervalNanos = maxRequestsPerSecond > 0 ? (long) (1_000_000_000L / maxRequestsPerSecond) : 0;
    }

    /** Waits, if needed, before the next request. */
    void acquire(Sleeper sleeper) throws InterruptedException {
        long now = System.nanoTime();
        long waitNanos = 0;
        if (!Double.isNaN(remaining) && remaining <= RESERVE && resetAtNanos > now) {
            waitNanos = resetAtNanos - now;
        }
        if (minIntervalNanos > 0 && lastRequestNanos != 0) {
            waitNanos = Math.max(waitNanos, lastRequestNanos + minIntervalNanos - now);
        }
        if (waitNanos > 0) {
            long millis = (waitNanos + 999_999) / 1_000_000;
            waitedMillis += millis;
            sleeper.sleep(millis);
        }
        lastRequestNanos = System.nanoTime();
        if (!Double.isNaN(remaining)) {
            remaining -= 1;
        }
    }

    /** Reads the rate-limit headers of a response; does nothing when there are none. */
    void update(Headers headers) {
        Window window = parse(headers);
        if (window == null) {
            return;
        }
        long now = System.nanoTime();
        remaining = window.remaining;
        resetAtNanos = now + (long) (window.resetSeconds * 1_000_000_000L);
    }

    /** Milliseconds spent waiting on rate limits since the last call. */
    long takeWaitedMillis() {
        long waited = waitedMillis;
        waitedMillis = 0;
        return waited;
    }

    void recordWait(long millis) {
        waitedMillis += millis;
    }

    /** The window after a 429: no requests until reset. */
    void exhausted(long waitMillis) {
        remaining = 0;
        resetAtNanos = System.nanoTime() + waitMillis * 1_000_000L;
    }

    /** A parsed rate-limit window. */
    record Window(double limit, double remaining, double resetSeconds) {
    }

    static Window parse(Headers headers) {
        String combined = headers.get("RateLimit");
        if (combined != null) {
            double limit = Double.NaN;
            double remaining = Double.NaN;
            double reset = Double.NaN;
            for (String part : combined.split(",")) {
                int eq = part.indexOf('=');
                if (eq < 0) {
                    continue;
                }
                String name = part.substring(0, eq).trim().toLowerCase(Locale.ROOT);
                double value = number(part.substring(eq + 1));
                switch (name) {
                    case "limit" -> limit = value;
                    case "remaining" -> remaining = value;
                    case "reset" -> reset = value;
                    default -> { }
                }
            }
            if (!Double.isNaN(remaining) && !Double.isNaN(reset)) {
                return new Window(limit, remaining, reset);
            }
        }
        double remaining = number(headers.get("X-Rate-Limit-Remaining"));
        double reset = number(headers.get("X-Rate-Limit-Reset"));
        if (!Double.isNaN(remaining) && !Double.isNaN(reset)) {
            return new Window(number(headers.get("X-Rate-Limit-Limit")), remaining, reset);
        }
        return null;
    }

    /** Seconds to wait after a 429: Retry-After, else the window's reset, else 2. */
    static double retryAfterSeconds(Headers headers) {
        double retryAfter = number(headers.get("Retry-After"));
        if (!Double.isNaN(retryAfter) && retryAfter >= 0) {
            return retryAfter;
        }
        Window window = parse(headers);
        if (window != null && window.resetSeconds >= 0) {
            return window.resetSeconds;
        }
        return 2.0;
    }

    private static double number(String text) {
        if (text == null) {
            return Double.NaN;
        }
        try {
            double value = Double.parseDouble(text.trim());
            return Double.isFinite(value) ? value : Double.NaN;
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }
}
