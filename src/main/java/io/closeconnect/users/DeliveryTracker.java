package io.closeconnect.users;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;

/**
 * Follows what the worker did with the batches {@link CloseUsersSourceTask#poll()} returned, from
 * Connect's own callbacks, to tell when a batch's offsets are stored for good.
 *
 * <ul>
 *   <li>{@code commitRecord} reports each record once the producer acknowledged it (at-least-once),
 *       or once its transaction committed, offsets included (exactly-once).</li>
 *   <li>An at-least-once worker moves acknowledged offsets into its next commit at the start of each
 *       loop iteration, just before it calls {@code poll()}: acknowledgements seen when one poll
 *       starts are committable once the next poll starts.</li>
 *   <li>{@code commit()} runs after each successful offset commit, one at a time. What was
 *       committable when one commit ended is stored once the next commit ends.</li>
 * </ul>
 *
 * So a batch is stored once every record of it and of the batches before is acknowledged, then two
 * polls and two commits have passed. When the connector requires exactly-once delivery, a batch's
 * records and offsets are stored together in one transaction or not at all, so nothing has to wait
 * and every batch counts as stored. Thread-safe: the worker calls these methods from its task,
 * producer and committer threads.
 */
final class DeliveryTracker implements Delivery {

    private final boolean exactlyOnce;
    private final Map<SourceRecord, Long> batchOf = new IdentityHashMap<>();
    private final Map<Long, Integer> outstanding = new HashMap<>();
    private long returned;
    private long acknowledged;
    private long seenAtLastPoll;
    private long committable;
    private long committableAtLastCommit;
    private long stored;

    /** @param exactlyOnce whether the connector requires exactly-once delivery ({@code exactly.once.support=required}) */
    DeliveryTracker(boolean exactlyOnce) {
        this.exactlyOnce = exactlyOnce;
    }

    @Override
    public synchronized long nextBatch() {
        return returned + 1;
    }

    @Override
    public synchronized boolean stored(long batch) {
        // With exactly-once required, a batch and its offsets commit together or not at all: whatever
        // is built now is stored exactly when its records are, so nothing needs to wait.
        return exactlyOnce || batch <= stored;
    }

    /** A poll() begins: acknowledgements seen at the previous one are now in the worker's next commit. */
    synchronized void polling() {
        committable = seenAtLastPoll;
        seenAtLastPoll = acknowledged;
    }

    /** poll() returns this batch (at least one record). */
    synchronized void returned(List<SourceRecord> batch) {
        returned++;
        outstanding.put(returned, batch.size());
        for (SourceRecord record : batch) {
            batchOf.put(record, returned);
        }
    }

    /** The worker reports a record delivered (or dropped by a transformation, which also commits its offset). */
    synchronized void acknowledged(SourceRecord record) {
        Long batch = batchOf.remove(record);
        if (batch == null) {
            return;
        }
        if (outstanding.merge(batch, -1, Integer::sum) == 0) {
            outstanding.remove(batch);
        }
        while (acknowledged < returned && !outstanding.containsKey(acknowledged + 1)) {
            acknowledged++;
        }
    }

    /** The worker committed offsets. */
    synchronized void committed() {
        stored = Math.max(stored, committableAtLastCommit);
        committableAtLastCommit = committable;
    }
}
