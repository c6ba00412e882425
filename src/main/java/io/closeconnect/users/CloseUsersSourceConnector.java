package io.closeconnect.users;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.ExactlyOnceSupport;
import org.apache.kafka.connect.source.SourceConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Streams the users of a Close account into a Kafka topic, with exactly one task. */
public class CloseUsersSourceConnector extends SourceConnector {

    private static final Logger log = LoggerFactory.getLogger(CloseUsersSourceConnector.class);
    /** The most {@link #validate} spends on its live check of the credentials. */
    static final Duration LIVE_CHECK_TIMEOUT = Duration.ofSeconds(8);

    private Map<String, String> props;
    private boolean warnedAboutTasks;

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        this.props = Map.copyOf(props);
        CloseUsersConfig config = new CloseUsersConfig(props);
        log.info("Starting the Close users connector {} against {}, writing to topic {}",
                Version.get(), config.apiUrl(), config.topic());
    }

    @Override
    public Class<? extends Task> taskClass() {
        return CloseUsersSourceTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        if (maxTasks > 1 && !warnedAboutTasks) {
            warnedAboutTasks = true;
            log.info("tasks.max is {}, but the Close users connector always runs exactly one task: the user "
                    + "list is one paged sequence that only one reader can walk consistently", maxTasks);
        }
        return List.of(props);
    }

    @Override
    public void stop() {
    }

    @Override
    public ConfigDef config() {
        return CloseUsersConfig.CONFIG_DEF;
    }

    /**
     * The ConfigDef's checks, then the rules across keys, then a live {@code GET /api/v1/me/} with
     * the given credential (at most {@link #LIVE_CHECK_TIMEOUT} in all), when everything else is valid.
     * A 401, 402 or 403 is reported on the credential's key; an unreachable host, any other 4xx,
     * and a 2xx whose body is not a JSON object (a web page, not Close's API) on
     * {@value CloseUsersConfig#API_URL}. Every message names the status the server sent. Other
     * answers (5xx, 408, 429) say nothing about the settings and leave the config valid.
     */
    @Override
    public Config validate(Map<String, String> connectorConfigs) {
        Config result = super.validate(connectorConfigs);
        Map<String, ConfigValue> values = new HashMap<>();
        for (ConfigValue value : result.configValues()) {
            values.put(value.name(), value);
        }
        Map<String, String> problems = CloseUsersConfig.crossFieldProblems(
                key -> values.get(key) == null ? null : (Password) values.get(key).value(),
                (Long) valueOf(values, CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS),
                (Long) valueOf(values, CloseUsersConfig.RETRY_BACKOFF_MAX_MS));
        Object topic = valueOf(values, CloseUsersConfig.TOPIC);
        Object heartbeatTopic = valueOf(values, CloseUsersConfig.HEARTBEAT_TOPIC);
        problems.putAll(CloseUsersConfig.topicProblems((String) topic, (String) heartbeatTopic));
        problems.forEach((key, message) -> values.get(key).addErrorMessage(message));
        boolean valid = values.values().stream().allMatch(v -> v.errorMessages().isEmpty());
        if (valid) {
            liveCheck(new CloseUsersConfig(connectorConfigs), values);
        }
        return result;
    }

    private static Object valueOf(Map<String, ConfigValue> values, String key) {
        ConfigValue value = values.get(key);
        return value == null || !value.errorMessages().isEmpty() ? null : value.value();
    }

    private static void liveCheck(CloseUsersConfig config, Map<String, ConfigValue> values) {
        CloseApiClient.AccessCheck check = CloseApiClient.checkAccess(config, LIVE_CHECK_TIMEOUT);
        String url = config.apiUrl();
        String credential = config.credentialKey();
        int status = check.status();
        String said = check.detail().isEmpty() ? "" : ": " + check.detail();
        String notClose = CloseUsersConfig.API_URL + " does not point at the Close API. Set it to "
                + CloseUsersConfig.DEFAULT_API_URL + " (without /api/v1), or to your proxy of it.";
        ConfigValue urlValue = values.get(CloseUsersConfig.API_URL);
        if (status >= 200 && status < 300) {
            if (!check.jsonObject()) {
                urlValue.addErrorMessage("GET " + url + "/api/v1/me/ answered " + status + " with " + check.detail()
                        + ", where Close answers a JSON object: " + notClose);
            }
        } else if (status == 0) {
            urlValue.addErrorMessage("Could not reach Close at " + url + " (" + check.detail() + "). Check "
                    + CloseUsersConfig.API_URL + " and the network.");
        } else if (status == 401) {
            values.get(credential).addErrorMessage("Close rejected " + credential + " (" + status + said
                    + "): check " + credential + ".");
        } else if (status == 402 || status == 403) {
            values.get(credential).addErrorMessage("Close refused access with " + credential + " (" + status + said
                    + "): the account's plan or the user's permissions do not allow API access.");
        } else if (status >= 300 && status < 500 && status != 408 && status != 429) {
            urlValue.addErrorMessage("GET " + url + "/api/v1/me/ answered " + status + said + ": " + notClose);
        } else {
            log.warn("Could not confirm the Close credentials: GET {}/api/v1/me/ answered {}{}; accepting "
                    + "the configuration", url, status, said);
        }
    }

    @Override
    public ExactlyOnceSupport exactlyOnceSupport(Map<String, String> connectorConfig) {
        return ExactlyOnceSupport.SUPPORTED;
    }

    /**
     * Checks offsets written through the REST API ({@code PATCH} and {@code DELETE
     * /connectors/{name}/offsets}) before the worker stores them.
     *
     * <ul>
     *   <li>The partition must be one of this connector's: the sweep's {@code {"close_api_url":
     *       <close.api.url>, "resource": "users"}}, or a ledger shard's {@code {"close_api_url": ...,
     *       "resource": "users.announced", "shard": "00".."63"}}, with the URL the connector is
     *       configured with (offsets stored for any other URL would never be read). A {@code null}
     *       offset (a reset) is accepted for any of these partitions, whatever the URL, so that
     *       offsets left by an earlier URL can be removed.</li>
     *   <li>The offset must have the shape {@link SweepState#fromMap} or {@link UserLedger#decode}
     *       reads, which name the key that is wrong; REST integers arrive as {@code Long}. Keys left
     *       out of the sweep's offset take their initial values, so {@code {"watermark":
     *       "2024-01-31T00:00:00Z"}} alone replays every user updated after that moment.</li>
     *   <li>No timestamp may lie in the future: the connector would skip updates until then.</li>
     * </ul>
     *
     * @throws ConnectException saying which partition or offset key is wrong and why
     */
    @Override
    public boolean alterOffsets(Map<String, String> connectorConfig, Map<Map<String, ?>, Map<String, ?>> offsets) {
        String apiUrl = new CloseUsersConfig(connectorConfig).apiUrl();
        for (Map.Entry<Map<String, ?>, Map<String, ?>> entry : offsets.entrySet()) {
            Map<String, ?> partition = entry.getKey();
            int shard = checkPartition(partition);
            Map<String, ?> offset = entry.getValue();
            if (offset == null) {
                continue;
            }
            if (!apiUrl.equals(partition.get(SweepState.PARTITION_URL))) {
                throw new ConnectException("The source partition " + partition + " names the Close URL '"
                        + partition.get(SweepState.PARTITION_URL) + "', but this connector reads from '" + apiUrl
                        + "' (" + CloseUsersConfig.API_URL + "); offsets for another URL would never be used. "
                        + "Use the partition " + (shard < 0 ? SweepState.partition(apiUrl)
                                : UserLedger.partition(apiUrl, shard)));
            }
            long nowMicros = Timestamps.toMicros(Instant.now());
            if (shard >= 0) {
                Map<String, UserLedger.Version> entries;
                try {
                    entries = UserLedger.decode(offset, shard);
                } catch (ConnectException e) {
                    throw new ConnectException("The offset " + offset + " is not valid: " + e.getMessage(), e);
                }
                if (offset.containsKey(UserLedger.BUILDING)) {
                    throw new ConnectException("The offset of ledger shard " + UserLedger.shardName(shard) + " has '"
                            + UserLedger.BUILDING + "', which the task alone writes while it builds the ledger from an "
                            + "earlier version's offsets; leave it out");
                }
                for (UserLedger.Version version : entries.values()) {
                    if (version.state() != UserLedger.State.REMOVED) {
                        refuseFuture(UserLedger.ANNOUNCED, version.micros(), nowMicros);
                    }
                }
                continue;
            }
            SweepState state;
            try {
                state = SweepState.fromMap(offset);
            } catch (ConnectException e) {
                throw new ConnectException("The offset " + offset + " is not valid: " + e.getMessage(), e);
            }
            if (state.ledger() == SweepState.LedgerStatus.BUILDING) {
                throw new ConnectException("Offset key '" + SweepState.LEDGER + "' = 'building' is written by the "
                        + "task alone, while it builds the ledger from an earlier version's offsets; by hand it would "
                        + "count users never emitted as announced. Leave '" + SweepState.LEDGER + "' out (a replay "
                        + "after the watermark) or copy a 'complete' offset the task wrote.");
            }
            refuseFuture(SweepState.WATERMARK, state.watermark(), nowMicros);
            // sweep_started becomes the watermark, and a recent entry hides its user until that time.
            refuseFuture(SweepState.SWEEP_STARTED, state.sweepStarted(), nowMicros);
            for (Map.Entry<String, Long> recent : state.recent().entrySet()) {
                refuseFuture(SweepState.RECENT, recent.getValue(), nowMicros);
            }
            for (SweepState.Version anchor : state.anchors()) {
                refuseFuture(SweepState.ANCHORS, anchor.micros(), nowMicros);
            }
        }
        return true;
    }

    /** A timestamp after now in an operator's offset would make the connector skip updates until then. */
    private static void refuseFuture(String key, Long micros, long nowMicros) {
        if (micros != null && micros > nowMicros) {
            throw new ConnectException("Offset key '" + key + "' holds " + Timestamps.format(micros)
                    + ", which is in the future (now " + Timestamps.format(nowMicros)
                    + "); the connector would skip updates until then");
        }
    }

    /**
     * Checks that a partition is the sweep's or a ledger shard's.
     *
     * @return the shard, or -1 for the sweep's partition
     */
    private static int checkPartition(Map<String, ?> partition) {
        String expected = "it must be {\"" + SweepState.PARTITION_URL + "\": \"<close.api.url>\", \""
                + SweepState.PARTITION_RESOURCE + "\": \"" + SweepState.RESOURCE_USERS + "\"} (the sweep) or {\""
                + SweepState.PARTITION_URL + "\": \"<close.api.url>\", \"" + SweepState.PARTITION_RESOURCE
                + "\": \"" + UserLedger.RESOURCE + "\", \"" + UserLedger.PARTITION_SHARD + "\": \"00\"..\""
                + UserLedger.shardName(UserLedger.SHARDS - 1) + "\"} (a shard of the ledger of announced users)";
        if (partition == null) {
            throw new ConnectException("A source partition is missing; " + expected);
        }
        Object resource = partition.get(SweepState.PARTITION_RESOURCE);
        boolean ledger = UserLedger.RESOURCE.equals(resource);
        for (String key : partition.keySet()) {
            boolean known = key.equals(SweepState.PARTITION_URL) || key.equals(SweepState.PARTITION_RESOURCE)
                    || (ledger && key.equals(UserLedger.PARTITION_SHARD));
            if (!known) {
                throw new ConnectException("The source partition " + partition + " has the unknown key '" + key
                        + "'; " + expected);
            }
        }
        if (!(partition.get(SweepState.PARTITION_URL) instanceof String)) {
            throw new ConnectException("The source partition " + partition + " needs the key '"
                    + SweepState.PARTITION_URL + "' as a string; " + expected);
        }
        if (!ledger && !SweepState.RESOURCE_USERS.equals(resource)) {
            throw new ConnectException("The source partition " + partition + " needs '"
                    + SweepState.PARTITION_RESOURCE + "' to be \"" + SweepState.RESOURCE_USERS + "\" or \""
                    + UserLedger.RESOURCE + "\"; " + expected);
        }
        if (!ledger) {
            return -1;
        }
        Object shard = partition.get(UserLedger.PARTITION_SHARD);
        for (int s = 0; s < UserLedger.SHARDS; s++) {
            if (UserLedger.shardName(s).equals(shard)) {
                return s;
            }
        }
        throw new ConnectException("The source partition " + partition + " needs '" + UserLedger.PARTITION_SHARD
                + "' to be a string from \"00\" to \"" + UserLedger.shardName(UserLedger.SHARDS - 1) + "\"; "
                + expected);
    }
}
