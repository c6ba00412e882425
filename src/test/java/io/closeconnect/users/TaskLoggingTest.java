package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.log4j.AppenderSkeleton;
import org.apache.log4j.Level;
import org.apache.log4j.Logger;
import org.apache.log4j.spi.LoggingEvent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/** What the task tells an operator in its log, and that the API key is never part of it. */
class TaskLoggingTest {

    private static final String KEY = "api_6Secret0Key4Logs";
    private static final String KEY_BASE64 = Base64.getEncoder().encodeToString((KEY + ":").getBytes(StandardCharsets.UTF_8));

    private final List<LoggingEvent> events = new ArrayList<>();
    private final AppenderSkeleton capture = new AppenderSkeleton() {
        @Override
        protected void append(LoggingEvent event) {
            synchronized (events) {
                events.add(event);
            }
        }

        @Override
        public void close() {
        }

        @Override
        public boolean requiresLayout() {
            return false;
        }
    };
    private final Map<String, Level> savedLevels = new HashMap<>();
    private MockWebServer server;

    @BeforeEach
    void captureLogs() throws Exception {
        Logger.getRootLogger().addAppender(capture);
        level("io.closeconnect", Level.DEBUG);
        level("org.apache.kafka.common.config", Level.INFO);
        server = new MockWebServer();
    }

    @AfterEach
    void restoreLogs() throws Exception {
        Logger.getRootLogger().removeAppender(capture);
        savedLevels.forEach((name, level) -> Logger.getLogger(name).setLevel(level));
        server.close();
    }

    private void level(String logger, Level level) {
        savedLevels.put(logger, Logger.getLogger(logger).getLevel());
        Logger.getLogger(logger).setLevel(level);
    }

    private CloseUsersSourceTask startTask(String key) {
        Map<String, String> config = new HashMap<>();
        config.put(CloseUsersConfig.API_KEY, key);
        config.put(CloseUsersConfig.API_URL, server.url("/").toString());
        config.put(CloseUsersConfig.PAGE_SIZE, "10");
        config.put(CloseUsersConfig.POLL_INTERVAL_MS, "600000");
        config.put(CloseUsersConfig.RETRY_BACKOFF_INITIAL_MS, "5");
        config.put(TestTaskContext.EXACTLY_ONCE_SUPPORT, "required");
        CloseUsersSourceTask task = new CloseUsersSourceTask();
        task.initialize(new TestTaskContext(config));
        task.start(config);
        return task;
    }

    @Test
    void oneInfoLinePerSweepDebugPerPageAndNoKey() throws Exception {
        FakeCloseApi api = new FakeCloseApi(KEY, 3, false);
        api.addUsers(25);
        api.queueFault(FakeCloseApi.Fault.STATUS_429);
        api.queueFault(FakeCloseApi.Fault.STATUS_503_HTML);
        server.setDispatcher(api);
        server.start();

        CloseUsersSourceTask task = startTask(KEY);
        int emitted = 0;
        for (int i = 0; i < 3; i++) {
            emitted += TestTaskContext.userRecords(task.poll()).size();
        }
        task.stop();
        assertEquals(25, emitted);

        List<String> config = messages(Level.INFO, "CloseUsersConfig values");
        assertEquals(1, config.size(), "the configuration is logged once at start");
        assertTrue(config.get(0).contains("close.api.key = [hidden]"), config.get(0));

        List<String> sweeps = messages(Level.INFO, "Sweep completed");
        assertEquals(1, sweeps.size(), "one INFO line per sweep");
        String sweep = sweeps.get(0);
        for (String part : List.of("3 pages", "27 users seen", "25 emitted", "0 removed", "5 requests",
                "ms waiting on rate limits", "25 users announced (0 missing from the list, 0 confirmed with Close, 0 held)",
                "watermark now 20")) {
            assertTrue(sweep.contains(part), "'" + part + "' in: " + sweep);
        }
        assertTrue(sweep.matches(".*removed, \\d+ ms, .*"), "the duration in: " + sweep);

        List<String> pages = messages(Level.DEBUG, "Page at _skip=");
        assertEquals(List.of("Page at _skip=0: 10 users, 10 to emit", "Page at _skip=9: 10 users, 9 to emit",
                "Page at _skip=18: 7 users, 6 to emit"), pages.stream().map(p -> p.replaceFirst(", \\d+ ms.*", "")).toList());
        assertTrue(pages.get(2).endsWith("last page"), pages.get(2));

        assertEquals(2, messages(Level.WARN, "").size(), "one WARN per retry: " + messages(Level.WARN, ""));
        assertNoKeyLogged();
    }

    @Test
    void rejectedKeyGivesAnActionableErrorWithoutTheKey() throws Exception {
        server.setDispatcher(new FakeCloseApi("the-right-key", 4, false));
        server.start();

        CloseUsersSourceTask task = startTask(KEY);
        CloseApiException error = assertThrows(CloseApiException.class, task::poll);
        task.stop();

        assertFalse(error.getMessage().contains(KEY));
        List<String> errors = messages(Level.ERROR, "");
        assertEquals(1, errors.size(), "one ERROR line: " + errors);
        assertTrue(errors.get(0).contains("401") && errors.get(0).contains(CloseUsersConfig.API_KEY), errors.get(0));
        assertNoKeyLogged();
    }

    private List<String> messages(Level level, String containing) {
        synchronized (events) {
            return events.stream()
                    .filter(e -> e.getLevel().equals(level))
                    .filter(e -> e.getLoggerName().startsWith("io.closeconnect")
                            || e.getLoggerName().startsWith("org.apache.kafka.common.config"))
                    .map(LoggingEvent::getRenderedMessage)
                    .filter(m -> m.contains(containing))
                    .toList();
        }
    }

    private void assertNoKeyLogged() {
        synchronized (events) {
            assertFalse(events.isEmpty());
            for (LoggingEvent event : events) {
                String text = event.getRenderedMessage() + String.join("\n",
                        event.getThrowableStrRep() == null ? new String[0] : event.getThrowableStrRep());
                assertFalse(text.contains(KEY) || text.contains(KEY_BASE64), "the key is in: " + text);
            }
        }
    }
}
