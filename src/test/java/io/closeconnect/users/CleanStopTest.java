package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * {@code stop()} from the worker's thread ends a {@code poll()} blocked on Close within a second,
 * wherever it is blocked, and leaves no HTTP work or threads behind.
 */
class CleanStopTest {

    private static final String KEY = "stop-test-key";
    private static final long PROMPT_MS = 1_000;

    private FakeCloseApi api;
    private MockWebServer server;
    /** Rate-limit header to put on every answer instead of the fake's, or null. */
    private volatile String rateLimitHeader;
    private CloseUsersSourceTask task;
    private Thread pollThread;

    @BeforeEach
    void startServer() throws Exception {
        api = new FakeCloseApi(KEY, 7, false);
        api.addUsers(30);
        server = new MockWebServer();
        server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
                MockResponse response = api.dispatch(request);
                String header = rateLimitHeader;
                return header == null ? response : response.newBuilder().setHeader("RateLimit", header).build();
            }
        });
        server.start();
    }

    @AfterEach
    void stopServer() throws Exception {
        if (task != null) {
            task.stop();
        }
        server.close();
    }

    private Map<String, String> config(Map<String, String> overrides) {
        Map<String, String> config = new HashMap<>();
        config.put(CloseUsersConfig.API_KEY, KEY);
        config.put(CloseUsersConfig.API_URL, server.url("/").toString());
        config.put(CloseUsersConfig.PAGE_SIZE, "10");
        config.put(CloseUsersConfig.POLL_INTERVAL_MS, "600000");
        config.put(CloseUsersConfig.HTTP_TIMEOUT_MS, "120000");
        config.put(TestTaskContext.EXACTLY_ONCE_SUPPORT, "required");
        config.putAll(overrides);
        return config;
    }

    private void startTask(Map<String, String> overrides) {
        Map<String, String> config = config(overrides);
        task = new CloseUsersSourceTask();
        task.initialize(new TestTaskContext(config));
        task.start(config);
    }

    /** Runs one poll on its own thread, as the worker does. */
    private CompletableFuture<List<SourceRecord>> pollInBackground() {
        CompletableFuture<List<SourceRecord>> result = new CompletableFuture<>();
        pollThread = new Thread(() -> {
            try {
                result.complete(task.poll());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, "test-poll");
        pollThread.start();
        return result;
    }

    /**
     * Calls stop() and checks that both it and the poll return within a second. The page itself
     * is fetched on the task's fetch thread; poll() waits for it at most a second at a time.
     */
    private void assertStopsPromptly(CompletableFuture<List<SourceRecord>> poll) throws Exception {
        long start = System.nanoTime();
        task.stop();
        long stopMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(stopMs < PROMPT_MS, "stop() took " + stopMs + " ms");
        List<SourceRecord> records = poll.get(5, TimeUnit.SECONDS);
        long pollMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(pollMs < PROMPT_MS, "the blocked poll() returned " + pollMs + " ms after stop()");
        assertNull(records, "a stopped poll returns nothing");
        pollThread.join(1_000);
        assertNull(task.poll(), "a poll after stop() returns nothing without calling Close");
    }

    @Test
    void stopCancelsTheRequestInFlight() throws Exception {
        startTask(Map.of());
        api.queueFault(FakeCloseApi.Fault.SLOW);
        CompletableFuture<List<SourceRecord>> poll = pollInBackground();
        awaitCondition(() -> server.getRequestCount() >= 1, "the request to reach the server");
        awaitReadingResponse("the poll to wait for Close's answer");
        assertStopsPromptly(poll);
        assertEquals(1, server.getRequestCount(), "no request after stop()");
        assertNoHttpWorkLeft();
    }

    @Test
    void stopEndsARetryBackoff() throws Exception {
        // Full jitter on a one-hour ceiling: the wait is almost surely far longer than the test.
        startTask(Map.of(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "3600000",
                CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "3600000",
                CloseUsersConfig.RETRY_MAX_ELAPSED_MS, "86400000"));
        api.queueFault(FakeCloseApi.Fault.STATUS_503_HTML);
        CompletableFuture<List<SourceRecord>> poll = pollInBackground();
        awaitSleepingIn("CloseApiClient.call", "the poll to back off after the 503");
        assertStopsPromptly(poll);
        assertEquals(1, server.getRequestCount(), "no retry after stop()");
        assertNoHttpWorkLeft();
    }

    @Test
    void stopEndsARateLimitPacingWait() throws Exception {
        startTask(Map.of());
        rateLimitHeader = "limit=10, remaining=0, reset=60";
        assertNotNull(task.poll(), "the first page is served");
        CompletableFuture<List<SourceRecord>> poll = pollInBackground();
        awaitSleepingIn("RateLimiter.acquire", "the poll to wait for the rate-limit window to reset");
        assertStopsPromptly(poll);
        assertEquals(1, server.getRequestCount(), "no request after stop()");
        assertNoHttpWorkLeft();
    }

    @Test
    void stopEndsTheIdleWaitBetweenSweeps() throws Exception {
        startTask(Map.of(CloseUsersConfig.PAGE_SIZE, "100"));
        assertNotNull(task.poll(), "one page holds the whole sweep");
        CompletableFuture<List<SourceRecord>> poll = pollInBackground();
        awaitSleepingIn("CloseUsersSourceTask.poll", "the poll to wait for the next sweep");
        assertStopsPromptly(poll);
        assertNoHttpWorkLeft();
    }

    @Test
    void stoppedTasksLeaveNoThreadsBehind() throws Exception {
        int afterFirst = -1;
        for (int cycle = 0; cycle < 5; cycle++) {
            startTask(Map.of());
            assertNotNull(task.poll());
            assertNotNull(task.poll());
            task.stop();
            task = null;
            assertNoHttpWorkLeft();
            int threads = okHttpThreads().size();
            if (afterFirst < 0) {
                afterFirst = threads;
            }
            // The shared TaskRunner pool may hold one more idle thread at a given moment, depending
            // on timing; a per-task leak would add one or more every cycle.
            assertTrue(threads <= afterFirst + 1, "OkHttp threads grew from " + afterFirst + " to " + threads
                    + " over start/stop cycles: " + okHttpThreads());
        }
    }

    // ---------------------------------------------------------------- helpers

    /**
     * OkHttp's own threads. {@code OkHttp TaskRunner} and {@code Okio Watchdog} are process-wide
     * daemon pools shared by every client; they idle for 60 s and then exit on their own.
     */
    private static List<Thread> okHttpThreads() {
        List<Thread> threads = new ArrayList<>();
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.isAlive() && (thread.getName().startsWith("OkHttp") || thread.getName().startsWith("Okio"))) {
                threads.add(thread);
            }
        }
        return threads;
    }

    /**
     * After stop: no dispatcher, connection or pool-cleanup thread remains, and the shared
     * TaskRunner threads are idle (parked in their pool, running nothing of ours).
     */
    private static void assertNoHttpWorkLeft() throws InterruptedException {
        AtomicReference<String> busy = new AtomicReference<>();
        awaitCondition(() -> {
            for (Thread thread : okHttpThreads()) {
                String name = thread.getName();
                if (name.equals("Okio Watchdog")) {
                    continue;
                }
                boolean idlePoolThread = name.equals("OkHttp TaskRunner") && Arrays.stream(thread.getStackTrace())
                        .noneMatch(frame -> frame.getClassName().startsWith("okhttp3.internal.connection"));
                if (!idlePoolThread) {
                    busy.set(name + " " + Arrays.toString(thread.getStackTrace()));
                    return false;
                }
            }
            return true;
        }, () -> "OkHttp to release its threads; still busy: " + busy.get());
    }

    /** Waits until the poll thread (idle waits) or the fetch thread (page waits) sleeps in {@code caller}. */
    private void awaitSleepingIn(String caller, String what) throws InterruptedException {
        awaitCondition(() -> sleepingIn(pollThread, caller) || sleepingIn(fetchThread(), caller), what);
    }

    private static boolean sleepingIn(Thread thread, String caller) {
        StackTraceElement[] stack = thread.getStackTrace();
        for (int i = 0; i + 1 < stack.length; i++) {
            if (stack[i].getClassName().equals(Sleeper.class.getName()) && stack[i].getMethodName().equals("sleep")) {
                String next = stack[i + 1].getClassName().replaceFirst(".*\\.", "") + "." + stack[i + 1].getMethodName();
                return next.equals(caller) && thread.getState() == Thread.State.TIMED_WAITING;
            }
        }
        return false;
    }

    /** The thread the task fetches pages on (an idle placeholder until it exists). */
    private static Thread fetchThread() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().equals("close-users-fetch"))
                .findFirst().orElse(Thread.currentThread());
    }

    /** Waits until the fetch thread is inside OkHttp, waiting for the response headers. */
    private void awaitReadingResponse(String what) throws InterruptedException {
        awaitCondition(() -> Arrays.stream(fetchThread().getStackTrace())
                .anyMatch(frame -> frame.getClassName().startsWith("okhttp3.")
                        && frame.getMethodName().equals("readResponseHeaders")), () -> what);
    }

    private static void awaitCondition(BooleanSupplier condition, String what) throws InterruptedException {
        awaitCondition(condition, () -> what);
    }

    private static void awaitCondition(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out waiting for " + what.get());
            }
            Thread.sleep(20);
        }
    }
}
