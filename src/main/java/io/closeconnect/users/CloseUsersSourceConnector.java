package io.closeconnect.users;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.ExactlyOnceSupport;
import org.apache.kafka.connect.source.SourceConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Streams the users of a Close account into a Kafka topic, with exactly one task. */
public class CloseUsersSourceConnector extends SourceConnector {

    private static final Logger log = LoggerFactory.getLogger(CloseUsersSourceConnector.class);

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

    @Override
    public ExactlyOnceSupport exactlyOnceSupport(Map<String, String> connectorConfig) {
        return ExactlyOnceSupport.SUPPORTED;
    }

    /**
     * Checks offsets written through the REST API ({@code PATCH} and {@code DELETE
     * /connectors/{name}/offsets}) before the worker stores them.
     *
     * <ul>
     *   <li>The partition must be this connector's: {@code {"close_api_url": <close.api.url>,
     *       "resource": "users"}}, with the URL the connector is configured with (offsets stored for
     *       any other URL would never be read). A {@code null} offset (a reset) is accepted for any
     *       users partition, so that offsets left by an earlier URL can be removed.</li>
     *   <li>The offset must have the shape {@link SweepState#fromMap} reads, which names the key
     *       that is wrong; REST integers arrive as {@code Long}. Keys left out take their initial
     *       values, so {@code {"watermark": "2024-01-31T00:00:00Z"}} alone replays every user
     *       updated after that moment.</li>
     *   <li>The watermark may not lie in the future: the connector would skip every update until then.</li>
     * </ul>
     *
     * @throws ConnectException saying which partition or offset key is wrong and why
     */
    @Override
    public boolean alterOffsets(Map<String, String> connectorConfig, Map<Map<String, ?>, Map<String, ?>> offsets) {
        String apiUrl = new CloseUsersConfig(connectorConfig).apiUrl();
        for (Map.Entry<Map<String, ?>, Map<String, ?>> entry : offsets.entrySet()) {
            Map<String, ?> partition = entry.getKey();
            checkPartition(partition);
            Map<String, ?> offset = entry.getValue();
            if (offset == null) {
                continue;
            }
            if (!apiUrl.equals(partition.get(SweepState.PARTITION_URL))) {
                throw new ConnectException("The source partition " + partition + " names the Close URL '"
                        + partition.get(SweepState.PARTITION_URL) + "', but this connector reads from '" + apiUrl
                        + "' (" + CloseUsersConfig.API_URL + "); offsets for another URL would never be used. "
                        + "Use the partition " + SweepState.partition(apiUrl));
            }
            SweepState state;
            try {
                state = SweepState.fromMap(offset);
            } catch (ConnectException e) {
                throw new ConnectException("The offset " + offset + " is not valid: " + e.getMessage(), e);
            }
            long nowMicros = Timestamps.toMicros(Instant.now());
            if (state.watermark() != null && state.watermark() > nowMicros) {
                throw new ConnectException("Offset key '" + SweepState.WATERMARK + "' is "
                        + Timestamps.format(state.watermark()) + ", which is in the future (now "
                        + Timestamps.format(nowMicros) + "); the connector would skip every update until then");
            }
        }
        return true;
    }

    private static void checkPartition(Map<String, ?> partition) {
        String expected = "it must be {\"" + SweepState.PARTITION_URL + "\": \"<close.api.url>\", \""
                + SweepState.PARTITION_RESOURCE + "\": \"" + SweepState.RESOURCE_USERS + "\"}";
        if (partition == null) {
            throw new ConnectException("A source partition is missing; " + expected);
        }
        for (String key : partition.keySet()) {
            if (!key.equals(SweepState.PARTITION_URL) && !key.equals(SweepState.PARTITION_RESOURCE)) {
                throw new ConnectException("The source partition " + partition + " has the unknown key '" + key
                        + "'; " + expected);
            }
        }
        if (!(partition.get(SweepState.PARTITION_URL) instanceof String)) {
            throw new ConnectException("The source partition " + partition + " needs the key '"
                    + SweepState.PARTITION_URL + "' as a string; " + expected);
        }
        if (!SweepState.RESOURCE_USERS.equals(partition.get(SweepState.PARTITION_RESOURCE))) {
            throw new ConnectException("The source partition " + partition + " needs '"
                    + SweepState.PARTITION_RESOURCE + "' to be \"" + SweepState.RESOURCE_USERS + "\"; " + expected);
        }
    }
}
