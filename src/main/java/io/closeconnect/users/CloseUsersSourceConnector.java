package io.closeconnect.users;

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
     * Checks offsets written through the REST API: the partition must be this connector's users
     * partition, and the offset must have the shape {@link SweepState#fromMap} reads. A {@code null}
     * offset resets the partition, and the next start takes a full snapshot.
     */
    @Override
    public boolean alterOffsets(Map<String, String> connectorConfig, Map<Map<String, ?>, Map<String, ?>> offsets) {
        for (Map.Entry<Map<String, ?>, Map<String, ?>> entry : offsets.entrySet()) {
            Map<String, ?> partition = entry.getKey();
            if (partition == null || !(partition.get(SweepState.PARTITION_URL) instanceof String)
                    || !SweepState.RESOURCE_USERS.equals(partition.get(SweepState.PARTITION_RESOURCE))
                    || partition.size() != 2) {
                throw new ConnectException("The source partition " + partition + " is not this connector's: it must be {\""
                        + SweepState.PARTITION_URL + "\": \"<close.api.url>\", \"" + SweepState.PARTITION_RESOURCE
                        + "\": \"" + SweepState.RESOURCE_USERS + "\"}");
            }
            if (entry.getValue() != null) {
                SweepState.fromMap(entry.getValue());
            }
        }
        return true;
    }
}
