package io.closeconnect.users;

import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.Width;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/** Every configuration key of the connector, with its validation and documentation. */
public final class CloseUsersConfig extends AbstractConfig {

    public static final String API_KEY = "close.api.key";
    public static final String API_URL = "close.api.url";
    public static final String TOPIC = "topic";
    public static final String POLL_INTERVAL_MS = "poll.interval.ms";
    public static final String PAGE_SIZE = "page.size";
    public static final String ORDER_BY = "close.users.order.by";
    public static final String HTTP_TIMEOUT_MS = "http.timeout.ms";
    public static final String WATERMARK_LAG_MS = "watermark.lag.ms";
    public static final String RETRY_BACKOFF_INITIAL_MS = "retry.backoff.initial.ms";
    public static final String RETRY_BACKOFF_MAX_MS = "retry.backoff.max.ms";
    public static final String RETRY_MAX_ELAPSED_MS = "retry.max.elapsed.ms";

    public static final String DEFAULT_API_URL = "https://api.close.com";
    public static final List<String> ORDER_BY_VALUES = List.of("", "last_name,first_name", "first_name,last_name");

    private static final String GROUP_CONNECTION = "Close connection";
    private static final String GROUP_OUTPUT = "Output";
    private static final String GROUP_SYNC = "Sync";
    private static final String GROUP_RETRY = "Retries";

    public static final ConfigDef CONFIG_DEF = buildConfigDef();

    public CloseUsersConfig(Map<?, ?> originals) {
        super(CONFIG_DEF, originals);
    }

    private static ConfigDef buildConfigDef() {
        ConfigDef def = new ConfigDef();
        int order = 0;
        def.define(API_KEY, Type.PASSWORD, ConfigDef.NO_DEFAULT_VALUE, new NonBlankPassword(), Importance.HIGH,
                "The Close API key. It is sent as the user name of HTTP Basic authentication, with an empty "
                        + "password. Use a config provider such as ${env:CLOSE_API_KEY} to keep it out of the "
                        + "config topic.",
                GROUP_CONNECTION, ++order, Width.LONG, "Close API key");
        def.define(API_URL, Type.STRING, DEFAULT_API_URL, new ApiUrlValidator(), Importance.MEDIUM,
                "The base URL of the Close API, without the /api/v1 path.",
                GROUP_CONNECTION, ++order, Width.LONG, "Close API URL");
        def.define(HTTP_TIMEOUT_MS, Type.INT, 30_000, Range.between(1_000, 600_000), Importance.LOW,
                "The time limit for one HTTP request to Close, from connecting to reading the whole body, "
                        + "in milliseconds.",
                GROUP_CONNECTION, ++order, Width.SHORT, "HTTP timeout (ms)");

        order = 0;
        def.define(TOPIC, Type.STRING, "close.users", new TopicNameValidator(), Importance.HIGH,
                "The Kafka topic that receives one record per changed user, keyed by the user id.",
                GROUP_OUTPUT, ++order, Width.MEDIUM, "Topic");

        order = 0;
        def.define(POLL_INTERVAL_MS, Type.LONG, 60_000L, Range.between(0L, 86_400_000L), Importance.MEDIUM,
                "The pause between the end of one sweep over all users and the start of the next, in "
                        + "milliseconds.",
                GROUP_SYNC, ++order, Width.SHORT, "Poll interval (ms)");
        def.define(PAGE_SIZE, Type.INT, 100, Range.between(1, 1000), Importance.MEDIUM,
                "The number of users asked for per request (Close's _limit). Consecutive pages overlap by "
                        + "one user, which the sync uses to notice pages shifting under it; a page size of 1 "
                        + "is therefore requested as 2.",
                GROUP_SYNC, ++order, Width.SHORT, "Page size");
        def.define(ORDER_BY, Type.STRING, "", new OrderByValidator(), Importance.LOW,
                "The order Close lists users in (Close's _order_by). Empty means Close's default order.",
                GROUP_SYNC, ++order, Width.MEDIUM, "Order users by");
        def.define(WATERMARK_LAG_MS, Type.LONG, 10_000L, Range.between(0L, 3_600_000L), Importance.LOW,
                "How far the next sweep's watermark is set before the moment this sweep started, in "
                        + "milliseconds. It absorbs clock differences inside Close and edits that become visible "
                        + "after their date_updated. A larger value costs no duplicates, only a slightly larger "
                        + "offset.",
                GROUP_SYNC, ++order, Width.SHORT, "Watermark lag (ms)");

        order = 0;
        def.define(RETRY_BACKOFF_INITIAL_MS, Type.LONG, 1_000L, Range.between(1L, 3_600_000L), Importance.LOW,
                "The first wait after a failed request that is worth retrying (5xx, timeout, broken body), "
                        + "in milliseconds. Each further wait doubles, with full jitter.",
                GROUP_RETRY, ++order, Width.SHORT, "Initial backoff (ms)");
        def.define(RETRY_BACKOFF_MAX_MS, Type.LONG, 60_000L, Range.between(1L, 3_600_000L), Importance.LOW,
                "The longest single wait between two retries, in milliseconds.",
                GROUP_RETRY, ++order, Width.SHORT, "Maximum backoff (ms)");
        def.define(RETRY_MAX_ELAPSED_MS, Type.LONG, 900_000L, Range.between(0L, 86_400_000L), Importance.LOW,
                "How long one page may keep failing before the task fails, in milliseconds. Rate-limit "
                        + "waits (429) do not count against it.",
                GROUP_RETRY, ++order, Width.SHORT, "Retry budget (ms)");
        return def;
    }

    public Password apiKey() {
        return getPassword(API_KEY);
    }

    public String apiUrl() {
        return stripTrailingSlash(getString(API_URL));
    }

    public String topic() {
        return getString(TOPIC);
    }

    public long pollIntervalMs() {
        return getLong(POLL_INTERVAL_MS);
    }

    public int pageSize() {
        return getInt(PAGE_SIZE);
    }

    public String orderBy() {
        return getString(ORDER_BY);
    }

    public int httpTimeoutMs() {
        return getInt(HTTP_TIMEOUT_MS);
    }

    public long watermarkLagMs() {
        return getLong(WATERMARK_LAG_MS);
    }

    public long retryBackoffInitialMs() {
        return getLong(RETRY_BACKOFF_INITIAL_MS);
    }

    public long retryBackoffMaxMs() {
        return getLong(RETRY_BACKOFF_MAX_MS);
    }

    public long retryMaxElapsedMs() {
        return getLong(RETRY_MAX_ELAPSED_MS);
    }

    static String stripTrailingSlash(String url) {
        String trimmed = url.trim();
        while (trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        return trimmed;
    }

    /** The key must be present and not blank; the message never repeats the value. */
    static final class NonBlankPassword implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            if (value == null || ((Password) value).value().isBlank()) {
                throw new ConfigException(name + " must be set to a Close API key; it is empty.");
            }
        }

        @Override
        public String toString() {
            return "a non-empty Close API key";
        }
    }

    /** An absolute http(s) URL with a host. */
    static final class ApiUrlValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            String text = value == null ? "" : ((String) value).trim();
            java.net.URI uri;
            try {
                uri = new java.net.URI(text);
            } catch (java.net.URISyntaxException e) {
                throw new ConfigException(name, value, "must be a URL such as " + DEFAULT_API_URL);
            }
            String scheme = uri.getScheme();
            if (scheme == null || !(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null) {
                throw new ConfigException(name, value, "must be an http(s) URL with a host, such as " + DEFAULT_API_URL);
            }
            if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
                throw new ConfigException(name, value, "must not carry a query, fragment or credentials");
            }
        }

        @Override
        public String toString() {
            return "an http(s) URL such as " + DEFAULT_API_URL;
        }
    }

    /** Empty, or one of the two orders Close supports for users. */
    static final class OrderByValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            if (!ORDER_BY_VALUES.contains(value)) {
                throw new ConfigException(name, value, "must be empty (Close's default order), "
                        + "'last_name,first_name' or 'first_name,last_name'");
            }
        }

        @Override
        public String toString() {
            return "empty, last_name,first_name or first_name,last_name";
        }
    }

    /** Kafka's rules for a topic name: 1..249 characters from [a-zA-Z0-9._-], not "." or "..". */
    static final class TopicNameValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            String topic = value == null ? "" : (String) value;
            boolean legal = !topic.isEmpty() && topic.length() <= 249 && !topic.equals(".") && !topic.equals("..");
            for (int i = 0; legal && i < topic.length(); i++) {
                char c = topic.charAt(i);
                legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                        || c == '.' || c == '_' || c == '-';
            }
            if (!legal) {
                throw new ConfigException(name, value,
                        "must be a Kafka topic name: 1 to 249 characters from a-z, A-Z, 0-9, '.', '_' and '-'");
            }
        }

        @Override
        public String toString() {
            return "a Kafka topic name";
        }
    }
}
