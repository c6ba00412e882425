package io.closeconnect.users;

/**
 * When the records the task returned, with their offsets, are stored for good. A change of
 * membership (a user's first record, a removal) is first written to the ledger as an intent, and
 * its records wait until the poll batch that carried the intent is stored: then no crash can leave
 * the topic holding what the ledger does not count (see {@link UserLedger}).
 */
interface Delivery {

    /** Every batch is stored as soon as it is returned: for in-process tests and benchmarks. */
    Delivery IMMEDIATE = new Delivery() {
        @Override
        public long nextBatch() {
            return 0;
        }

        @Override
        public boolean stored(long batch) {
            return true;
        }
    };

    /** The number of the poll batch that will carry the records being built now (batches count from 1). */
    long nextBatch();

    /** Whether batch {@code batch} and every one before it are stored with their offsets; batch 0 always is. */
    boolean stored(long batch);
}
