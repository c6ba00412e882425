package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.closeconnect.users.fake.FakeCloseApi;
import io.closeconnect.users.fake.FakeCloseApi.Fault;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The HTTP client's resilience against the fake Close API: 429s, retries, fatal errors, stop. */
class CloseApiClientTest {

    private static final String KEY = "api_test_key_0123456789";

    private final FakeCloseApi fake = new FakeCloseApi(KEY, 7, true);
    private final MockWebServer server = new MockWebServer();
    private final Map<String, String> props = new HashMap<>();
    private final Sleeper sleeper = new Sleeper();
    private CloseApiClient client;

    @BeforeEach
    void start() throws Exception {
        fake.addUsers(60);
        server.setDispatcher(fake);
        server.start();
        props.put(CloseUsersConfig.API_KEY, KEY);
        props.put(CloseUsersConfig.API_URL, server.url("/").toString());
        props.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "10");
        props.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "50");
        props.put(CloseUsersConfig.HTTP_TIMEOUT_MS, "1000");
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        server.close();
    }

    private CloseApiClient client() {
        client = new CloseApiClient(new CloseUsersConfig(props), sleeper);
        return client;
    }

    private List<String> ids(UserPage page) {
        return page.users().stream().map(CloseUser::id).toList();
    }

    private List<String> expectedIds(int skip, int limit) {
        return List.copyOf(fake.currentVersions().keySet()).subList(skip, skip + limit);
    }

    private static MockResponse status(int code, String body) {
        return new MockResponse.Builder().code(code).setHeader("Content-Type", "application/json").body(body).build();
    }

    // ------------------------------------------------------------------ 429

    @Test
    void a429IsRetriedOnTheSamePageAfterRetryAfterAndIsNoRetry() throws Exception {
        for (int i = 0; i < 3; i++) {
            fake.queueFault(Fault.STATUS_429); // Retry-After: 0.05
        }
        CloseApiClient c = client();
        UserPage page = c.fetch(20, 10);

        assertEquals(expectedIds(20, 10), ids(page));
        assertEquals(4, server.getRequestCount());
        for (int i = 0; i < 4; i++) {
            assertEquals("20", server.takeRequest().getUrl().queryParameter("_skip"), "the same page every time");
        }
        assertEquals(4, c.requests());
        assertEquals(3, c.rateLimited());
        assertEquals(0, c.retries(), "a 429 is not a retry");
        long waited = c.takeRateLimitWaitMillis();
        // Each wait runs from the 429 to 50 ms after it, less the few micros spent in between.
        assertTrue(waited >= 135 && waited < 1_000, "waited " + waited + " ms for three Retry-After: 0.05");
        assertEquals(0, c.takeRateLimitWaitMillis(), "taken once");
    }

    @Test
    void a429WithoutRetryAfterWaitsForTheRateLimitReset() throws Exception {
        fake.queueResponse(new MockResponse.Builder().code(429)
                .setHeader("RateLimit", "limit=10, remaining=0, reset=0.4").body("{\"error\": \"slow down\"}").build());
        CloseApiClient c = client();
        long start = System.nanoTime();
        c.fetch(0, 5);
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(elapsedMs >= 400, "answered after " + elapsedMs + " ms; the reset was 0.4 s");
        assertEquals(1, c.rateLimited());
    }

    @Test
    void a429WithLegacyHeadersWaitsForTheirReset() throws Exception {
        fake.queueResponse(new MockResponse.Builder().code(429).setHeader("X-Rate-Limit-Limit", "10")
                .setHeader("X-Rate-Limit-Remaining", "0").setHeader("X-Rate-Limit-Reset", "0.3").build());
        CloseApiClient c = client();
        long start = System.nanoTime();
        c.fetch(0, 5);
        assertTrue((System.nanoTime() - start) / 1_000_000 >= 300);
    }

    @Test
    void rateLimitWaitsDoNotCountAgainstTheRetryBudget() throws Exception {
        props.put(CloseUsersConfig.RETRY_MAX_ELAPSED_MS, "300");
        fake.queueFault(Fault.STATUS_503_HTML);
        for (int i = 0; i < 6; i++) {
            fake.queueResponse(new MockResponse.Builder().code(429).setHeader("Retry-After", "0.1").build());
        }
        CloseApiClient c = client();
        // 503, then 6 x 429 (600 ms of rate-limit waits, twice the budget), then 503 again, then the page.
        fake.beforeEachRequest(api -> { });
        CompletableFuture<UserPage> page = CompletableFuture.supplyAsync(() -> {
            try {
                return c.fetch(0, 5);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        while (server.getRequestCount() < 7 && !page.isDone()) {
            Thread.sleep(5);
        }
        fake.queueFault(Fault.STATUS_503_HTML);
        assertEquals(expectedIds(0, 5), ids(page.get(10, TimeUnit.SECONDS)));
        assertEquals(6, c.rateLimited());
        assertTrue(c.retries() >= 1);
    }

    @Test
    void pacingFromTheHeadersAvoids429s() throws Exception {
        fake.rateLimitPerSecond(4);
        CloseApiClient c = client();
        long start = System.nanoTime();
        for (int i = 0; i < 12; i++) {
            assertEquals(expectedIds(i * 4, 5), ids(c.fetch(i * 4L, 5)));
        }
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertEquals(0, c.rateLimited(), "the limiter waited for each reset instead of running into 429s");
        assertTrue(elapsedMs >= 2_000, "12 requests at 4 per second take more than 2 s, took " + elapsedMs);
        assertTrue(c.takeRateLimitWaitMillis() > 0);
    }

    @Test
    void theOwnCapSpacesRequests() throws Exception {
        props.put(CloseUsersConfig.RATE_LIMIT_MAX_RPS, "10");
        CloseApiClient c = client();
        long start = System.nanoTime();
        for (int i = 0; i < 6; i++) {
            c.fetch(0, 2);
        }
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(elapsedMs >= 500, "6 requests at 10 per second are 100 ms apart, took " + elapsedMs);
    }

    // ------------------------------------------------------------------ retries

    @ParameterizedTest
    @EnumSource(value = Fault.class, names = {"STATUS_503_HTML", "STATUS_500", "TRUNCATED_JSON", "HTML_200",
            "NO_DATA", "DISCONNECT"})
    void transientFailuresAreRetried(Fault fault) throws Exception {
        fake.queueFault(fault);
        fake.queueFault(fault);
        CloseApiClient c = client();
        assertEquals(expectedIds(10, 10), ids(c.fetch(10, 10)));
        assertEquals(2, c.retries());
        assertEquals(0, c.rateLimited());
    }

    private static MockResponse notJson(String contentType, String body) {
        return new MockResponse.Builder().code(200).setHeader("Content-Type", contentType).body(body).build();
    }

    @Test
    void answersThatAreNeverJsonFailTheFetchSoonWithTheWrongUrlAdvice() {
        // A web server at close.api.url: 200, unlabelled, not JSON, on every request. The budget
        // (15 minutes by default) would be the wrong wait: Close's API always answers JSON.
        for (int i = 0; i < 20; i++) {
            fake.queueResponse(notJson("text/plain", "Welcome to our intranet"));
        }
        CloseApiClient c = client();
        CloseApiException e = assertThrows(CloseApiException.class, () -> c.fetch(0, 10));
        assertEquals(CloseApiClient.NOT_JSON_IN_A_ROW, server.getRequestCount(), "stops after the streak");
        assertEquals(200, e.status(), "the status the server sent");
        assertTrue(e.getMessage().contains("answered " + CloseApiClient.NOT_JSON_IN_A_ROW
                + " times in a row with status 200 and a body that is not JSON (Content-Type text/plain): "
                + "'Welcome to our intranet'"), e.getMessage());
        assertTrue(e.getMessage().contains("set close.api.url to https://api.close.com (without /api/v1)"), e.getMessage());
        assertFalse(e.getMessage().contains("once Close answers again"), e.getMessage());
        assertFalse(e.getMessage().contains(KEY), e.getMessage());
    }

    @Test
    void htmlPagesInARowEndTheFetchToo() {
        for (int i = 0; i < 20; i++) {
            fake.queueFault(Fault.HTML_200);
        }
        CloseApiException e = assertThrows(CloseApiException.class, () -> client().fetch(0, 10));
        assertTrue(e.getMessage().contains("with status 200 and an HTML page (Content-Type text/html)"), e.getMessage());
    }

    @Test
    void otherFailuresBreakTheStreakAndBrokenJsonDoesNotCount() throws Exception {
        int below = CloseApiClient.NOT_JSON_IN_A_ROW - 1;
        for (int i = 0; i < below; i++) {
            fake.queueResponse(notJson("text/plain", "busy"));
        }
        fake.queueResponse(status(503, "{\"error\": \"down\"}"));
        for (int i = 0; i < below; i++) {
            fake.queueResponse(notJson("text/plain", "busy"));
        }
        for (int i = 0; i < CloseApiClient.NOT_JSON_IN_A_ROW + 1; i++) {
            fake.queueFault(Fault.TRUNCATED_JSON);
        }
        CloseApiClient c = client();
        assertEquals(expectedIds(0, 10), ids(c.fetch(0, 10)));
        assertEquals(2 * below + 1 + CloseApiClient.NOT_JSON_IN_A_ROW + 1, c.retries());
    }

    @Test
    void aBudgetSpentOnPagesThatAreNotJsonNamesTheUrlToo() {
        props.put(CloseUsersConfig.RETRY_MAX_ELAPSED_MS, "0");
        fake.queueResponse(notJson("text/plain", "hello"));
        CloseApiException e = assertThrows(CloseApiException.class, () -> client().fetch(0, 10));
        assertTrue(e.getMessage().contains("if close.api.url (now " + server.url("/").toString().replaceAll("/$", "")
                + ") is wrong, set it to https://api.close.com"), e.getMessage());
    }

    @Test
    void aTimeoutIsRetried() throws Exception {
        fake.queueFault(Fault.SLOW); // headers after 60 s; http.timeout.ms is 1 s
        CloseApiClient c = client();
        assertEquals(expectedIds(0, 10), ids(c.fetch(0, 10)));
        assertEquals(1, c.retries());
    }

    @Test
    void a408IsRetried() throws Exception {
        // OkHttp repeats a request after one 408 by itself; the second one reaches the client.
        fake.queueResponse(status(408, "{\"error\": \"Request Timeout\"}"));
        fake.queueResponse(status(408, "{\"error\": \"Request Timeout\"}"));
        CloseApiClient c = client();
        assertEquals(expectedIds(0, 3), ids(c.fetch(0, 3)));
        assertEquals(1, c.retries());
    }

    @Test
    void afterTheRetryBudgetTheFetchFailsWithAClearMessage() {
        props.put(CloseUsersConfig.RETRY_MAX_ELAPSED_MS, "300");
        fake.faultRate(0); // no random faults, only the queue
        for (int i = 0; i < 1_000; i++) {
            fake.queueFault(Fault.STATUS_503_HTML);
        }
        CloseApiClient c = client();
        long start = System.nanoTime();
        CloseApiException e = assertThrows(CloseApiException.class, () -> c.fetch(40, 10));
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;

        assertEquals(0, e.status());
        assertTrue(e.getMessage().contains("retry.max.elapsed.ms=300"), e.getMessage());
        assertTrue(e.getMessage().contains("status 503 (an HTML page)"), e.getMessage());
        assertTrue(e.getMessage().contains("_skip=40"), e.getMessage());
        assertTrue(elapsedMs >= 300, "gave up after " + elapsedMs + " ms, before the budget was spent");
        assertTrue(c.retries() >= 2, "backoffs of at most 50 ms over 300 ms: " + c.retries() + " retries");
    }

    @Test
    void aZeroBudgetFailsAtTheFirstFailure() {
        props.put(CloseUsersConfig.RETRY_MAX_ELAPSED_MS, "0");
        fake.queueFault(Fault.STATUS_500);
        CloseApiClient c = client();
        CloseApiException e = assertThrows(CloseApiException.class, () -> c.fetch(0, 10));
        assertTrue(e.getMessage().contains("Internal error"), e.getMessage());
        assertEquals(1, server.getRequestCount());
        assertEquals(0, c.retries());
    }

    @Test
    void theBackoffCeilingDoublesUpToTheMaximum() {
        assertEquals(1_000, CloseApiClient.backoffCeilingMs(0, 1_000, 60_000));
        assertEquals(2_000, CloseApiClient.backoffCeilingMs(1, 1_000, 60_000));
        assertEquals(32_000, CloseApiClient.backoffCeilingMs(5, 1_000, 60_000));
        assertEquals(60_000, CloseApiClient.backoffCeilingMs(6, 1_000, 60_000));
        assertEquals(60_000, CloseApiClient.backoffCeilingMs(10_000, 1_000, 60_000), "no overflow");
        assertEquals(3_600_000, CloseApiClient.backoffCeilingMs(62, 3_600_000, 3_600_000));
    }

    // ------------------------------------------------------------------ fatal answers

    private CloseApiException fatal(long skip, int limit) {
        CloseApiClient c = client();
        CloseApiException e = assertThrows(CloseApiException.class, () -> c.fetch(skip, limit));
        assertEquals(1, server.getRequestCount(), "a fatal answer is not retried");
        assertEquals(0, c.retries());
        assertFalse(e.getMessage().contains(KEY), "no secret in " + e.getMessage());
        return e;
    }

    @Test
    void aMaxLimitBelowTheDefaultPageSizeIsAskedForAtOnceKeptAndLoggedOnceAtInfo() throws Exception {
        fake.maxLimit(50);
        props.put(CloseUsersConfig.RETRY_MAX_ELAPSED_MS, "0"); // any failure would end the fetch
        CloseUsersConfig config = new CloseUsersConfig(props);
        assertEquals(1000, config.pageSize(), "page.size is not in the config");
        CloseApiClient c = client();
        try (LogCapture log = LogCapture.of(CloseApiClient.class)) {
            UserPage first = c.fetch(0, config.pageSize());
            assertEquals(expectedIds(0, 50), ids(first));
            assertEquals(50, first.limit(), "served with Close's max_limit");
            assertEquals(2, server.getRequestCount());
            assertEquals("_skip=0&_limit=1000", server.takeRequest().getUrl().encodedQuery());
            assertEquals("_skip=0&_limit=50", server.takeRequest().getUrl().encodedQuery(), "the same _skip again");

            UserPage second = c.fetch(49, config.pageSize());
            assertEquals(3, server.getRequestCount(), "max_limit is kept: one request");
            assertEquals("_skip=49&_limit=50", server.takeRequest().getUrl().encodedQuery());
            assertEquals(50, second.limit());
            assertEquals(expectedIds(49, 11), ids(second));

            assertEquals(3, c.requests());
            assertEquals(0, c.retries(), "not a retry");
            assertEquals(0, c.rateLimited());
            assertEquals(0, c.takeRateLimitWaitMillis());
            List<String> info = log.messages(org.apache.log4j.Level.INFO, "");
            assertEquals(1, info.size(), "logged once: " + info);
            assertTrue(info.get(0).contains("at most 50 users a page") && info.get(0).contains("max_limit = 50"),
                    info.get(0));
            assertEquals(List.of(), log.messages(org.apache.log4j.Level.WARN, ""));
            assertEquals(List.of(), log.messages(org.apache.log4j.Level.ERROR, ""));
        }
    }

    @Test
    void aPageSizeSetAboveMaxLimitIsLoweredWithOneWarning() throws Exception {
        fake.maxLimit(20);
        props.put(CloseUsersConfig.PAGE_SIZE, "200");
        props.put(CloseUsersConfig.RETRY_MAX_ELAPSED_MS, "0");
        CloseApiClient c = client();
        try (LogCapture log = LogCapture.of(CloseApiClient.class)) {
            for (int skip = 0; skip < 60; skip += 19) { // 0, 19, 38, 57
                UserPage page = c.fetch(skip, 200);
                assertEquals(expectedIds(skip, Math.min(20, 60 - skip)), ids(page));
                assertEquals(20, page.limit());
            }
            assertEquals(5, c.requests(), "one more request, for the first page only");
            assertEquals(0, c.retries());
            List<String> warnings = log.messages(org.apache.log4j.Level.WARN, "");
            assertEquals(1, warnings.size(), "one WARN: " + warnings);
            assertTrue(warnings.get(0).contains("page.size=200 is more than Close serves")
                    && warnings.get(0).contains("max_limit = 20")
                    && warnings.get(0).contains("set page.size to at most 20"), warnings.get(0));
            assertEquals(List.of(), log.messages(org.apache.log4j.Level.INFO, ""));
            assertEquals(List.of(), log.messages(org.apache.log4j.Level.ERROR, ""));
        }
    }

    @Test
    void aMaxLimitTooLargeToHelpOrAbsentFailsTheFetch() {
        fake.queueResponse(status(400, "{\"error\": \"The limit you set is larger than the maximum limit for this "
                + "resource.\"}"));
        CloseApiException none = fatal(0, 100);
        assertEquals(400, none.status());
        assertTrue(none.getMessage().contains("maximum limit for this resource"), none.getMessage());
        assertTrue(none.getMessage().contains("Set page.size below 100"), none.getMessage());
    }

    @Test
    void aMaxLimitAtOrAboveTheLimitAskedForIsNotAskedForAgain() {
        fake.queueResponse(status(400, "{\"error\": \"... maximum limit for this resource (max_limit = 100).\"}"));
        CloseApiException e = fatal(0, 100);
        assertTrue(e.getMessage().contains("Close rejected _limit=100 as too large"), e.getMessage());
    }

    @Test
    void aMaxLimitOfOneCannotBePagedWithOverlap() {
        fake.maxLimit(1);
        CloseApiException e = fatal(0, 2);
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("Close serves at most 1 user a page"), e.getMessage());
        assertTrue(e.getMessage().contains("overlap by one user"), e.getMessage());
    }

    @Test
    void maxLimitIsReadFromCloseMessage() {
        assertEquals(50, CloseApiClient.maxLimitNamed("larger than the maximum limit (max_limit = 50)."));
        assertEquals(7, CloseApiClient.maxLimitNamed("max_limit=7"));
        assertEquals(-1, CloseApiClient.maxLimitNamed("larger than the maximum limit for this resource"));
        assertEquals(-1, CloseApiClient.maxLimitNamed("max_limit = 99999999999"), "not an int");
    }

    @Test
    void pastMaxSkipTheMessageSaysWhatItMeansForTheAccount() {
        fake.maxSkip(40);
        CloseApiException e = fatal(45, 10);
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("max_skip = 40"), e.getMessage());
        assertTrue(e.getMessage().contains("past position 40"), e.getMessage());
        assertTrue(e.getMessage().contains("cannot be read"), e.getMessage());
    }

    @Test
    void a401NamesTheApiKey() {
        props.put(CloseUsersConfig.API_KEY, "api_wrong_key_zzzz");
        CloseApiException e = fatal(0, 10);
        assertEquals(401, e.status());
        assertTrue(e.getMessage().contains("Check close.api.key"), e.getMessage());
        assertTrue(e.getMessage().contains("Unauthorized"), e.getMessage());
        assertFalse(e.getMessage().contains("api_wrong_key_zzzz"), e.getMessage());
    }

    @Test
    void a402SaysThePlanDoesNotAllowIt() {
        fake.queueResponse(status(402, "{\"error\": \"Your plan does not include API access\"}"));
        CloseApiException e = fatal(0, 10);
        assertEquals(402, e.status());
        assertTrue(e.getMessage().contains("402 Payment Required: Your plan does not include API access"), e.getMessage());
        assertTrue(e.getMessage().contains("subscription"), e.getMessage());
    }

    @Test
    void a403SaysTheUserLacksPermission() {
        fake.queueResponse(status(403, "{\"error\": \"Forbidden\"}"));
        CloseApiException e = fatal(0, 10);
        assertEquals(403, e.status());
        assertTrue(e.getMessage().contains("close.api.key needs permission"), e.getMessage());
    }

    @Test
    void a404NamesTheUrl() {
        props.put(CloseUsersConfig.API_URL, server.url("/not-close").toString());
        CloseApiException e = fatal(0, 10);
        assertEquals(404, e.status());
        assertTrue(e.getMessage().contains("Check close.api.url (now " + server.url("/not-close").toString()
                .replaceAll("/$", "") + ")"), e.getMessage());
    }

    // ------------------------------------------------------------------ OAuth

    @Test
    void anOAuthTokenIsSentAsBearer() throws Exception {
        fake.acceptBearer("oauth_token_abc");
        props.remove(CloseUsersConfig.API_KEY);
        props.put(CloseUsersConfig.OAUTH_ACCESS_TOKEN, "oauth_token_abc");
        assertEquals(expectedIds(0, 5), ids(client().fetch(0, 5)));
        assertEquals("Bearer oauth_token_abc", server.takeRequest().getHeaders().get("Authorization"));
    }

    @Test
    void aRejectedOAuthTokenNamesTheTokenKey() {
        fake.acceptBearer("oauth_token_abc");
        props.remove(CloseUsersConfig.API_KEY);
        props.put(CloseUsersConfig.OAUTH_ACCESS_TOKEN, "oauth_token_expired");
        CloseApiException e = fatal(0, 5);
        assertTrue(e.getMessage().contains("Check close.oauth.access.token"), e.getMessage());
        assertFalse(e.getMessage().contains("oauth_token_expired"), e.getMessage());
    }

    // ------------------------------------------------------------------ stop

    private CompletableFuture<Throwable> fetchInBackground(CloseApiClient c) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                c.fetch(0, 10);
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
    }

    @Test
    void stopEndsALongBackoffAtOnce() throws Exception {
        props.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "60000");
        props.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "60000");
        for (int i = 0; i < 100; i++) {
            fake.queueFault(Fault.STATUS_503_HTML);
        }
        CloseApiClient c = client();
        CompletableFuture<Throwable> result = fetchInBackground(c);
        while (c.retries() == 0) {
            Thread.sleep(5);
        }
        Thread.sleep(50);
        assertFalse(result.isDone(), "backing off (unless the jitter drew almost 0)");
        long start = System.nanoTime();
        sleeper.wakeUp();
        c.close();
        Throwable thrown = result.get(1, TimeUnit.SECONDS);
        assertTrue(thrown instanceof InterruptedException, String.valueOf(thrown));
        assertTrue((System.nanoTime() - start) / 1_000_000 < 1_000);
    }

    @Test
    void closeCancelsTheRequestInFlight() throws Exception {
        fake.responseDelayMs(2_500);
        props.put(CloseUsersConfig.HTTP_TIMEOUT_MS, "60000");
        CloseApiClient c = client();
        CompletableFuture<Throwable> result = fetchInBackground(c);
        while (c.requests() == 0) {
            Thread.sleep(5);
        }
        Thread.sleep(100);
        c.close();
        Throwable thrown = result.get(1, TimeUnit.SECONDS);
        assertTrue(thrown instanceof InterruptedException, String.valueOf(thrown));
        assertEquals(0, c.retries(), "a cancelled request is not retried");
    }

    @Test
    void aRateLimitWaitEndsWhenTheTaskStops() throws Exception {
        fake.queueResponse(new MockResponse.Builder().code(429).setHeader("Retry-After", "600").build());
        CloseApiClient c = client();
        CompletableFuture<Throwable> result = fetchInBackground(c);
        while (c.rateLimited() == 0) {
            Thread.sleep(5);
        }
        sleeper.wakeUp();
        c.close();
        assertTrue(result.get(1, TimeUnit.SECONDS) instanceof InterruptedException);
    }
}
