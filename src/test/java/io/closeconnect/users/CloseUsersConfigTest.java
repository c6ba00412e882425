package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
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
    void acceptedOrders() {
        for (String order : List.of("", "last_name,first_name", "first_name,last_name")) {
            Map<String, String> props = valid();
            props.put(CloseUsersConfig.ORDER_BY, order);
            assertEquals(List.of(), errorsFor(props, CloseUsersConfig.ORDER_BY));
        }
    }
}
