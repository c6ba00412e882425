package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;

/**
 * Reads a topic of user records (string key, schemaless JSON value) from the start, as a
 * {@code read_committed} consumer: only records of committed transactions, or plain records.
 * Besides user records it recognizes the two records of a removal: the removal record (the value
 * has {@code removed} true) and the tombstone (a null value).
 */
final class UserTopicReader implements AutoCloseable {

    /** What a record on the user topic is. */
    enum Kind { USER, REMOVAL, TOMBSTONE }

    /**
     * One record of the topic.
     *
     * @param updatedMillis   {@code date_updated} in millis, as the JSON converter writes it (for a
     *                        removal record: the version last announced); 0 for a tombstone
     * @param removedAtMillis {@code removed_at} of a removal record, else null
     * @param removalReason   {@code removal_reason} of a removal record, else null
     * @param organizations   the value's {@code organizations}, or null
     */
    record Delivered(Kind kind, String id, long updatedMillis, long offset, Long removedAtMillis, String removalReason,
                     List<String> organizations) {
        Version version() {
            return new Version(id, updatedMillis);
        }

        boolean isUser() {
            return kind == Kind.USER;
        }
    }

    /** A user version at millisecond precision, the precision of the record value. */
    record Version(String id, long updatedMillis) {
        static Version ofMicros(String id, long micros) {
            return new Version(id, Timestamps.toMillis(micros));
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String topic;
    private final List<Delivered> delivered = new ArrayList<>();

    UserTopicReader(EmbeddedKafkaCluster kafka, String topic) {
        this.topic = topic;
        consumer = kafka.createConsumerAndSubscribeTo(
                Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                        ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false"), topic);
    }

    /** Everything read so far, in topic order. */
    List<Delivered> delivered() {
        return List.copyOf(delivered);
    }

    /** Polls until {@code done} holds for everything read so far, or fails after the timeout. */
    List<Delivered> readUntil(Predicate<List<Delivered>> done, long timeoutMs, String what) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!done.test(delivered)) {
            if (System.currentTimeMillis() > deadline) {
                fail("Timed out after " + timeoutMs + " ms waiting for " + what + "; read " + delivered.size() + " records");
            }
            pollOnce(Duration.ofMillis(200));
        }
        return delivered();
    }

    /** Reads for this long, whatever arrives. */
    List<Delivered> readFor(long millis) {
        long until = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < until) {
            pollOnce(Duration.ofMillis(200));
        }
        return delivered();
    }

    /**
     * Reads up to the end of the topic as it is now: for a {@code read_committed} consumer, up to
     * the last stable offset, past which only transactions still open lie.
     */
    List<Delivered> readToEnd(long timeoutMs) {
        List<TopicPartition> partitions = new ArrayList<>();
        consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        return readUntil(ignored -> consumer.assignment().containsAll(end.keySet())
                        && end.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue()),
                timeoutMs, "the end of " + topic + " at " + end);
    }

    private void pollOnce(Duration timeout) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(timeout)) {
            String key = new String(record.key(), StandardCharsets.UTF_8);
            if (record.value() == null) {
                delivered.add(new Delivered(Kind.TOMBSTONE, key, 0, record.offset(), null, null, null));
                continue;
            }
            try {
                JsonNode value = JSON.readTree(record.value());
                if (!key.equals(value.get("id").asText())) {
                    fail("record key " + key + " differs from the value's id " + value.get("id"));
                }
                boolean removed = value.path(UserRecordMapper.REMOVED).asBoolean(false);
                JsonNode removedAt = value.get(UserRecordMapper.REMOVED_AT);
                JsonNode reason = value.get(UserRecordMapper.REMOVAL_REASON);
                List<String> organizations = null;
                if (value.hasNonNull(UserRecordMapper.ORGANIZATIONS)) {
                    organizations = new ArrayList<>();
                    for (JsonNode organization : value.get(UserRecordMapper.ORGANIZATIONS)) {
                        organizations.add(organization.asText());
                    }
                }
                delivered.add(new Delivered(removed ? Kind.REMOVAL : Kind.USER, key,
                        value.get("date_updated").asLong(), record.offset(),
                        removedAt == null || removedAt.isNull() ? null : removedAt.asLong(),
                        reason == null || reason.isNull() ? null : reason.asText(), organizations));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The user versions delivered more than once, with how many times; removal records and tombstones aside. */
    static Map<Version, Integer> duplicates(List<Delivered> records) {
        Map<Version, Integer> counts = new HashMap<>();
        for (Delivered record : records) {
            if (record.isUser()) {
                counts.merge(record.version(), 1, Integer::sum);
            }
        }
        counts.values().removeIf(count -> count == 1);
        return counts;
    }

    /**
     * The topic read as a table, as a compacted topic keeps it: the latest record of each key, where
     * a tombstone deletes the key and so does a removal record (the user is gone). User id to
     * {@code date_updated} millis, sorted by id.
     */
    static Map<String, Long> table(List<Delivered> records) {
        Map<String, Long> table = new TreeMap<>();
        for (Delivered record : records) {
            if (record.isUser()) {
                table.put(record.id(), record.updatedMillis());
            } else {
                table.remove(record.id());
            }
        }
        return table;
    }

    /** The live users of a fake, id to micros, as {@link #table} shows them: id to millis, sorted by id. */
    static Map<String, Long> tableOf(Map<String, Long> versionsMicros) {
        Map<String, Long> table = new TreeMap<>();
        versionsMicros.forEach((id, micros) -> table.put(id, Timestamps.toMillis(micros)));
        return table;
    }

    /** What differs between two tables, in words, for a failure message: missing, extra and stale ids. */
    static String difference(Map<String, Long> expected, Map<String, Long> actual) {
        Map<String, String> problems = new LinkedHashMap<>();
        for (Map.Entry<String, Long> entry : expected.entrySet()) {
            Long got = actual.get(entry.getKey());
            if (got == null) {
                problems.put(entry.getKey(), "missing (want " + entry.getValue() + ")");
            } else if (!got.equals(entry.getValue())) {
                problems.put(entry.getKey(), "at " + got + " (want " + entry.getValue() + ")");
            }
        }
        for (String id : actual.keySet()) {
            if (!expected.containsKey(id)) {
                problems.put(id, "extra (at " + actual.get(id) + ")");
            }
        }
        return problems.size() + " of " + expected.size() + " users differ: " + problems;
    }

    /** The last record of each of these ids, or none. */
    static Map<String, Delivered> lastOf(List<Delivered> records, Set<String> ids) {
        Map<String, Delivered> last = new HashMap<>();
        for (Delivered record : records) {
            if (ids.contains(record.id())) {
                last.put(record.id(), record);
            }
        }
        return last;
    }

    @Override
    public void close() {
        consumer.close();
    }
}
