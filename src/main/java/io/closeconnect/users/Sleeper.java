package io.closeconnect.users;

/**
 * Waits that end early when the task stops. Every backoff, rate-limit wait and idle pause of the
 * connector goes through one of these, so {@link #wakeUp()} from {@code stop()} ends them at once.
 */
public final class Sleeper {

    private final Object lock = new Object();
    private boolean stopped;

    /**
     * Waits for {@code millis}.
     *
     * @throws InterruptedException when {@link #wakeUp()} was called, before or during the wait
     */
    public void sleep(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        synchronized (lock) {
            while (!stopped) {
                long leftNanos = deadline - System.nanoTime();
                if (leftNanos <= 0) {
                    return;
                }
                // Round up: a wait must never end before its deadline.
                lock.wait((leftNanos + 999_999L) / 1_000_000L);
            }
        }
        throw new InterruptedException("the task is stopping");
    }

    /** Ends the current wait and every later one. */
    public void wakeUp() {
        synchronized (lock) {
            stopped = true;
            lock.notifyAll();
        }
    }

    public boolean stopped() {
        synchronized (lock) {
            return stopped;
        }
    }
}
