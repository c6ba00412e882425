package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CloseUsersConfigTest {

    private static Map<String, String> valid() {
        Map<String, String> props = new HashMap<>();
        props.put(CloseUsersConfig.API_KEY, "api_abc123");
        return props;
    }

    private static List<String> errorsFor(Map<String, String> props, String key) {
        for (ConfigValue value : CloseUsersConfig.CONFIG_DEF.validate(props)) {
            if (value.name().equals(key)) {
                return value.errorMessages();
            }
        }
        throw new AssertionError("no config value " + key);
    }

    @Test
    void defaultsMatchTheDocumentedTable() {
        CloseUsersConfig config = new CloseUsersConfig(valid());
        assertEquals("https://api.close.com", config.apiUrl());
        assertEquals("close.users", config.topic());
        assertEquals(60_000L, config.pollIntervalMs());
        assertEquals(1000, config.pageSize(), "the largest page Close has been seen to serve");
        assertFalse(config.pageSizeSet(), "left to its default");
        assertEquals("", config.orderBy());
        assertEquals(30_000, config.httpTimeoutMs());
        assertEquals("api_abc123", config.apiKey().value());
    }

    @Test
    void aPageSizeInTheConfigIsSetEvenAtTheDefaultValue() {
        Map<String, String> props = valid();
        props.put(CloseUsersConfig.PAGE_SIZE, "1000");
        CloseUsersConfig config = new CloseUsersConfig(props);
        assertEquals(1000, config.pageSize());
        assertTrue(config.pageSizeSet(), "an explicit page.size above Close's max_limit gets a WARN, not an INFO");
    }

    @Test
    void everyKeyIsDocumentedAndGrouped() {
        for (ConfigDef.ConfigKey key : CloseUsersConfig.CONFIG_DEF.configKeys().values()) {
            assertTrue(key.documentation != null && key.documentation.length() > 20, key.name + " has no doc");
            assertTrue(key.group != null, key.name + " has no group");
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "page.size|0|page.size",
        "page.size|1001|page.size",
        "page.size|many|page.size",
        "poll.interval.ms|-1|poll.interval.ms",
        "http.timeout.ms|10|http.timeout.ms",
        "close.users.order.by|email|last_name,first_name",
        "close.api.url|ftp://api.close.com|close.api.url",
        "close.api.url|not a url|close.api.url",
        "topic|bad topic!|topic",
        "close.api.key|'   '|close.api.key",
    })
    void invalidValuesAreRejectedNamingTheKey(String key, String value, String expectedInMessage) {
        Map<String, String> props = valid();
        props.put(key, value);
        List<String> errors = errorsFor(props, key);
        assertFalse(errors.isEmpty(), key + "=" + value + " should be rejected");
        assertTrue(errors.get(0).contains(expectedInMessage), errors.get(0));
    }

    @Test
    void missingKeyIsReported() {
        // close.api.key is optional on its own (close.oauth.access.token may replace it); the rule
        // "exactly one of the two" is checked across keys, by the connector's validate().
        List<String> errors = new CloseUsersSourceConnector().validate(new HashMap<>()).configValues().stream()
                .filter(v -> v.name().equals(CloseUsersConfig.API_KEY)).findFirst().orElseThrow().errorMessages();
        assertFalse(errors.isEmpty());
        assertTrue(errors.get(0).contains(CloseUsersConfig.API_KEY), errors.get(0));
    }

    @Test
    void rejectionOfAKeyNeverRepeatsIt() {
        Map<String, String> props = valid();
        props.put(CloseUsersConfig.API_KEY, " ");
        Config result = new CloseUsersSourceConnector().validate(props);
        assertFalse(result.toString().contains("api_abc123"));
    }

    @Test
    void trailingSlashOfTheUrlIsIgnored() {
        Map<String, String> props = valid();
        props.put(CloseUsersConfig.API_URL, "https://api.close.com//");
        assertEquals("https://api.close.com", new CloseUsersConfig(props).apiUrl());
    }

    @Test
    void whitespaceInTheOrderIsIgnored() {
        for (String order : List.of(" last_name,first_name ", "last_name, first_name", "\tfirst_name ,last_name\n", "  ")) {
            Map<String, String> props = valid();
            props.put(CloseUsersConfig.ORDER_BY, order);
            assertEquals(List.of(), errorsFor(props, CloseUsersConfig.ORDER_BY), "'" + order + "'");
            assertEquals(order.replaceAll("\\s", ""), new CloseUsersConfig(props).orderBy());
        }
    }

    @Test
    void acceptedOrders() {
        for (String order : List.of("", "last_name,first_name", "first_name,last_name")) {
            Map<String, String> props = valid();
            props.put(CloseUsersConfig.ORDER_BY, order);
            assertEquals(List.of(), errorsFor(props, CloseUsersConfig.ORDER_BY));
        }
    }

    @Test
    void everyKeyReachesItsAccessor() {
        Map<String, String> props = new HashMap<>();
        props.put(CloseUsersConfig.OAUTH_ACCESS_TOKEN, "oauth_token_1");
        props.put(CloseUsersConfig.API_URL, "http://localhost:9/");
        props.put(CloseUsersConfig.TOPIC, "users.v1");
        props.put(CloseUsersConfig.POLL_INTERVAL_MS, "1234");
        props.put(CloseUsersConfig.PAGE_SIZE, "17");
        props.put(CloseUsersConfig.ORDER_BY, "first_name,last_name");
        props.put(CloseUsersConfig.HTTP_TIMEOUT_MS, "4321");
        props.put(CloseUsersConfig.WATERMARK_LAG_MS, "2500");
        props.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "70");
        props.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "700");
        props.put(CloseUsersConfig.RETRY_MAX_ELAPSED_MS, "7000");
        props.put(CloseUsersConfig.RATE_LIMIT_MAX_RPS, "2.5");
        CloseUsersConfig config = new CloseUsersConfig(props);
        assertEquals(null, config.apiKey());
        assertEquals("oauth_token_1", config.oauthAccessToken().value());
        assertEquals(CloseUsersConfig.OAUTH_ACCESS_TOKEN, config.credentialKey());
        assertEquals("http://localhost:9", config.apiUrl());
        assertEquals("users.v1", config.topic());
        assertEquals(1234L, config.pollIntervalMs());
        assertEquals(17, config.pageSize());
        assertEquals("first_name,last_name", config.orderBy());
        assertEquals(4321, config.httpTimeoutMs());
        assertEquals(2500L, config.watermarkLagMs());
        assertEquals(70L, config.retryBackoffInitialMs());
        assertEquals(700L, config.retryBackoffMaxMs());
        assertEquals(7000L, config.retryMaxElapsedMs());
        assertEquals(2.5, config.maxRequestsPerSecond());
        assertEquals(CloseUsersConfig.API_KEY, new CloseUsersConfig(valid()).credentialKey());
        assertEquals(0.0, new CloseUsersConfig(valid()).maxRequestsPerSecond(), "no cap");
    }

    @Test
    void exactlyOneCredentialAndABackoffMaximumNotBelowTheInitial() {
        Map<String, String> both = valid();
        both.put(CloseUsersConfig.OAUTH_ACCESS_TOKEN, "oauth_secret_2");
        ConfigException twice = assertThrows(ConfigException.class, () -> new CloseUsersConfig(both));
        assertTrue(twice.getMessage().startsWith("Both close.api.key and close.oauth.access.token are set"), twice.getMessage());
        assertFalse(twice.getMessage().contains("oauth_secret_2") || twice.getMessage().contains("api_abc123"));
        ConfigException none = assertThrows(ConfigException.class, () -> new CloseUsersConfig(new HashMap<>()));
        assertTrue(none.getMessage().startsWith("Neither close.api.key nor close.oauth.access.token is set"),
                none.getMessage());

        Map<String, String> equal = valid();
        equal.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "500");
        equal.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "500");
        assertEquals(500L, new CloseUsersConfig(equal).retryBackoffMaxMs(), "equal is fine");
        equal.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "499");
        ConfigException below = assertThrows(ConfigException.class, () -> new CloseUsersConfig(equal));
        assertEquals("retry.backoff.max.ms (499) must be at least retry.backoff.initial.ms (500).", below.getMessage());
        assertFalse(CloseUsersConfig.crossFieldProblems(k -> null, null, 1L)
                .containsKey(CloseUsersConfig.RETRY_BACKOFF_MAX_MS), "a backoff that failed to parse is not compared");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "rate.limit.max.requests.per.second|0.001|true",
        "rate.limit.max.requests.per.second|1000|true",
        "rate.limit.max.requests.per.second|0.0009|false",
        "rate.limit.max.requests.per.second|1000.5|false",
        "rate.limit.max.requests.per.second|NaN|false",
        "close.api.url|http://127.255.0.9:80|true",
        "close.api.url|http://[::1]|true",
        "close.api.url|http://[::2]|false",
        "close.api.url|http://126.0.0.1|false",
        "close.api.url|http://127.0.0|false",
        "close.api.url|http://127.0.0.255|true",
        "close.api.url|http://127.0.0.256|false",
        "close.api.url|http://999.0.0.1|false",
        "close.api.url|http://[::ffff:127.0.0.1]|true",
        "close.api.url|http://[0:0:0:0:0:0:0:1]|true",
        "close.api.url|http://localhost.example.com|false",
        "close.api.url|https://api.close.com?x=1|false",
        "close.api.url|https://api.close.com#top|false",
        "close.api.url|https:///no-host|false",
        "topic|a.B_c-9|true",
        "topic|.|false",
        "topic|..|false",
        "topic|''|false",
        "topic|a~b|false",
        "topic|a b|false",
        "topic|A|true",
        "topic|Z|true",
        "topic|a|true",
        "topic|z|true",
        "topic|0|true",
        "topic|9|true",
        "topic|@|false",
        "topic|[|false",
        "topic|`|false",
        "topic|{|false",
        "topic|/|false",
        "topic|:|false",
    })
    void validatorsDrawTheLineWhereTheReferenceSays(String key, String value, boolean accepted) {
        Map<String, String> props = valid();
        props.put(key, value);
        assertEquals(accepted, errorsFor(props, key).isEmpty(), key + "=" + value + ": " + errorsFor(props, key));
    }

    @Test
    void loopbackIsDecidedFromTheLiteralAlone() {
        assertTrue(CloseUsersConfig.ApiUrlValidator.isLoopback("LocalHost"));
        assertFalse(CloseUsersConfig.ApiUrlValidator.isLoopback("[::zz]"), "not an IPv6 address: not loopback");
        assertFalse(CloseUsersConfig.ApiUrlValidator.isLoopback("[::1"));
        assertFalse(CloseUsersConfig.ApiUrlValidator.isLoopback("::1]"));
    }

    @Test
    void aTopicNameHasAtMost249Characters() {
        Map<String, String> props = valid();
        props.put(CloseUsersConfig.TOPIC, "t".repeat(249));
        assertEquals(List.of(), errorsFor(props, CloseUsersConfig.TOPIC));
        props.put(CloseUsersConfig.TOPIC, "t".repeat(250));
        assertFalse(errorsFor(props, CloseUsersConfig.TOPIC).isEmpty());
    }
    @Test
    void removalSettingsAndTheHeartbeatTopicDefaultAndParse() {
        CloseUsersConfig defaults = new CloseUsersConfig(valid());
        assertTrue(defaults.removalRecord());
        assertTrue(defaults.removalTombstone());
        assertEquals(5.0, defaults.removalHoldPercent());
        assertEquals(10, defaults.removalHoldMin());
        assertEquals("", defaults.removalRelease());
        assertEquals("__close-users-heartbeat", defaults.heartbeatTopic());

        Map<String, String> props = valid();
        props.put(CloseUsersConfig.REMOVAL_OUTPUT, "tombstone");
        props.put(CloseUsersConfig.REMOVAL_HOLD_PERCENT, "12.5");
        props.put(CloseUsersConfig.REMOVAL_HOLD_MIN, "0");
        props.put(CloseUsersConfig.REMOVAL_RELEASE, "  3-880553fca8fc ");
        props.put(CloseUsersConfig.HEARTBEAT_TOPIC, "beats");
        CloseUsersConfig config = new CloseUsersConfig(props);
        assertFalse(config.removalRecord());
        assertTrue(config.removalTombstone());
        assertEquals(12.5, config.removalHoldPercent());
        assertEquals(0, config.removalHoldMin());
        assertEquals("3-880553fca8fc", config.removalRelease(), "blanks around a pasted token are dropped");
        assertEquals("beats", config.heartbeatTopic());
        props.put(CloseUsersConfig.REMOVAL_OUTPUT, "record");
        assertTrue(new CloseUsersConfig(props).removalRecord());
        assertFalse(new CloseUsersConfig(props).removalTombstone());
        props.put(CloseUsersConfig.REMOVAL_OUTPUT, "");
        assertFalse(new CloseUsersConfig(props).removalRecord());
        assertFalse(new CloseUsersConfig(props).removalTombstone());
    }

    @Test
    void removalOutputListsEachKnownValueAtMostOnce() {
        Map<String, String> props = valid();
        props.put(CloseUsersConfig.REMOVAL_OUTPUT, "tombstone,record");
        assertEquals(List.of(), errorsFor(props, CloseUsersConfig.REMOVAL_OUTPUT));
        props.put(CloseUsersConfig.REMOVAL_OUTPUT, "record,delete");
        assertTrue(errorsFor(props, CloseUsersConfig.REMOVAL_OUTPUT).toString().contains("not 'delete'"),
                errorsFor(props, CloseUsersConfig.REMOVAL_OUTPUT).toString());
        props.put(CloseUsersConfig.REMOVAL_OUTPUT, "record,record");
        assertTrue(errorsFor(props, CloseUsersConfig.REMOVAL_OUTPUT).toString().contains("names 'record' twice"),
                errorsFor(props, CloseUsersConfig.REMOVAL_OUTPUT).toString());
        assertEquals("record,tombstone; tombstone; record; or empty",
                CloseUsersConfig.CONFIG_DEF.configKeys().get(CloseUsersConfig.REMOVAL_OUTPUT).validator.toString());
    }

    @Test
    void theHeartbeatTopicCannotBeTheUserTopic() {
        Map<String, String> props = valid();
        props.put(CloseUsersConfig.HEARTBEAT_TOPIC, "close.users");
        ConfigException e = assertThrows(ConfigException.class, () -> new CloseUsersConfig(props));
        assertTrue(e.getMessage().startsWith("heartbeat.topic (close.users) must differ from topic"), e.getMessage());
        assertEquals(Map.of(), CloseUsersConfig.topicProblems(null, "close.users"), "a topic that failed to parse");
    }

    @Test
    void anUnresolvedReferenceNamesTheProviderAndWhatToCheck() {
        assertEquals(null, CloseUsersConfig.unresolvedReference("k", null));
        assertEquals(null, CloseUsersConfig.unresolvedReference("k", "api_plain"));
        String env = CloseUsersConfig.unresolvedReference("close.api.key", "${env:CLOSE_KEY}");
        assertTrue(env.startsWith("close.api.key still holds ${env:CLOSE_KEY}: the worker did not resolve this "
                + "reference to config provider 'env', variable 'CLOSE_KEY'."), env);
        assertTrue(env.contains("EnvVarConfigProvider") && env.contains("variable CLOSE_KEY is set"), env);
        String file = CloseUsersConfig.unresolvedReference("close.api.key", "${file:/etc/close.properties:key}");
        assertTrue(file.contains("config provider 'file', file '/etc/close.properties', key 'key'"), file);
        assertTrue(file.contains("FileConfigProvider") && file.contains("can read /etc/close.properties"), file);
        String vault = CloseUsersConfig.unresolvedReference("close.api.key", "${vault:secret/close:key}");
        assertTrue(vault.contains("config provider 'vault', path 'secret/close', key 'key'"), vault);
        assertTrue(vault.endsWith("that it holds secret/close:key."), vault);
        String bare = CloseUsersConfig.unresolvedReference("close.api.key", "${vault:key}");
        assertTrue(bare.contains("config provider 'vault', key 'key'") && bare.endsWith("that it holds key."), bare);
    }
}
