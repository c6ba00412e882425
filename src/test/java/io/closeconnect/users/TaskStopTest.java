package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.closeconnect.users.fake.FakeCloseApi;
import io.closeconnect.users.fake.FakeCloseApi.Fault;
import mockwebserver3.MockWebServer;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The task stops within a second whatever it is waiting on, and fails plainly on a fatal answer. */
class TaskStopTest {

    private static final String KEY = "api_stop_test_key";

    private final FakeCloseApi fake = new FakeCloseApi(KEY, 11, true);
    private final MockWebServer server = new MockWebServer();
    private final Map<String, String> props = new HashMap<>();
    private final CloseUsersSourceTask task = new CloseUsersSourceTask();

    @BeforeEach
    void start() throws Exception {
        fake.addUsers(30);
        server.setDispatcher(fake);
        server.start();
        props.put(CloseUsersConfig.API_KEY, KEY);
        props.put(CloseUsersConfig.API_URL, server.url("/").toString());
        props.put(CloseUsersConfig.PAGE_SIZE, "10");
        props.put(TestTaskContext.EXACTLY_ONCE_SUPPORT, "required");
        task.initialize(new TestTaskContext(props));
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    private CompletableFuture<Object> pollInBackground() {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return task.poll();
            } catch (Throwable t) {
                return t;
            }
        });
    }

    private void assertStopsWithinOneSecond(CompletableFuture<Object> poll) throws Exception {
        assertFalse(poll.isDone(), "poll() should still be waiting");
        long start = System.nanoTime();
        task.stop();
        Object result = poll.get(1, TimeUnit.SECONDS);
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertNull(result, "poll() returns null when stopped, got " + result);
        assertTrue(elapsedMs < 1_000, "stopped after " + elapsedMs + " ms");
    }

    @Test
    void aTaskStoppedDuringALongBackoffStopsWithinOneSecond() throws Exception {
        props.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "120000");
        props.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "120000");
        for (int i = 0; i < 10; i++) {
            fake.queueFault(Fault.STATUS_503_HTML);
        }
        task.start(props);
        CompletableFuture<Object> poll = pollInBackground();
        while (server.getRequestCount() == 0) {
            Thread.sleep(5);
        }
        Thread.sleep(300); // now in a backoff of up to 120 s (the jitter draws a short one 1 time in 400)
        assertStopsWithinOneSecond(poll);
    }

    @Test
    void aTaskStoppedDuringARequestStopsWithinOneSecond() throws Exception {
        props.put(CloseUsersConfig.HTTP_TIMEOUT_MS, "60000");
        fake.responseDelayMs(3_000);
        task.start(props);
        CompletableFuture<Object> poll = pollInBackground();
        while (server.getRequestCount() == 0) {
            Thread.sleep(5);
        }
        Thread.sleep(100);
        assertStopsWithinOneSecond(poll);
    }

    @Test
    void aTaskStoppedDuringARateLimitWaitStopsWithinOneSecond() throws Exception {
        fake.queueResponse(new mockwebserver3.MockResponse.Builder().code(429).setHeader("Retry-After", "3600").build());
        task.start(props);
        CompletableFuture<Object> poll = pollInBackground();
        while (server.getRequestCount() == 0) {
            Thread.sleep(5);
        }
        Thread.sleep(100);
        assertStopsWithinOneSecond(poll);
    }

    @Test
    void transientFailuresAreRetriedInsidePollAndTheWholePageIsEmitted() throws Exception {
        props.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "5");
        fake.queueFault(Fault.TRUNCATED_JSON);
        fake.queueFault(Fault.STATUS_429);
        fake.queueFault(Fault.DISCONNECT);
        task.start(props);
        List<SourceRecord> records = task.poll();
        assertEquals(List.copyOf(fake.currentVersions().keySet()).subList(0, 10),
                TestTaskContext.userRecords(records).stream().map(r -> (String) r.key()).toList());
        SourceRecord last = records.get(records.size() - 1);
        assertEquals(CloseUsersConfig.DEFAULT_HEARTBEAT_TOPIC, last.topic(), "a heartbeat closes every page");
        assertEquals(SweepState.partition(props.get(CloseUsersConfig.API_URL).replaceAll("/$", "")),
                last.sourcePartition());
        assertEquals(9L, last.sourceOffset().get(SweepState.SKIP), "the position after the page: its last user");
        task.stop();
    }

    @Test
    void aFatalAnswerFailsPollWithANonRetriableException() { // CloseApiException is a plain ConnectException
        fake.apiKey("api_other_key");
        task.start(props);
        CloseApiException e = assertThrows(CloseApiException.class, task::poll);
        assertTrue(e.getMessage().contains("Check close.api.key"), e.getMessage());
        assertEquals(1, server.getRequestCount());
        task.stop();
    }

    // The way a Kafka 4.x worker drives a source task: poll() again and again on one thread, and
    // stop() on that same thread only after poll() has returned. A page that waits minutes on
    // backoff must therefore never hold poll() for more than about a second.

    private static boolean fetchThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.isAlive() && t.getName().equals("close-users-fetch"));
    }

    @Test
    void pollReturnsEverySecondDuringALongBackoffAndStopOnTheSameThreadIsPrompt() throws Exception {
        props.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "120000");
        props.put(CloseUsersConfig.RETRY_BACKOFF_MAX_MS, "120000");
        for (int i = 0; i < 10; i++) {
            fake.queueFault(Fault.STATUS_503_HTML);
        }
        task.start(props);
        for (int i = 0; i < 3; i++) {
            long start = System.nanoTime();
            assertNull(task.poll(), "nothing to deliver while the page is in backoff");
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(elapsedMs < 1_500, "poll() held the worker's thread for " + elapsedMs + " ms");
        }
        assertTrue(fetchThreadAlive());
        long start = System.nanoTime();
        task.stop();
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(elapsedMs < 1_000, "stop() took " + elapsedMs + " ms");
        Thread.sleep(100);
        assertFalse(fetchThreadAlive(), "the fetch thread ends with the task");
    }

    @Test
    void aSlowPageArrivesThroughLaterPolls() throws Exception {
        fake.responseDelayMs(2_500);
        task.start(props);
        int nullPolls = 0;
        List<SourceRecord> records = null;
        long deadline = System.currentTimeMillis() + 20_000;
        while (records == null && System.currentTimeMillis() < deadline) {
            long start = System.nanoTime();
            records = task.poll();
            assertTrue((System.nanoTime() - start) / 1_000_000 < 1_500, "poll() blocked too long");
            if (records == null) {
                nullPolls++;
            }
        }
        assertTrue(nullPolls >= 2, "the 2.5 s page spans several polls: " + nullPolls);
        assertEquals(10, TestTaskContext.userRecords(records).size(), "the first page, once it arrives");
        assertEquals(1, fake.requestCount(), "the page was requested once, not again by each poll");
        task.stop();
    }
}
