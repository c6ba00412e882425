package io.closeconnect.users;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
    public static final String OAUTH_ACCESS_TOKEN = "close.oauth.access.token";
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
    public static final String RATE_LIMIT_MAX_RPS = "rate.limit.max.requests.per.second";
    public static final String HEARTBEAT_TOPIC = "heartbeat.topic";
    public static final String REMOVAL_OUTPUT = "removal.output";
    public static final String REMOVAL_HOLD_PERCENT = "removal.hold.threshold.percent";
    public static final String REMOVAL_HOLD_MIN = "removal.hold.threshold.min";
    public static final String REMOVAL_RELEASE = "removal.release";

    public static final String DEFAULT_HEARTBEAT_TOPIC = "__close-users-heartbeat";
    /** The values of {@value #REMOVAL_OUTPUT}: what a removal produces, in this order. */
    public static final String OUTPUT_RECORD = "record";
    public static final String OUTPUT_TOMBSTONE = "tombstone";

    public static final String DEFAULT_API_URL = "https://api.close.com";
    /** The largest page Close has been seen to serve for users; fetch() adapts when Close says less. */
    public static final int DEFAULT_PAGE_SIZE = 1000;
    public static final List<String> ORDER_BY_VALUES = List.of("", "last_name,first_name", "first_name,last_name");

    private static final String GROUP_CONNECTION = "Close connection";
    private static final String GROUP_OUTPUT = "Output";
    private static final String GROUP_SYNC = "Sync";
    private static final String GROUP_RETRY = "Retries";
    private static final String GROUP_REMOVALS = "Removals";

    /**
     * Kafka's syntax for a reference to a config provider, {@code ${provider:[path:]key}}, as its
     * {@code ConfigTransformer} matches it. The worker replaces a reference it can resolve; one it
     * cannot (an unknown provider, a variable or key that does not exist) reaches the connector as
     * it was written.
     */
    private static final Pattern REFERENCE = Pattern.compile("\\$\\{([^}]*?):(([^}]*?):)?([^}]*?)\\}");

    public static final ConfigDef CONFIG_DEF = buildConfigDef();

    public CloseUsersConfig(Map<?, ?> originals) {
        super(CONFIG_DEF, originals);
        Map<String, String> found = crossFieldProblems(this::getPassword, getLong(RETRY_BACKOFF_INITIAL_MS),
                getLong(RETRY_BACKOFF_MAX_MS));
        found.putAll(topicProblems(getString(TOPIC), getString(HEARTBEAT_TOPIC)));
        List<String> problems = found.values().stream().toList();
        if (!problems.isEmpty()) {
            throw new ConfigException(String.join(" ", problems));
        }
    }

    /**
     * The rules that involve more than one key, as key to message: exactly one of
     * {@value #API_KEY} and {@value #OAUTH_ACCESS_TOKEN}, and a maximum backoff no smaller than the
     * initial one. Messages never repeat a secret.
     */
    static Map<String, String> crossFieldProblems(java.util.function.Function<String, Password> passwords,
                                                  Long backoffInitialMs, Long backoffMaxMs) {
        Map<String, String> problems = new java.util.LinkedHashMap<>();
        boolean hasKey = passwords.apply(API_KEY) != null;
        boolean hasToken = passwords.apply(OAUTH_ACCESS_TOKEN) != null;
        if (hasKey == hasToken) {
            String message = (hasKey ? "Both " + API_KEY + " and " + OAUTH_ACCESS_TOKEN + " are set"
                    : "Neither " + API_KEY + " nor " + OAUTH_ACCESS_TOKEN + " is set") + "; set exactly one of them: "
                    + API_KEY + " for an API key, " + OAUTH_ACCESS_TOKEN + " for an OAuth access token.";
            problems.put(API_KEY, message);
            problems.put(OAUTH_ACCESS_TOKEN, message);
        }
        if (backoffInitialMs != null && backoffMaxMs != null && backoffMaxMs < backoffInitialMs) {
            problems.put(RETRY_BACKOFF_MAX_MS, RETRY_BACKOFF_MAX_MS + " (" + backoffMaxMs + ") must be at least "
                    + RETRY_BACKOFF_INITIAL_MS + " (" + backoffInitialMs + ").");
        }
        return problems;
    }

    /** The heartbeat topic must not be the user topic: its records are no users. Key to message. */
    static Map<String, String> topicProblems(String topic, String heartbeatTopic) {
        Map<String, String> problems = new java.util.LinkedHashMap<>();
        if (topic != null && topic.equals(heartbeatTopic)) {
            problems.put(HEARTBEAT_TOPIC, HEARTBEAT_TOPIC + " (" + heartbeatTopic + ") must differ from " + TOPIC
                    + ": it receives the connector's offset-carrying records, which are not users.");
        }
        return problems;
    }

    private static ConfigDef buildConfigDef() {
        ConfigDef def = new ConfigDef();
        int order = 0;
        def.define(API_KEY, Type.PASSWORD, null, new NonBlankPassword(), Importance.HIGH,
                "The Close API key. It is sent as the user name of HTTP Basic authentication, with an empty "
                        + "password. Set exactly one of " + API_KEY + " and " + OAUTH_ACCESS_TOKEN + ". Use a "
                        + "config provider such as ${env:CLOSE_API_KEY} to keep it out of the config topic.",
                GROUP_CONNECTION, ++order, Width.LONG, "Close API key");
        def.define(OAUTH_ACCESS_TOKEN, Type.PASSWORD, null, new NonBlankPassword(), Importance.HIGH,
                "A Close OAuth 2 access token, sent as 'Authorization: Bearer <token>', instead of an API key. "
                        + "Set exactly one of " + API_KEY + " and " + OAUTH_ACCESS_TOKEN + ". Close's access "
                        + "tokens expire after an hour and the connector does not refresh them: supply it "
                        + "through a config provider (${file:...}) that something else keeps fresh, and "
                        + "restart the task when it changes.",
                GROUP_CONNECTION, ++order, Width.LONG, "Close OAuth access token");
        def.define(API_URL, Type.STRING, DEFAULT_API_URL, new ApiUrlValidator(), Importance.MEDIUM,
                "The base URL of the Close API, without the /api/v1 path. It must use https; plain http is "
                        + "accepted only for loopback hosts (localhost, 127.0.0.0/8, ::1), for tests.",
                GROUP_CONNECTION, ++order, Width.LONG, "Close API URL");
        def.define(HTTP_TIMEOUT_MS, Type.INT, 30_000, Range.between(1_000, 600_000), Importance.LOW,
                "The time limit for one HTTP request to Close, from connecting to reading the whole body, "
                        + "in milliseconds.",
                GROUP_CONNECTION, ++order, Width.SHORT, "HTTP timeout (ms)");

        order = 0;
        def.define(TOPIC, Type.STRING, "close.users", new TopicNameValidator(), Importance.HIGH,
                "The Kafka topic that receives one record per changed user, keyed by the user id.",
                GROUP_OUTPUT, ++order, Width.MEDIUM, "Topic");
        def.define(HEARTBEAT_TOPIC, Type.STRING, DEFAULT_HEARTBEAT_TOPIC, new TopicNameValidator(), Importance.LOW,
                "The Kafka topic that receives the connector's heartbeat records: after every page read and every "
                        + "batch of removal checks, one small record (key: the Close URL) whose purpose is to store "
                        + "the sync's position and what it has announced in Connect's offsets, also when no user "
                        + "changed. It must differ from " + TOPIC + ". Create it compacted, as the user topic.",
                GROUP_OUTPUT, ++order, Width.MEDIUM, "Heartbeat topic");
        def.define(REMOVAL_OUTPUT, Type.LIST, OUTPUT_RECORD + "," + OUTPUT_TOMBSTONE, new RemovalOutputValidator(),
                Importance.MEDIUM,
                "What a user's removal from the Close organization produces on " + TOPIC + ", in this order: '"
                        + OUTPUT_RECORD + "' (a record with the user's key whose value has removed=true, "
                        + "removed_at and removal_reason) and 'tombstone' (the key with a null value, so that a "
                        + "compacted topic forgets the user). Lake sinks that drop null values need the record; "
                        + "compacted-topic readers need the tombstone. Empty: neither (removals are still tracked).",
                GROUP_OUTPUT, ++order, Width.MEDIUM, "Removal output");

        order = 0;
        def.define(POLL_INTERVAL_MS, Type.LONG, 60_000L, Range.between(0L, 86_400_000L), Importance.MEDIUM,
                "The pause between the end of one sweep over all users and the start of the next, in "
                        + "milliseconds.",
                GROUP_SYNC, ++order, Width.SHORT, "Poll interval (ms)");
        def.define(PAGE_SIZE, Type.INT, DEFAULT_PAGE_SIZE, Range.between(1, 1000), Importance.MEDIUM,
                "The number of users asked for per request (Close's _limit). Left unset, the connector asks "
                        + "for " + DEFAULT_PAGE_SIZE + ", and when Close answers that its maximum for users is "
                        + "lower (a 400 naming max_limit), it asks for that maximum for the rest of the task "
                        + "and logs it once at INFO. A page.size set above Close's maximum is lowered the same "
                        + "way, with one WARN, instead of failing the task. Consecutive pages overlap by at "
                        + "least one user (two under " + ORDER_BY + "), which the sync uses to notice pages "
                        + "shifting under it; a page size of 1 is therefore requested as 2.",
                GROUP_SYNC, ++order, Width.SHORT, "Page size");
        def.define(ORDER_BY, Type.STRING, "", new OrderByValidator(), Importance.LOW,
                "The order Close lists users in (Close's _order_by). Empty means Close's default order. "
                        + "Whitespace is ignored.",
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
                "How long one page may keep failing before the task fails, in milliseconds: the time "
                        + "from the first failure to the last retry. Rate-limit waits (429) do not count against "
                        + "it. 0 fails the task at the first failure.",
                GROUP_RETRY, ++order, Width.SHORT, "Retry budget (ms)");
        def.define(RATE_LIMIT_MAX_RPS, Type.DOUBLE, null, new OptionalRate(), Importance.LOW,
                "Optional cap on the connector's own request rate, in requests per second (fractions "
                        + "allowed, e.g. 0.5). The connector already paces itself from Close's RateLimit "
                        + "headers; set this to leave part of a shared key's budget to other integrations. "
                        + "Empty means no cap beyond Close's headers.",
                GROUP_RETRY, ++order, Width.SHORT, "Max requests per second");

        order = 0;
        def.define(REMOVAL_HOLD_PERCENT, Type.DOUBLE, 5.0, Range.between(0.0, 100.0), Importance.MEDIUM,
                "The safety valve against mass removal: a sweep that finds more announced users missing than this "
                        + "share of them (in percent), and more than " + REMOVAL_HOLD_MIN + ", holds every one of "
                        + "those removals: none is announced, an ERROR line says how many and how to release them, "
                        + "and the next sweeps check them again. A sweep that misses every announced user is held "
                        + "whatever " + REMOVAL_HOLD_MIN + " says. 100 turns the valve off.",
                GROUP_REMOVALS, ++order, Width.SHORT, "Hold removals above (%)");
        def.define(REMOVAL_HOLD_MIN, Type.INT, 10, Range.between(0, 1_000_000), Importance.MEDIUM,
                "The number of removals one sweep may always make, whatever " + REMOVAL_HOLD_PERCENT + " says, so "
                        + "that small accounts are not held for ordinary departures.",
                GROUP_REMOVALS, ++order, Width.SHORT, "Removals always allowed");
        def.define(REMOVAL_RELEASE, Type.STRING, "", Importance.LOW,
                "Releases one set of held removals: the token that the ERROR line of a held sweep names (such as "
                        + "93-5f2c1a9b0e7d). The next sweep whose missing users are exactly that set confirms each "
                        + "with Close and announces those removed; any other set is held as before.",
                GROUP_REMOVALS, ++order, Width.MEDIUM, "Release held removals");
        return def;
    }

    public String heartbeatTopic() {
        return getString(HEARTBEAT_TOPIC);
    }

    /** Whether a removal produces a removal record. */
    public boolean removalRecord() {
        return getList(REMOVAL_OUTPUT).contains(OUTPUT_RECORD);
    }

    /** Whether a removal produces a tombstone. */
    public boolean removalTombstone() {
        return getList(REMOVAL_OUTPUT).contains(OUTPUT_TOMBSTONE);
    }

    public double removalHoldPercent() {
        return getDouble(REMOVAL_HOLD_PERCENT);
    }

    public int removalHoldMin() {
        return getInt(REMOVAL_HOLD_MIN);
    }

    public String removalRelease() {
        return getString(REMOVAL_RELEASE).trim();
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

    /** Whether {@value #PAGE_SIZE} is in the connector config, rather than left to its default. */
    public boolean pageSizeSet() {
        return originals().containsKey(PAGE_SIZE);
    }

    /** {@value #ORDER_BY} without whitespace: " last_name, first_name " means last_name,first_name. */
    public String orderBy() {
        return withoutWhitespace(getString(ORDER_BY));
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

    /** The connector's own cap in requests per second, or 0 for none. */
    public double maxRequestsPerSecond() {
        Double max = getDouble(RATE_LIMIT_MAX_RPS);
        return max == null ? 0 : max;
    }

    /** The OAuth access token, or {@code null} when the API key is used. */
    public Password oauthAccessToken() {
        return getPassword(OAUTH_ACCESS_TOKEN);
    }

    /** The key of the credential in use: {@value #API_KEY} or {@value #OAUTH_ACCESS_TOKEN}. */
    public String credentialKey() {
        return apiKey() != null ? API_KEY : OAUTH_ACCESS_TOKEN;
    }

    static String withoutWhitespace(String value) {
        return value == null ? "" : value.replaceAll("\\s+", "");
    }


    /**
     * Why {@code value} of {@code name} is an unresolved config provider reference, naming the
     * provider and the variable or key to check; {@code null} when it holds none. The reference
     * itself is no secret (the config topic and the REST API show it), so it is quoted.
     */
    static String unresolvedReference(String name, String value) {
        Matcher reference = value == null ? null : REFERENCE.matcher(value);
        if (reference == null || !reference.find()) {
            return null;
        }
        String provider = reference.group(1);
        String path = reference.group(3);
        String key = reference.group(4);
        String declare = "the worker's properties declare the provider (config.providers=" + provider
                + " and config.providers." + provider + ".class=";
        String check;
        if (provider.equals("env")) {
            check = "config provider 'env', variable '" + key + "'. Check that " + declare
                    + "org.apache.kafka.common.config.provider.EnvVarConfigProvider) and that the variable " + key
                    + " is set in the worker's environment (names are case-sensitive).";
        } else if (provider.equals("file")) {
            check = "config provider 'file', file '" + path + "', key '" + key + "'. Check that " + declare
                    + "org.apache.kafka.common.config.provider.FileConfigProvider) and that the worker can read "
                    + path + " and it holds the key " + key + ".";
        } else {
            check = "config provider '" + provider + "'" + (path == null ? "" : ", path '" + path + "'") + ", key '"
                    + key + "'. Check that " + declare + "...) and that it holds " + (path == null ? "" : path + ":")
                    + key + ".";
        }
        return name + " still holds " + reference.group() + ": the worker did not resolve this reference to "
                + check;
    }

    static String stripTrailingSlash(String url) {
        String trimmed = url.trim();
        while (trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        return trimmed;
    }

    /** A secret may be absent (the other credential is used), but not blank; the message never repeats it. */
    static final class NonBlankPassword implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            String unresolved = value == null ? null : unresolvedReference(name, ((Password) value).value());
            if (unresolved != null) {
                throw new ConfigException(unresolved);
            }
            if (value != null && ((Password) value).value().isBlank()) {
                throw new ConfigException(name + " is blank; remove it or set it to a Close credential.");
            }
        }

        @Override
        public String toString() {
            return "a non-blank secret, or nothing";
        }
    }

    /** Absent, or a positive number of requests per second of at most 1000. */
    static final class OptionalRate implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            if (value == null) {
                return;
            }
            double rate = ((Number) value).doubleValue();
            if (!(rate >= 0.001 && rate <= 1000)) {
                throw new ConfigException(name, value, "must be between 0.001 and 1000 requests per second, or empty for no cap");
            }
        }

        @Override
        public String toString() {
            return "[0.001,...,1000], or empty";
        }
    }

    /** An absolute http(s) URL with a host. */
    static final class ApiUrlValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            String text = value == null ? "" : ((String) value).trim();
            String unresolved = unresolvedReference(name, text);
            if (unresolved != null) {
                throw new ConfigException(unresolved);
            }
            java.net.URI uri;
            try {
                uri = new java.net.URI(text);
            } catch (java.net.URISyntaxException e) {
                throw new ConfigException(name, value, "must be a URL such as " + DEFAULT_API_URL);
            }
            String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (scheme == null || !(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null) {
                throw new ConfigException(name, value, "must be an https URL with a host, such as " + DEFAULT_API_URL);
            }
            if (scheme.equals("http") && !isLoopback(uri.getHost())) {
                throw new ConfigException(name, value, "must use https: the credential would cross the network in "
                        + "clear text. Plain http is accepted only for loopback hosts (localhost, 127.0.0.0/8, ::1)");
            }
            if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
                throw new ConfigException(name, value, "must not carry a query, fragment or credentials");
            }
        }

        @Override
        public String toString() {
            return "an https URL such as " + DEFAULT_API_URL + " (http only for loopback hosts)";
        }

        /** localhost, 127.0.0.0/8 or ::1, from the literal host name alone (no DNS lookup). */
        static boolean isLoopback(String host) {
            String h = host.toLowerCase(java.util.Locale.ROOT);
            if (h.equals("localhost")) {
                return true;
            }
            boolean ipv4 = h.matches("\\d{1,3}(\\.\\d{1,3}){3}");
            boolean ipv6 = h.startsWith("[") && h.endsWith("]");
            if (!ipv4 && !ipv6) {
                return false;
            }
            try {
                return java.net.InetAddress.getByName(ipv6 ? h.substring(1, h.length() - 1) : h).isLoopbackAddress();
            } catch (java.net.UnknownHostException e) {
                return false;
            }
        }
    }

    /** Empty, or one of the two orders Close supports for users. */
    static final class OrderByValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            if (!(value instanceof String) || !ORDER_BY_VALUES.contains(withoutWhitespace((String) value))) {
                throw new ConfigException(name, value, "must be empty (Close's default order), "
                        + "'last_name,first_name' or 'first_name,last_name'");
            }
        }

        @Override
        public String toString() {
            return "empty, last_name,first_name or first_name,last_name";
        }
    }

    /** A subset of record and tombstone, each at most once. */
    static final class RemovalOutputValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            @SuppressWarnings("unchecked")
            List<String> parts = (List<String>) value;
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (String part : parts) {
                String p = part.trim();
                if (!p.equals(OUTPUT_RECORD) && !p.equals(OUTPUT_TOMBSTONE)) {
                    throw new ConfigException(name, value, "must list 'record', 'tombstone', both "
                            + "(record,tombstone) or neither (empty), not '" + part + "'");
                }
                if (!seen.add(p)) {
                    throw new ConfigException(name, value, "names '" + p + "' twice");
                }
            }
        }

        @Override
        public String toString() {
            return "record,tombstone; tombstone; record; or empty";
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
