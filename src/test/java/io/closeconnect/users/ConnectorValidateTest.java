package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code CloseUsersSourceConnector.validate()}: the rules across keys, the https rule and the live check. */
class ConnectorValidateTest {

    private static final String KEY = "api_validate_key_4242";
    private static final String TOKEN = "oauth_validate_token_4242";

    private final FakeCloseApi fake = new FakeCloseApi(KEY, 3, true).acceptBearer(TOKEN);
    private final MockWebServer server = new MockWebServer();
    private final Map<String, String> props = new HashMap<>();

    @BeforeEach
    void start() throws Exception {
        server.setDispatcher(fake);
        server.start();
        props.put("connector.class", CloseUsersSourceConnector.class.getName());
        props.put("name", "close-users");
        props.put(CloseUsersConfig.API_KEY, KEY);
        props.put(CloseUsersConfig.API_URL, server.url("/").toString());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** Key to error messages, for the keys that have any. */
    private Map<String, List<String>> errors() {
        Map<String, List<String>> errors = new TreeMap<>();
        for (ConfigValue value : new CloseUsersSourceConnector().validate(props).configValues()) {
            if (!value.errorMessages().isEmpty()) {
                errors.put(value.name(), value.errorMessages());
            }
        }
        return errors;
    }

    private static void assertMentions(List<String> messages, String... parts) {
        String text = String.join(" | ", messages);
        for (String part : parts) {
            assertTrue(text.contains(part), "'" + part + "' not in: " + text);
        }
    }

    @Test
    void aWorkingKeyIsValid() {
        assertEquals(Map.of(), errors());
        assertEquals(1, server.getRequestCount(), "one live check");
    }

    @Test
    void aWorkingOAuthTokenIsValid() {
        props.remove(CloseUsersConfig.API_KEY);
        props.put(CloseUsersConfig.OAUTH_ACCESS_TOKEN, TOKEN);
        assertEquals(Map.of(), errors());
    }

    @Test
    void neitherCredentialIsAnErrorOnBothKeys() {
        props.remove(CloseUsersConfig.API_KEY);
        Map<String, List<String>> errors = errors();
        assertEquals(List.of(CloseUsersConfig.API_KEY, CloseUsersConfig.OAUTH_ACCESS_TOKEN), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.API_KEY), "Neither", "exactly one");
        assertEquals(0, server.getRequestCount(), "no live check of an invalid config");
    }

    @Test
    void bothCredentialsAreAnError() {
        props.put(CloseUsersConfig.OAUTH_ACCESS_TOKEN, TOKEN);
        Map<String, List<String>> errors = errors();
        assertMentions(errors.get(CloseUsersConfig.OAUTH_ACCESS_TOKEN), "Both", "exactly one");
        assertFalse(errors.toString().contains(KEY) || errors.toString().contains(TOKEN), errors.toString());
    }

    @Test
    void aBlankKeyIsAnError() {
        props.put(CloseUsersConfig.API_KEY, "  ");
        assertMentions(errors().get(CloseUsersConfig.API_KEY), "close.api.key is blank");
    }

    @Test
    void theConfigItselfRefusesMissingCredentials() {
        props.remove(CloseUsersConfig.API_KEY);
        ConfigException e = assertThrows(ConfigException.class, () -> new CloseUsersConfig(props));
        assertTrue(e.getMessage().contains("exactly one"), e.getMessage());
    }

    // ------------------------------------------------------------------ the live check

    @Test
    void aRejectedKeyIsAnErrorOnTheKey() {
        props.put(CloseUsersConfig.API_KEY, "api_revoked_key_9999");
        Map<String, List<String>> errors = errors();
        assertEquals(List.of(CloseUsersConfig.API_KEY), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.API_KEY), "401", "check close.api.key");
        assertFalse(errors.toString().contains("api_revoked_key_9999"));
        assertEquals("/api/v1/me/", takePath());
    }

    @Test
    void aRejectedTokenIsAnErrorOnTheToken() {
        props.remove(CloseUsersConfig.API_KEY);
        props.put(CloseUsersConfig.OAUTH_ACCESS_TOKEN, "oauth_expired");
        Map<String, List<String>> errors = errors();
        assertEquals(List.of(CloseUsersConfig.OAUTH_ACCESS_TOKEN), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.OAUTH_ACCESS_TOKEN), "401", "check close.oauth.access.token");
    }

    @Test
    void a404IsAnErrorOnTheUrl() {
        props.put(CloseUsersConfig.API_URL, server.url("/api/v1").toString());
        Map<String, List<String>> errors = errors();
        assertEquals(List.of(CloseUsersConfig.API_URL), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.API_URL), "404", "close.api.url does not point at the Close API");
    }

    @Test
    void anUnreachableHostIsAnErrorOnTheUrl() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        props.put(CloseUsersConfig.API_URL, "http://127.0.0.1:" + closedPort);
        Map<String, List<String>> errors = errors();
        assertEquals(List.of(CloseUsersConfig.API_URL), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.API_URL), "Could not reach Close at http://127.0.0.1:" + closedPort);
    }

    @Test
    void aHostThatNeverAnswersFailsValidationWithinTenSeconds() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            props.put(CloseUsersConfig.API_URL, "http://127.0.0.1:" + silent.getLocalPort());
            long start = System.nanoTime();
            Map<String, List<String>> errors = errors();
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(elapsedMs < 10_000, "validate() took " + elapsedMs + " ms");
            assertMentions(errors.get(CloseUsersConfig.API_URL), "no answer within");
        }
    }

    @Test
    void aServerErrorDuringTheCheckLeavesTheConfigValid() throws Exception {
        try (MockWebServer failing = new MockWebServer()) {
            failing.enqueue(new MockResponse.Builder().code(503).body("<html>busy</html>").build());
            failing.start();
            props.put(CloseUsersConfig.API_URL, failing.url("/").toString());
            assertEquals(Map.of(), errors());
        }
    }

    // ------------------------------------------------------------------ per-key rules

    private Map<String, List<String>> staticErrors() {
        Map<String, List<String>> errors = new TreeMap<>();
        for (Map.Entry<String, ConfigValue> e : CloseUsersConfig.CONFIG_DEF.validateAll(props).entrySet()) {
            if (!e.getValue().errorMessages().isEmpty()) {
                errors.put(e.getKey(), e.getValue().errorMessages());
            }
        }
        return errors;
    }

    @ParameterizedTest
    @ValueSource(strings = {"https://api.close.com", "https://close.internal.example:8443/", "http://localhost:8080",
            "http://127.0.0.1:1234", "http://127.1.2.3", "http://[::1]:9000", "HTTP://LOCALHOST"})
    void httpsOrLoopbackUrlsAreAccepted(String url) {
        props.put(CloseUsersConfig.API_URL, url);
        assertEquals(Map.of(), staticErrors());
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://api.close.com", "http://10.0.0.5:8080", "http://128.0.0.1", "http://localhost.evil.com",
            "http://[::2]", "ftp://api.close.com", "api.close.com", "https://key@api.close.com"})
    void otherUrlsAreRefused(String url) {
        props.put(CloseUsersConfig.API_URL, url);
        assertEquals(List.of(CloseUsersConfig.API_URL), List.copyOf(staticErrors().keySet()));
    }

    @Test
    void plainHttpToARemoteHostSaysWhy() {
        props.put(CloseUsersConfig.API_URL, "http://api.close.com");
        assertMentions(errors().get(CloseUsersConfig.API_URL), "must use https", "loopback");
    }

    @Test
    void theMaximumBackoffMayNotBeBelowTheInitialOne() {
        props.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "5000");
        props.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "1000");
        Map<String, List<String>> errors = errors();
        assertEquals(List.of(CloseUsersConfig.RETRY_BACKOFF_MAX_MS), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.RETRY_BACKOFF_MAX_MS), "must be at least retry.backoff.initial.ms");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1", "1001", "fast"})
    void aBadRateCapIsRefused(String rate) {
        props.put(CloseUsersConfig.RATE_LIMIT_MAX_RPS, rate);
        assertEquals(List.of(CloseUsersConfig.RATE_LIMIT_MAX_RPS), List.copyOf(staticErrors().keySet()));
    }

    @Test
    void theRateCapIsOptionalAndMayBeFractional() {
        assertEquals(0.0, new CloseUsersConfig(props).maxRequestsPerSecond());
        props.put(CloseUsersConfig.RATE_LIMIT_MAX_RPS, "0.5");
        assertEquals(Map.of(), staticErrors());
        assertEquals(0.5, new CloseUsersConfig(props).maxRequestsPerSecond());
    }

    @Test
    void everyNewKeyIsDocumented() {
        for (String key : List.of(CloseUsersConfig.OAUTH_ACCESS_TOKEN, CloseUsersConfig.RATE_LIMIT_MAX_RPS,
                CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, CloseUsersConfig.RETRY_BACKOFF_MAX_MS,
                CloseUsersConfig.RETRY_MAX_ELAPSED_MS)) {
            String doc = CloseUsersConfig.CONFIG_DEF.configKeys().get(key).documentation;
            assertTrue(doc != null && doc.length() > 40, key + " is undocumented");
        }
    }

    private String takePath() {
        try {
            return server.takeRequest().getUrl().encodedPath();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
