package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/** What issue 2 asks of the HTTP client: auth, user agent, errors with status and message, one retry. */
class CloseApiClientBasicsTest {

    private static final String KEY = "api_SECRET_basics";
    private MockWebServer server;

    @BeforeEach
    void start() throws Exception {
        server = new MockWebServer();
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private CloseApiClient client() {
        Map<String, String> props = new HashMap<>();
        props.put(CloseUsersConfig.API_KEY, KEY);
        props.put(CloseUsersConfig.API_URL, server.url("/").toString());
        props.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "10");
        props.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "20");
        return new CloseApiClient(new CloseUsersConfig(props), new Sleeper());
    }

    @Test
    void sendsBasicAuthWithTheKeyAsUserNameAndTheVersionInTheUserAgent() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 1, true);
        api.addUsers(3);
        server.setDispatcher(api);
        try (CloseApiClient client = client()) {
            UserPage page = client.fetch(0, 2);
            assertEquals(2, page.users().size());
            assertTrue(page.hasMore());
        }
        RecordedRequest request = server.takeRequest();
        assertEquals("Basic " + java.util.Base64.getEncoder().encodeToString((KEY + ":").getBytes()),
                request.getHeaders().get("Authorization"));
        assertEquals("kafka-connect-close/" + Version.get(), request.getHeaders().get("User-Agent"));
        assertEquals("/api/v1/user/?_skip=0&_limit=2", request.getTarget());
        assertFalse(Version.get().isBlank() || Version.get().contains("${"));
    }

    @Test
    void aFailedAnswerIsRetriedOnTheSamePage() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 2, true);
        api.addUsers(5);
        server.setDispatcher(api);
        api.queueFault(FakeCloseApi.Fault.STATUS_503_HTML);
        api.queueFault(FakeCloseApi.Fault.TRUNCATED_JSON);
        try (CloseApiClient client = client()) {
            UserPage page = client.fetch(2, 2);
            assertEquals(2, page.users().size());
            assertEquals(3, client.requests());
            assertEquals(2, client.retries());
        }
        for (int i = 0; i < 3; i++) {
            assertEquals("/api/v1/user/?_skip=2&_limit=2", server.takeRequest().getTarget());
        }
    }

    @Test
    void aClientErrorCarriesTheStatusAndClosesMessageButNotTheKey() {
        server.enqueue(new MockResponse.Builder().code(403)
                .body("{\"error\": \"You lack permission; key " + KEY + " is limited\"}").build());
        try (CloseApiClient client = client()) {
            CloseApiException e = assertThrows(CloseApiException.class, () -> client.fetch(0, 10));
            assertEquals(403, e.status());
            assertTrue(e.getMessage().contains("403") && e.getMessage().contains("You lack permission"), e.getMessage());
            assertFalse(e.getMessage().contains(KEY), e.getMessage());
        }
    }

    @Test
    void anErrorPageEchoingTheAuthorizationHeaderIsRedacted() {
        String encoded = java.util.Base64.getEncoder().encodeToString((KEY + ":").getBytes());
        server.enqueue(new MockResponse.Builder().code(400)
                .body("<html>Bad request. Headers: Authorization: Basic " + encoded + "</html>").build());
        try (CloseApiClient client = client()) {
            CloseApiException e = assertThrows(CloseApiException.class, () -> client.fetch(0, 10));
            assertFalse(e.getMessage().contains(encoded), e.getMessage());
            assertFalse(e.getMessage().contains(KEY), e.getMessage());
            assertTrue(e.getMessage().contains("[hidden]"), e.getMessage());
        }
    }

    @Test
    void repeated429sWithAZeroRetryAfterBackOffInsteadOfHammering() throws Exception {
        for (int i = 0; i < 5; i++) {
            server.enqueue(new MockResponse.Builder().code(429).setHeader("Retry-After", "0").body("{}").build());
        }
        server.enqueue(new MockResponse.Builder().code(200).body("{\"data\": [], \"has_more\": false}").build());
        try (CloseApiClient client = client()) {
            long start = System.nanoTime();
            client.fetch(0, 10);
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertEquals(6, client.requests());
            assertTrue(elapsedMs >= 50 + 100 + 200 + 400 + 800, "waits grow from 50 ms: took " + elapsedMs);
        }
    }
}
