package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

/**
 * When a batch counts as stored: every record of it and of the batches before acknowledged, seen at
 * the start of a poll, made committable by the next poll, and two offset commits later; at once
 * with exactly-once required.
 */
class DeliveryTrackerTest {

    private static SourceRecord record(String key) {
        return new SourceRecord(Map.of("p", key), Map.of("o", key), "t", null, key);
    }

    @Test
    void aBatchIsStoredOnlyAfterItsRecordsAreAcknowledgedAndTwoCommitsFollowedAPoll() {
        DeliveryTracker tracker = new DeliveryTracker(false);
        assertTrue(tracker.stored(0), "batch 0: what was restored");
        tracker.polling();
        assertTrue(tracker.nextBatch() == 1);
        SourceRecord a = record("a");
        SourceRecord b = record("b");
        tracker.returned(List.of(a, b));
        tracker.committed();
        tracker.committed();
        assertFalse(tracker.stored(1), "nothing acknowledged yet");
        tracker.acknowledged(a);
        tracker.polling();
        tracker.polling();
        tracker.committed();
        tracker.committed();
        assertFalse(tracker.stored(1), "one record of the batch is still in flight");
        tracker.acknowledged(b);
        tracker.committed();
        tracker.committed();
        assertFalse(tracker.stored(1), "acknowledged, but no poll has begun since: the worker has not moved it yet");
        tracker.polling(); // sees the acknowledgement
        tracker.committed();
        tracker.committed();
        assertFalse(tracker.stored(1), "seen at a poll's start, committable only from the next poll on");
        tracker.polling(); // the worker moved it into its next commit before this poll
        tracker.committed(); // a commit that may have begun before
        assertFalse(tracker.stored(1));
        tracker.committed(); // began after the previous one ended: it holds the batch
        assertTrue(tracker.stored(1));
        assertFalse(tracker.stored(2));
    }

    @Test
    void batchesAreStoredInOrderEvenWhenAcknowledgedOutOfOrder() {
        DeliveryTracker tracker = new DeliveryTracker(false);
        SourceRecord first = record("first");
        SourceRecord second = record("second");
        tracker.polling();
        tracker.returned(List.of(first));
        tracker.polling();
        tracker.returned(List.of(second));
        tracker.acknowledged(second);
        for (int i = 0; i < 3; i++) {
            tracker.polling();
            tracker.committed();
        }
        assertFalse(tracker.stored(2), "batch 1 is still in flight, so batch 2's offsets cannot be committed");
        tracker.acknowledged(first);
        tracker.acknowledged(first); // a second report changes nothing
        for (int i = 0; i < 3; i++) {
            tracker.polling();
            tracker.committed();
        }
        assertTrue(tracker.stored(2));
    }

    @Test
    void equalRecordsOfOneBatchAreCountedOneByOne() {
        DeliveryTracker tracker = new DeliveryTracker(false);
        SourceRecord one = record("same");
        SourceRecord two = record("same");
        tracker.polling();
        tracker.returned(List.of(one, two));
        tracker.acknowledged(one);
        for (int i = 0; i < 3; i++) {
            tracker.polling();
            tracker.committed();
        }
        assertFalse(tracker.stored(1), "an equal record is not the same record");
        tracker.acknowledged(two);
        for (int i = 0; i < 3; i++) {
            tracker.polling();
            tracker.committed();
        }
        assertTrue(tracker.stored(1));
    }

    @Test
    void withExactlyOnceRequiredEveryBatchCountsAsStored() {
        DeliveryTracker tracker = new DeliveryTracker(true);
        assertTrue(tracker.stored(tracker.nextBatch()), "a batch and its offsets commit together or not at all");
    }
    @Test
    void aBatchReturnedAfterEveryEarlierOneIsAcknowledgedWaitsForItsOwnRecords() {
        DeliveryTracker tracker = new DeliveryTracker(false);
        SourceRecord a = record("a");
        tracker.polling();
        tracker.returned(List.of(a));
        assertEquals(2, tracker.nextBatch(), "the records built now go out in the second batch");
        tracker.acknowledged(a);
        tracker.acknowledged(record("never returned")); // a record of no batch (a restart's leftover) is ignored
        tracker.polling();
        tracker.returned(List.of(record("b")));
        assertEquals(3, tracker.nextBatch());
        for (int i = 0; i < 3; i++) {
            tracker.polling();
            tracker.committed();
        }
        assertTrue(tracker.stored(1));
        assertFalse(tracker.stored(2), "batch 2's record is still in flight");
        assertFalse(tracker.stored(3));
    }
}
