package io.closeconnect.users;

import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import okhttp3.Headers;

/**
 * Paces requests from Close's rate-limit headers so that a sweep spreads over the window instead of
 * running into 429s, and caps the connector's own rate when the user asks for it.
 *
 * <p>Close sends {@code RateLimit: limit=100, remaining=50, reset=5} (reset in seconds, possibly
 * fractional) on most responses, and older deployments {@code X-Rate-Limit-Limit/Remaining/Reset}.
 *
 * <p>The policy, from the last window seen:
 * <ul>
 *   <li>While at least half of the window's budget remains, requests go out at once.</li>
 *   <li>Below half, requests are spaced evenly over the time left until the reset, keeping one
 *       request in hand, so that the budget lasts to the reset instead of running out early.</li>
 *   <li>With one request or fewer left, it waits for the reset.</li>
 *   <li>{@code rate.limit.max.requests.per.second}, when set, spaces requests at least
 *       {@code 1/max} seconds apart whatever the headers say.</li>
 * </ul>
 * Not thread-safe except {@link #takeWaitedMillis()}: one task makes one request at a time.
 */
final class RateLimiter {

    /** The longest window reset the limiter honours, like the longest 429 wait. */
    static final double MAX_RESET_SECONDS = 3_600;

    /** Requests kept in hand before waiting for the window to reset. */
    static final double RESERVE = 1.0;
    /** The wait after a 429 when neither Retry-After nor a RateLimit reset says how long. */
    static final double DEFAULT_RETRY_AFTER_SECONDS = 2.0;

    private final long minIntervalNanos;
    private final LongSupplier nanoClock;
    private long lastRequestNanos;
    private boolean anyRequest;
    private double limit = Double.NaN;
    private double remaining = Double.NaN;
    private long resetAtNanos;
    private final AtomicLong waitedMillis = new AtomicLong();

    /** @param maxRequestsPerSecond the connector's own cap, or 0 for none */
    RateLimiter(double maxRequestsPerSecond) {
        this(maxRequestsPerSecond, System::nanoTime);
    }

    RateLimiter(double maxRequestsPerSecond, LongSupplier nanoClock) {
        this.minIntervalNanos = maxRequestsPerSecond > 0 ? (long) Math.ceil(1e9 / maxRequestsPerSecond) : 0;
        this.nanoClock = nanoClock;
    }

    /** Waits, if needed, before the next request, and counts the request against the window. */
    void acquire(Sleeper sleeper) throws InterruptedException {
        long waitNanos = delayNanos();
        if (waitNanos > 0) {
            long millis = (waitNanos + 999_999) / 1_000_000;
            waitedMillis.addAndGet(millis);
            sleeper.sleep(millis);
        }
        lastRequestNanos = nanoClock.getAsLong();
        anyRequest = true;
        if (!Double.isNaN(remaining)) {
            remaining -= 1;
        }
    }

    /** How long the next request must wait, in nanos, by the policy in the class comment. */
    long delayNanos() {
        long now = nanoClock.getAsLong();
        long wait = 0;
        long toReset = resetAtNanos - now;
        if (!Double.isNaN(remaining) && toReset > 0) {
            if (remaining <= RESERVE) {
                wait = toReset;
            } else if (Double.isNaN(limit) || remaining < limit / 2) {
                long spacing = (long) (toReset / (remaining - RESERVE + 1));
                wait = anyRequest ? lastRequestNanos + spacing - now : 0;
            }
        }
        if (minIntervalNanos > 0 && anyRequest) {
            wait = Math.max(wait, lastRequestNanos + minIntervalNanos - now);
        }
        return Math.max(0, wait);
    }

    /** Reads the rate-limit headers of a response; does nothing when there are none. */
    void update(Headers headers) {
        Window window = parse(headers);
        if (window == null) {
            return;
        }
        limit = window.limit;
        remaining = window.remaining;
        // A window longer than an hour is a broken header, not a reason to stall the task for longer.
        double resetSeconds = Math.min(MAX_RESET_SECONDS, Math.max(0, window.resetSeconds));
        resetAtNanos = nanoClock.getAsLong() + (long) (resetSeconds * 1e9);
    }

    /** Milliseconds spent waiting on rate limits since the last call. Safe from any thread. */
    long takeWaitedMillis() {
        return waitedMillis.getAndSet(0);
    }

    /** The window after a 429: no request until {@code waitMillis} from now. */
    void exhausted(long waitMillis) {
        remaining = 0;
        resetAtNanos = nanoClock.getAsLong() + waitMillis * 1_000_000L;
    }

    /** A parsed rate-limit window; {@code limit} is NaN when the headers do not give it. */
    record Window(double limit, double remaining, double resetSeconds) {
    }

    static Window parse(Headers headers) {
        String combined = headers.get("RateLimit");
        if (combined != null) {
            double limit = Double.NaN;
            double remaining = Double.NaN;
            double reset = Double.NaN;
            for (String part : combined.split("[,;]")) {
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

    /**
     * Seconds to wait after a 429: {@code Retry-After} (seconds, possibly fractional, or an HTTP
     * date), else the rate-limit window's reset, else 2.
     */
    static double retryAfterSeconds(Headers headers, Instant now) {
        String retryAfter = headers.get("Retry-After");
        double seconds = number(retryAfter);
        if (Double.isNaN(seconds) && retryAfter != null) {
            try {
                Instant at = ZonedDateTime.parse(retryAfter.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                seconds = Math.max(0, (at.toEpochMilli() - now.toEpochMilli()) / 1000.0);
            } catch (DateTimeParseException e) {
                seconds = Double.NaN;
            }
        }
        if (!Double.isNaN(seconds) && seconds >= 0) {
            return seconds;
        }
        Window window = parse(headers);
        if (window != null && window.resetSeconds >= 0) {
            return window.resetSeconds;
        }
        return DEFAULT_RETRY_AFTER_SECONDS;
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
