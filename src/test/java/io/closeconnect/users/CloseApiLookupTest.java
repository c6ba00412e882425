package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /api/v1/user/{id}/} and {@code GET /api/v1/me/} over HTTP: what the client reports
 * for each answer (the policy that turns it into a removal lives in {@link Departures}), and that
 * the list's retries apply to them too.
 */
class CloseApiLookupTest {

    private static final String KEY = "api_lookup_test_key_0123";

    private final FakeCloseApi fake = new FakeCloseApi(KEY, 9, true);
    private final MockWebServer server = new MockWebServer();
    private final Map<String, String> props = new HashMap<>();
    private CloseApiClient client;
    private List<String> ids;

    @BeforeEach
    void start() throws Exception {
        ids = fake.addUsers(5);
        server.setDispatcher(fake);
        server.start();
        props.put(CloseUsersConfig.API_KEY, KEY);
        props.put(CloseUsersConfig.API_URL, server.url("/").toString());
        props.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "5");
        props.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "20");
        props.put(CloseUsersConfig.HTTP_TIMEOUT_MS, "1000");
        client = new CloseApiClient(new CloseUsersConfig(props), new Sleeper());
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
    }

    private static MockResponse answer(int code, String type, String body) {
        return new MockResponse.Builder().code(code).setHeader("Content-Type", type).body(body).build();
    }

    @Test
    void aListedUserIsFoundWithItsOrganizations() throws Exception {
        UserLookup lookup = client.lookUp(ids.get(2));
        assertEquals(UserLookup.Outcome.FOUND, lookup.outcome());
        assertEquals(ids.get(2), lookup.user().id());
        assertEquals(fake.currentVersions().get(ids.get(2)), lookup.user().updatedMicros());
        assertEquals(List.of(FakeCloseApi.ORGANIZATION),
                Departures.organizations(lookup.user().json().get("organizations")));
        RecordedRequest request = server.takeRequest();
        assertEquals("/api/v1/user/" + ids.get(2) + "/", request.getUrl().encodedPath());
        assertTrue(request.getHeaders().get("Authorization").startsWith("Basic "));
    }

    @Test
    void aDeletedUserIsNotFoundAndOneInAnotherOrganizationIsFoundThere() throws Exception {
        fake.delete(ids.get(0));
        fake.leaveOrganization(ids.get(1));
        UserLookup deleted = client.lookUp(ids.get(0));
        assertEquals(UserLookup.Outcome.NOT_FOUND, deleted.outcome());
        assertEquals(404, deleted.status());
        assertTrue(deleted.detail().contains("Empty query"), deleted.detail());
        UserLookup moved = client.lookUp(ids.get(1));
        assertEquals(UserLookup.Outcome.FOUND, moved.outcome());
        assertEquals(List.of(FakeCloseApi.OTHER_ORGANIZATION),
                Departures.organizations(moved.user().json().get("organizations")));
    }

    @Test
    void answersThatSayNothingAboutTheUserAreInconclusive() throws Exception {
        fake.queueLookupResponse(answer(404, "application/json", "{\"error\": \"The requested URL was not found on "
                + "the server. If you entered the URL manually please check your spelling and try again.\"}"));
        fake.queueLookupResponse(answer(404, "text/html", "<html><body>Not Found</body></html>"));
        fake.queueLookupResponse(answer(403, "application/json", "{\"error\": \"Forbidden\"}"));
        fake.queueLookupResponse(answer(404, "text/plain", "no such thing"));
        for (int status : List.of(404, 404, 403, 404)) {
            UserLookup lookup = client.lookUp(ids.get(0));
            assertEquals(UserLookup.Outcome.INCONCLUSIVE, lookup.outcome(), lookup.toString());
            assertEquals(status, lookup.status());
        }
        assertEquals(UserLookup.Outcome.FOUND, client.lookUp(ids.get(0)).outcome(), "the user is there after all");
    }

    @Test
    void transientFailuresAreRetriedLikeThePagesAndAreNeverAVerdict() throws Exception {
        fake.queueLookupResponse(answer(503, "text/html", "<html>503</html>"));
        fake.queueLookupResponse(answer(429, "application/json", "{\"error\": \"slow down\"}"));
        fake.queueLookupResponse(answer(200, "application/json", "{\"id\": \"" + ids.get(3) + "\", \"date_upd"));
        fake.queueLookupResponse(answer(500, "application/json", "{\"error\": \"oops\"}"));
        fake.delete(ids.get(3));
        UserLookup lookup = client.lookUp(ids.get(3));
        assertEquals(UserLookup.Outcome.NOT_FOUND, lookup.outcome(), "only Close's real answer decides");
        assertEquals(5, fake.lookupCount() + 4, "four failures, then the answer");
        assertEquals(3, client.retries(), "the 429 is not a retry");
        assertEquals(1, client.rateLimited());
    }

    @Test
    void aRetryBudgetSpentOnLookupsFailsTheTaskNamingTheRequest() {
        props.put(CloseUsersConfig.RETRY_MAX_ELAPSED_MS, "0");
        client.close();
        client = new CloseApiClient(new CloseUsersConfig(props), new Sleeper());
        fake.queueLookupResponse(answer(502, "text/html", "<html>bad gateway</html>"));
        CloseApiException e = assertThrows(CloseApiException.class, () -> client.lookUp(ids.get(0)));
        assertTrue(e.getMessage().contains("GET /api/v1/user/" + ids.get(0) + "/"), e.getMessage());
        assertTrue(!e.getMessage().contains(KEY), "no key in: " + e.getMessage());
    }

    @Test
    void aRejectedKeyFailsTheLookupAsItFailsThePages() {
        fake.apiKey("another_key");
        CloseApiException e = assertThrows(CloseApiException.class, () -> client.lookUp(ids.get(0)));
        assertEquals(401, e.status());
        assertTrue(e.getMessage().contains(CloseUsersConfig.API_KEY), e.getMessage());
    }

    @Test
    void theCallersOrganizationsComeFromMe() throws Exception {
        assertEquals(List.of(FakeCloseApi.ORGANIZATION), client.myOrganizations());
        RecordedRequest request = server.takeRequest();
        assertEquals("/api/v1/me/", request.getUrl().encodedPath());
        server.setDispatcher(new mockwebserver3.Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest r) {
                return answer(200, "application/json", "{\"id\": \"user_me\", \"organizations\": [\"orga_a\", \"orga_b\"]}");
            }
        });
        assertEquals(List.of("orga_a", "orga_b"), client.myOrganizations(), "plain ids are read too");
        server.setDispatcher(new mockwebserver3.Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest r) {
                return answer(200, "application/json", "{\"id\": \"user_me\"}");
            }
        });
        assertNull(client.myOrganizations(), "no organizations listed: unknown, never empty");
        server.setDispatcher(new mockwebserver3.Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest r) {
                return answer(403, "application/json", "{\"error\": \"Forbidden\"}");
            }
        });
        assertNull(client.myOrganizations(), "a refusal leaves them unknown");
    }
}
