package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Date;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

class HeartbeatsTest {

    @Test
    void aHeartbeatCarriesTheOffsetAndSaysWhereTheSweepIs() {
        Heartbeats heartbeats = new Heartbeats("close-heartbeats", "https://api.close.com/");
        Map<String, String> partition = SweepState.partition("https://api.close.com/");
        Map<String, Object> offset = Map.of("skip", 42L);
        SweepState state = SweepState.fromMap(Map.of("skip", 42L, "sweep_started", "2024-05-01T10:00:00Z"));
        long now = 1_714_557_600_123L;
        SourceRecord record = heartbeats.record(partition, offset, state, 7, now);
        assertEquals(partition, record.sourcePartition());
        assertEquals(offset, record.sourceOffset());
        assertEquals("close-heartbeats", record.topic());
        assertNull(record.kafkaPartition());
        assertEquals("https://api.close.com/", record.key());
        assertEquals(Heartbeats.KEY_SCHEMA, record.keySchema());
        assertEquals(Heartbeats.VALUE_SCHEMA, record.valueSchema());
        assertEquals(now, record.timestamp());
        Struct value = (Struct) record.value();
        assertEquals(new Date(now), value.get("timestamp"));
        assertEquals(true, value.get("sweep_in_progress"));
        assertEquals(42L, value.get("skip"));
        assertEquals(7L, value.get("users_announced"));

        Struct idle = (Struct) heartbeats.record(partition, offset, SweepState.initial(), 0, now).value();
        assertEquals(false, idle.get("sweep_in_progress"));
        assertEquals(0L, idle.get("skip"));
    }
}
