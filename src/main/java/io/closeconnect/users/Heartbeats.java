package io.closeconnect.users;

import java.util.Date;
import java.util.Map;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * The records on {@code heartbeat.topic}, after Debezium's heartbeat topic: they exist to carry
 * offsets that no user record can. The sweep's position moves after every page, and ledger shards
 * change without a user record of their own; a heartbeat after each step stores them, so that a
 * quiet account's offsets advance too. Their key is the Close URL (so a compacted topic keeps one per
 * connector URL), their value a small {@code Heartbeat} struct for whoever watches the topic.
 */
final class Heartbeats {

    public static final String VALUE_SCHEMA_NAME = "io.closeconnect.users.Heartbeat";

    static final Schema KEY_SCHEMA = SchemaBuilder.string().doc("The Close API URL the connector reads.").build();
    static final Schema VALUE_SCHEMA = SchemaBuilder.struct()
            .name(VALUE_SCHEMA_NAME)
            .version(1)
            .doc("A heartbeat of the Close users connector: it carries the connector's offsets.")
            .field("timestamp", Timestamp.builder().doc("When the task wrote it.").build())
            .field("sweep_in_progress", Schema.BOOLEAN_SCHEMA)
            .field("skip", SchemaBuilder.int64().doc("The walk's position in the list.").build())
            .field("users_announced", SchemaBuilder.int64()
                    .doc("How many users the topic announces (emitted and not removed since).").build())
            .build();

    private final String topic;
    private final String apiUrl;

    Heartbeats(String topic, String apiUrl) {
        this.topic = topic;
        this.apiUrl = apiUrl;
    }

    /** A heartbeat that stores {@code offset} for {@code partition}. */
    SourceRecord record(Map<String, ?> partition, Map<String, ?> offset, SweepState state, int announced,
                        long nowMillis) {
        Struct value = new Struct(VALUE_SCHEMA)
                .put("timestamp", new Date(nowMillis))
                .put("sweep_in_progress", state.sweepInProgress())
                .put("skip", state.skip())
                .put("users_announced", (long) announced);
        return new SourceRecord(partition, offset, topic, null, KEY_SCHEMA, apiUrl, VALUE_SCHEMA, value, nowMillis);
    }
}
