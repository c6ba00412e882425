package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;

/**
 * Reads a topic of user records (string key, schemaless JSON value) from the start, as a
 * {@code read_committed} consumer: only records of committed transactions, or plain records.
 */
final class UserTopicReader implements AutoCloseable {

    /** One delivered version of one user; {@code date_updated} in millis, as the JSON converter writes it. */
    record Delivered(String id, long updatedMillis, long offset) {
        Version version() {
            return new Version(id, updatedMillis);
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
    private final List<Delivered> delivered = new ArrayList<>();

    UserTopicReader(EmbeddedKafkaCluster kafka, String topic) {
        consumer = kafka.createConsumerAndSubscribeTo(
                Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), topic);
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

    private void pollOnce(Duration timeout) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(timeout)) {
            String key = new String(record.key(), StandardCharsets.UTF_8);
            try {
                JsonNode value = JSON.readTree(record.value());
                if (!key.equals(value.get("id").asText())) {
                    fail("record key " + key + " differs from the value's id " + value.get("id"));
                }
                delivered.add(new Delivered(key, value.get("date_updated").asLong(), record.offset()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The versions delivered more than once, with how many times. */
    static Map<Version, Integer> duplicates(List<Delivered> records) {
        Map<Version, Integer> counts = new HashMap<>();
        for (Delivered record : records) {
            counts.merge(record.version(), 1, Integer::sum);
        }
        counts.values().removeIf(count -> count == 1);
        return counts;
    }

    @Override
    public void close() {
        consumer.close();
    }
}
