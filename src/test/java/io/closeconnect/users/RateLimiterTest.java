package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.atomic.AtomicLong;

import okhttp3.Headers;
import org.junit.jupiter.api.Test;

class RateLimiterTest {

    private static final long MS = 1_000_000L;

    private final AtomicLong clock = new AtomicLong(1_000_000 * MS);

    private static Headers headers(String... namesAndValues) {
        return Headers.of(namesAndValues);
    }

    @Test
    void parsesTheRateLimitHeaderWithFractions() {
        RateLimiter.Window window = RateLimiter.parse(headers("RateLimit", "limit=100, remaining=49.5, reset=2.75"));
        assertEquals(new RateLimiter.Window(100, 49.5, 2.75), window);
    }

    @Test
    void parsesTheLegacyHeaders() {
        RateLimiter.Window window = RateLimiter.parse(headers(
                "X-Rate-Limit-Limit", "60", "X-Rate-Limit-Remaining", "12", "X-Rate-Limit-Reset", "0.5"));
        assertEquals(new RateLimiter.Window(60, 12, 0.5), window);
    }

    @Test
    void ignoresMissingOrGarbledHeaders() {
        assertNull(RateLimiter.parse(headers()));
        assertNull(RateLimiter.parse(headers("RateLimit", "limit=abc, remaining=, reset=x")));
        assertNull(RateLimiter.parse(headers("X-Rate-Limit-Remaining", "5")));
    }

    @Test
    void retryAfterComesFirstThenTheResetThenTwoSeconds() {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        assertEquals(0.25, RateLimiter.retryAfterSeconds(headers("Retry-After", "0.25",
                "RateLimit", "limit=10, remaining=0, reset=7"), now));
        assertEquals(7.0, RateLimiter.retryAfterSeconds(headers("RateLimit", "limit=10, remaining=0, reset=7"), now));
        assertEquals(3.5, RateLimiter.retryAfterSeconds(headers("X-Rate-Limit-Remaining", "0",
                "X-Rate-Limit-Reset", "3.5"), now));
        assertEquals(2.0, RateLimiter.retryAfterSeconds(headers(), now));
        assertEquals(2.0, RateLimiter.retryAfterSeconds(headers("Retry-After", "soon"), now));
    }

    @Test
    void retryAfterMayBeAnHttpDate() {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        String in30s = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC).format(now.plusSeconds(30));
        assertEquals(30.0, RateLimiter.retryAfterSeconds(headers("Retry-After", in30s), now));
    }

    @Test
    void noWaitWithoutHeadersOrWithPlentyLeft() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        assertEquals(0, limiter.delayNanos());
        limiter.acquire(new Sleeper());
        limiter.update(headers("RateLimit", "limit=100, remaining=80, reset=5"));
        assertEquals(0, limiter.delayNanos());
    }

    @Test
    void belowHalfTheBudgetRequestsAreSpacedOverTheTimeLeft() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.acquire(new Sleeper());
        limiter.update(headers("RateLimit", "limit=100, remaining=10, reset=5"));
        // 10 left, one kept in hand: 5 s spread over 10 requests.
        assertEquals(500 * MS, limiter.delayNanos());
        clock.addAndGet(200 * MS);
        // 4.8 s left over 10 requests: 480 ms after the last request, 280 ms from now.
        assertEquals(280 * MS, limiter.delayNanos());
    }

    @Test
    void atTheLastRequestItWaitsForTheReset() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.acquire(new Sleeper());
        limiter.update(headers("RateLimit", "limit=100, remaining=1, reset=2.5"));
        assertEquals(2_500 * MS, limiter.delayNanos());
        clock.addAndGet(2_500 * MS);
        assertEquals(0, limiter.delayNanos());
    }

    @Test
    void anAbsurdResetIsCappedAtAnHour() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.acquire(new Sleeper());
        limiter.update(headers("RateLimit", "limit=100, remaining=0, reset=99999999"));
        assertEquals(3_600_000 * MS, limiter.delayNanos());
    }

    @Test
    void aResponseWithoutHeadersStillCountsTheRequestAgainstTheWindow() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.update(headers("RateLimit", "limit=10, remaining=5, reset=10"));
        assertEquals(0, limiter.delayNanos(), "half left: no wait");
        limiter.acquire(new Sleeper());
        limiter.update(headers()); // no headers: the local count goes on, 4 left of 10
        assertEquals(2_500 * MS, limiter.delayNanos(), "10 s spread over the 4 requests left");
    }

    @Test
    void the429WindowBlocksUntilItsEnd() {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.exhausted(1_500);
        assertEquals(1_500 * MS, limiter.delayNanos());
    }

    @Test
    void theOwnCapSpacesRequests() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(4, clock::get);
        assertEquals(0, limiter.delayNanos(), "the first request goes at once");
        limiter.acquire(new Sleeper());
        assertEquals(250 * MS, limiter.delayNanos());
        clock.addAndGet(100 * MS);
        assertEquals(150 * MS, limiter.delayNanos());
        limiter.update(headers("RateLimit", "limit=100, remaining=1, reset=2"));
        assertEquals(2_000 * MS, limiter.delayNanos(), "the longer of the two waits");
    }

    @Test
    void waitsAreCountedAndTakenOnce() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(50); // 20 ms apart, on the real clock
        limiter.acquire(new Sleeper());
        limiter.acquire(new Sleeper());
        long waited = limiter.takeWaitedMillis();
        assertTrue(waited >= 1 && waited <= 20, "waited " + waited);
        assertEquals(0, limiter.takeWaitedMillis());
    }

    // ------------------------------------------------------------------ corners (issue 13)

    @Test
    void aRateLimitTokenWithoutAnEqualsSignIsSkipped() {
        // A bare token (a policy name, say) must neither stop the parse nor fail the request.
        assertEquals(new RateLimiter.Window(100, 40, 3), RateLimiter.parse(headers("RateLimit",
                "default, limit=100; burst, remaining=40, reset=3")));
        assertEquals(new RateLimiter.Window(Double.NaN, 40, 3), RateLimiter.parse(headers("RateLimit",
                "remaining=40,,reset=3,")), "empty tokens too");
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.update(headers("RateLimit", "limit"));
        assertEquals(0, limiter.delayNanos(), "no window from a header without values");
    }

    @Test
    void aRateLimitHeaderWithoutResetOrRemainingFallsBackToTheLegacyHeaders() {
        assertEquals(new RateLimiter.Window(60, 12, 0.5), RateLimiter.parse(headers("RateLimit", "limit=100, remaining=40",
                "X-Rate-Limit-Limit", "60", "X-Rate-Limit-Remaining", "12", "X-Rate-Limit-Reset", "0.5")));
        assertEquals(new RateLimiter.Window(Double.NaN, 12, 0.5), RateLimiter.parse(headers("RateLimit", "reset=5",
                "X-Rate-Limit-Remaining", "12", "X-Rate-Limit-Reset", "0.5")), "no legacy limit: NaN");
        assertNull(RateLimiter.parse(headers("X-Rate-Limit-Reset", "0.5")));
        assertEquals(new RateLimiter.Window(100, 40, 3), RateLimiter.parse(headers("RateLimit",
                " LIMIT = 100 ; Remaining=40 ; RESET= 3 ")), "names in any case, spaces around");
    }

    @Test
    void a429WithResetZeroMeansNoWaitFromTheHeaders() {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        // The window resets now: the client's own floor (50 ms, growing) is all that remains.
        assertEquals(0.0, RateLimiter.retryAfterSeconds(headers("RateLimit", "limit=10, remaining=0, reset=0"), now));
        assertEquals(0.0, RateLimiter.retryAfterSeconds(headers("Retry-After", "0",
                "RateLimit", "limit=10, remaining=0, reset=7"), now), "Retry-After: 0 comes first");
        assertEquals(7.0, RateLimiter.retryAfterSeconds(headers("Retry-After", "-3",
                "RateLimit", "limit=10, remaining=0, reset=7"), now), "a negative Retry-After is ignored");
        assertEquals(2.0, RateLimiter.retryAfterSeconds(headers("RateLimit", "limit=10, remaining=0, reset=-1"), now),
                "a negative reset is ignored");
        String past = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC).format(now.minusSeconds(30));
        assertEquals(0.0, RateLimiter.retryAfterSeconds(headers("Retry-After", past), now), "a date in the past: now");
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.update(headers("RateLimit", "limit=10, remaining=0, reset=0"));
        assertEquals(0, limiter.delayNanos(), "a window that resets now does not hold the next request");
    }

    @Test
    void afterARequestAtHalfTheBudgetRequestsStillGoAtOnce() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.acquire(new Sleeper());
        limiter.update(headers("RateLimit", "limit=10, remaining=5, reset=10"));
        assertEquals(0, limiter.delayNanos(), "half the budget left: at once");
        limiter.update(headers("RateLimit", "limit=10, remaining=4, reset=10"));
        // Below half, after a request: 10 s over the 4 requests left.
        assertEquals(2_500 * MS, limiter.delayNanos());
        clock.addAndGet(1_000 * MS);
        assertEquals(1_250 * MS, limiter.delayNanos(), "9 s left over 4 requests, 2.25 s after the last request");
    }

    @Test
    void withoutALimitInTheHeadersEveryRequestIsPaced() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.acquire(new Sleeper());
        limiter.update(headers("X-Rate-Limit-Remaining", "50", "X-Rate-Limit-Reset", "10"));
        assertEquals(200 * MS, limiter.delayNanos(), "10 s over 50 requests: no half-budget rule without a limit");
    }

    @Test
    void beforeAnyRequestTheSpacingDoesNotApplyButTheLastRequestRuleDoes() {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.update(headers("RateLimit", "limit=100, remaining=10, reset=5"));
        assertEquals(0, limiter.delayNanos(), "no request to space from yet");
        limiter.update(headers("RateLimit", "limit=100, remaining=1, reset=5"));
        assertEquals(5_000 * MS, limiter.delayNanos(), "one left: wait for the reset even before a request");
    }

    @Test
    void acquireSleepsTheDelayRoundedUpToAMillisecondAndCountsIt() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.acquire(new Sleeper());
        limiter.update(headers("RateLimit", "limit=100, remaining=1, reset=0.0300004"));
        long start = System.nanoTime();
        limiter.acquire(new Sleeper());
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertEquals(31, limiter.takeWaitedMillis(), "30.0004 ms rounds up to 31");
        assertTrue(tookMs >= 31, "slept " + tookMs + " ms");
        // The request was counted: 0 left of the window, so the next one waits for the reset again.
        assertEquals(30_000_400L, limiter.delayNanos());
    }

    @Test
    void aNegativeResetIsNow() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0, clock::get);
        limiter.acquire(new Sleeper());
        limiter.update(headers("RateLimit", "limit=100, remaining=0, reset=-4"));
        assertEquals(0, limiter.delayNanos());
    }

    @Test
    void theOwnCapRoundsTheIntervalUp() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(3, clock::get);
        limiter.acquire(new Sleeper());
        assertEquals(333_333_334L, limiter.delayNanos(), "1/3 s, rounded up to the nanosecond");
        clock.addAndGet(400 * MS);
        assertEquals(0, limiter.delayNanos(), "never negative");
    }
}
