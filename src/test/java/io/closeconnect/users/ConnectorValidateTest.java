package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigTransformer;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.common.config.provider.ConfigProvider;
import org.apache.kafka.common.config.provider.EnvVarConfigProvider;
import org.apache.kafka.common.config.provider.FileConfigProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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
        assertMentions(errors.get(CloseUsersConfig.OAUTH_ACCESS_TOKEN),
                "Both close.api.key and close.oauth.access.token are set; set exactly one");
        assertFalse(errors.toString().contains(KEY) || errors.toString().contains(TOKEN), errors.toString());
    }

    // ------------------------------------------------------------------ unresolved config provider references

    /** The connector config as the worker hands it over: references resolved by Kafka's own transformer. */
    private static Map<String, String> resolvedByTheWorker(Map<String, String> config) {
        Map<String, ConfigProvider> providers = new HashMap<>();
        EnvVarConfigProvider env = new EnvVarConfigProvider();
        env.configure(Map.of());
        providers.put("env", env);
        FileConfigProvider file = new FileConfigProvider();
        file.configure(Map.of());
        providers.put("file", file);
        return new ConfigTransformer(providers).transform(config).data();
    }

    @Test
    void anEnvVariableTheWorkerLacksIsReportedAsUnresolvedNotAsABadKey() {
        props.put(CloseUsersConfig.API_KEY, "${env:CLOSE_API_KEY_TYPO}");
        props.putAll(resolvedByTheWorker(props));
        assertEquals("${env:CLOSE_API_KEY_TYPO}", props.get(CloseUsersConfig.API_KEY),
                "Kafka leaves a reference it cannot resolve as it was");
        Map<String, List<String>> errors = errors();
        assertEquals(List.of(CloseUsersConfig.API_KEY), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.API_KEY), "close.api.key still holds ${env:CLOSE_API_KEY_TYPO}",
                "did not resolve", "config provider 'env', variable 'CLOSE_API_KEY_TYPO'", "config.providers=env",
                "EnvVarConfigProvider");
        assertFalse(errors.toString().contains("401"), errors.toString());
        assertEquals(0, server.getRequestCount(), "no live check with a placeholder for a key");
    }

    @Test
    void aKeyMissingFromTheSecretsFileIsReportedWithTheFileAndKey(@TempDir Path dir) throws Exception {
        Path secrets = Files.writeString(dir.resolve("close.properties"), "api_key=" + KEY + "\n");
        props.remove(CloseUsersConfig.API_KEY);
        String reference = "${file:" + secrets + ":access_token}";
        props.put(CloseUsersConfig.OAUTH_ACCESS_TOKEN, reference);
        props.putAll(resolvedByTheWorker(props));
        assertEquals(reference, props.get(CloseUsersConfig.OAUTH_ACCESS_TOKEN), "a key the file lacks stays as written");
        Map<String, List<String>> errors = errors();
        assertEquals(List.of(CloseUsersConfig.OAUTH_ACCESS_TOKEN), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.OAUTH_ACCESS_TOKEN),
                "config provider 'file', file '" + secrets + "', key 'access_token'", "FileConfigProvider");
        assertFalse(errors.toString().contains(KEY), "the file's other secrets stay out: " + errors);
    }

    @Test
    void aReferenceToAProviderTheWorkerLacksIsReportedOnTheUrlToo() {
        props.put(CloseUsersConfig.API_URL, "${vault:secret/close:url}");
        Map<String, List<String>> errors = errors();
        assertEquals(List.of(CloseUsersConfig.API_URL), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.API_URL), "close.api.url still holds ${vault:secret/close:url}",
                "config provider 'vault', path 'secret/close', key 'url'", "config.providers=vault");
    }

    @Test
    void aTaskStartedWithAnUnresolvedReferenceFailsSayingSo() {
        // A worker restarted without the variable starts the stored config without validating it.
        props.put(CloseUsersConfig.API_KEY, "${env:CLOSE_API_KEY_TYPO}");
        ConfigException e = assertThrows(ConfigException.class, () -> new CloseUsersConfig(props));
        assertTrue(e.getMessage().contains("variable 'CLOSE_API_KEY_TYPO'"), e.getMessage());
    }

    @Test
    void aResolvedReferenceIsNoProblem() {
        props.put(CloseUsersConfig.API_KEY, "${env:PATH}");
        props.putAll(resolvedByTheWorker(props));
        Map<String, List<String>> errors = errors();
        assertFalse(errors.toString().contains("did not resolve"), errors.toString());
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

    /** Key to error messages when close.api.url points at a server that answers every request with {@code answer}. */
    private Map<String, List<String>> errorsAgainst(MockResponse answer) throws Exception {
        try (MockWebServer other = new MockWebServer()) {
            other.setDispatcher(new mockwebserver3.Dispatcher() {
                @Override
                public MockResponse dispatch(mockwebserver3.RecordedRequest request) {
                    return answer;
                }
            });
            other.start();
            props.put(CloseUsersConfig.API_URL, other.url("/").toString());
            return errors();
        }
    }

    private static MockResponse answer(int status, String contentType, String body) {
        MockResponse.Builder builder = new MockResponse.Builder().code(status).body(body);
        return (contentType == null ? builder : builder.setHeader("Content-Type", contentType)).build();
    }

    @Test
    void aTwoHundredThatIsNotJsonIsAWrongUrlWithTheStatusSent() throws Exception {
        // A web server that greets every path, unlabelled: the user's "wrong URL that passes validation".
        Map<String, List<String>> errors = errorsAgainst(answer(200, "text/plain", "Welcome to our intranet"));
        assertEquals(List.of(CloseUsersConfig.API_URL), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.API_URL), "/api/v1/me/ answered 200 with a body that is not JSON",
                "'Welcome to our intranet'", "close.api.url does not point at the Close API",
                "Set it to https://api.close.com (without /api/v1)");
        assertFalse(errors.toString().contains("404"), "the server sent 200, not 404: " + errors);
    }

    @Test
    void anHtmlPageIsReportedWithTheStatusItCameWith() throws Exception {
        Map<String, List<String>> errors = errorsAgainst(answer(200, "text/html; charset=utf-8", "<html>Sign in</html>"));
        assertMentions(errors.get(CloseUsersConfig.API_URL), "answered 200 with an HTML page",
                "Content-Type text/html; charset=utf-8", "does not point at the Close API");
        assertFalse(errors.toString().contains("404"), errors.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"[]", "\"ok\"", ""})
    void anyTwoHundredBodyThatIsNotAJsonObjectIsAWrongUrl(String body) throws Exception {
        Map<String, List<String>> errors = errorsAgainst(answer(200, "application/json", body));
        assertEquals(List.of(CloseUsersConfig.API_URL), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.API_URL), "answered 200 with", "where Close answers a JSON object");
    }

    @Test
    void aRedirectToALoginPageSaysWhereItLed() throws Exception {
        try (MockWebServer login = new MockWebServer(); MockWebServer proxy = new MockWebServer()) {
            login.enqueue(answer(200, "text/html", "<html>Log in</html>"));
            login.start();
            proxy.enqueue(new MockResponse.Builder().code(302).setHeader("Location", login.url("/sso/login")).build());
            proxy.start();
            props.put(CloseUsersConfig.API_URL, proxy.url("/").toString());
            assertMentions(errors().get(CloseUsersConfig.API_URL), "answered 200 with an HTML page",
                    "after a redirect to " + login.url("/sso/login"));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {400, 405, 410})
    void anotherClientErrorIsAnErrorOnTheUrlWithItsStatus(int status) throws Exception {
        Map<String, List<String>> errors = errorsAgainst(answer(status, "application/json", "{\"error\": \"nope\"}"));
        assertEquals(List.of(CloseUsersConfig.API_URL), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.API_URL), "answered " + status + ": nope",
                "does not point at the Close API");
    }

    @ParameterizedTest
    @ValueSource(ints = {402, 403})
    void aRefusalNamesTheCredentialAndTheStatus(int status) throws Exception {
        Map<String, List<String>> errors = errorsAgainst(answer(status, "application/json", "{\"error\": \"no\"}"));
        assertEquals(List.of(CloseUsersConfig.API_KEY), List.copyOf(errors.keySet()));
        assertMentions(errors.get(CloseUsersConfig.API_KEY), "(" + status + ": no)");
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
