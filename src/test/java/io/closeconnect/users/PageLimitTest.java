package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.connect.source.SourceRecord;
import org.apache.log4j.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * The largest page Close accepts: without page.size the task asks for 1,000 users a page, and
 * when Close names a smaller max_limit it asks for that from then on; the sweep walks and steps
 * back by the limit actually served.
 */
class PageLimitTest {

    private static final String KEY = "page-limit-key";

    private MockWebServer server;
    private FakeCloseApi api;

    @BeforeEach
    void startServer() throws Exception {
        api = new FakeCloseApi(KEY, 11, false);
        api.addUsers(40);
        api.maxLimit(7);
        server = new MockWebServer();
        server.setDispatcher(api);
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    /** Two sweeps through the task over HTTP, page.size absent ("") or set above Close's max_limit of 7. */
    @ParameterizedTest
    @ValueSource(strings = {"", "500"})
    void theTaskAdoptsCloseMaxLimitForItsLifeWithoutCountingAFailure(String pageSize) throws Exception {
        Map<String, String> config = new HashMap<>();
        config.put(CloseUsersConfig.API_KEY, KEY);
        config.put(CloseUsersConfig.API_URL, server.url("/").toString());
        config.put(CloseUsersConfig.POLL_INTERVAL_MS, "0");
        config.put(CloseUsersConfig.RETRY_MAX_ELAPSED_MS, "0"); // a failure would fail the task at once
        if (!pageSize.isEmpty()) {
            config.put(CloseUsersConfig.PAGE_SIZE, pageSize);
        }
        TestTaskContext context = new TestTaskContext(config);
        CloseUsersSourceTask task = new CloseUsersSourceTask();
        task.initialize(context);
        Set<String> emitted = new HashSet<>();
        try (LogCapture client = LogCapture.of(CloseApiClient.class)) {
            task.start(config);
            while ((Double) context.metric(SyncMetrics.SWEEPS_COMPLETED) < 2) {
                List<SourceRecord> records = TestTaskContext.userRecords(context.pollAndCommit(task));
                if (records != null) {
                    records.forEach(r -> emitted.add((String) r.key()));
                }
            }
            Object requests = context.metric(SyncMetrics.HTTP_REQUESTS);
            Object retries = context.metric(SyncMetrics.HTTP_RETRIES);
            Object rateLimited = context.metric(SyncMetrics.HTTP_RATE_LIMITED);
            task.stop();

            assertEquals(api.currentVersions().keySet(), emitted, "every user, in pages of 7");
            List<String> queries = new ArrayList<>();
            for (int i = server.getRequestCount(); i > 0; i--) {
                RecordedRequest request = server.takeRequest();
                queries.add(request.getUrl().queryParameter("_skip") + "/" + request.getUrl().queryParameter("_limit"));
            }
            String asked = pageSize.isEmpty() ? "1000" : pageSize;
            // 40 users, pages of 7 overlapping by one: _skip 0, 6, ..., 36; the first page is asked twice.
            List<String> sweep = List.of("0/7", "6/7", "12/7", "18/7", "24/7", "30/7", "36/7");
            List<String> expected = new ArrayList<>();
            expected.add("0/" + asked);
            expected.addAll(sweep);
            expected.addAll(sweep);
            assertEquals(expected, queries);

            assertEquals(15.0, requests);
            assertEquals(0.0, retries, "not a retry");
            assertEquals(0.0, rateLimited);
            assertEquals(List.of(), client.messages(Level.ERROR, ""));
            List<String> adopted = client.messages(pageSize.isEmpty() ? Level.INFO : Level.WARN, "max_limit = 7");
            assertEquals(1, adopted.size(), "once for the task's life: " + adopted);
            assertEquals(List.of(), client.messages(pageSize.isEmpty() ? Level.WARN : Level.INFO, ""),
                    "a default page.size lowered is INFO only; an explicit one is one WARN only");
        }
    }

    @Test
    void theSweepAsksForAndStepsBackByTheLimitServed() throws Exception {
        api.maxLimit(5);
        List<String> asked = new ArrayList<>();
        UserSource recording = new UserSource() {
            @Override
            public UserPage fetch(long skip, int limit) {
                asked.add(skip + "/" + limit);
                return api.fetch(skip, limit);
            }

            @Override
            public UserLookup lookUp(String id) {
                return api.lookUp(id);
            }

            @Override
            public List<String> myOrganizations() {
                return api.myOrganizations();
            }
        };
        UserSweep sweep = new UserSweep(recording, 100, 0, UserLedger.empty("https://x"), SweepState.initial().inOrder(""),
                new RemovalValve(100, 0, ""), Delivery.IMMEDIATE);
        sweep.step(); // users 0-4
        sweep.step(); // users 4-8; the anchors are users 5 to 8
        List<String> ids = List.copyOf(api.currentVersions().keySet());
        for (String removed : ids.subList(1, 4)) {
            api.delete(removed); // three users behind the position: the anchors move back by 3
        }
        UserSweep.Step missed = sweep.step(); // _skip=8 now holds users 11-15: no anchor
        assertTrue(!missed.completed() && missed.state().skip() == 4, "the walk steps back: " + missed.state().skip());
        sweep.step(); // one served page back, minus the overlap: _skip=4, users 7-11, anchor 8 found
        // A stride of page.size - 1 = 99 would have gone back to _skip=0.
        assertEquals(List.of("0/100", "4/5", "8/5", "4/5"), asked);
        assertEquals(4 + 5 - sweep.overlap(), sweep.state().skip(),
                "continues the overlap before the end of that page (grown by the step back)");
    }
}
