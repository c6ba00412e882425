package io.closeconnect.users;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.kafka.connect.source.SourceRecord;

import io.closeconnect.users.fake.FakeCloseApi;

/**
 * Benchmark (a), CPU: the JSON bytes of a page turned into SourceRecords, in users per second of
 * this thread's CPU time, against a bare Jackson {@code readTree} of the same bytes in the same run.
 *
 * <p>Two figures for the connector: "parse + map" is {@link UserPageParser} then
 * {@link UserRecordMapper#toRecord} with one offset map; "poll path" is what {@code poll()} does
 * without the HTTP: the sweep step with its per-record state and {@code toMap()} offsets, then the
 * mapping. Rounds alternate the three so that machine noise hits them alike.
 */
final class ParseBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PAGES = 20;
    private static final int PAGE_SIZE = 100;

    private final byte[][] pages;
    private final int users;
    private final UserRecordMapper mapper = new UserRecordMapper("close-users");
    private final Map<String, String> partition = UserLedger.partition("https://api.close.com", 0);
    private final Map<String, Object> offset = Map.of(UserLedger.ANNOUNCED, "");
    private long sink;

    ParseBenchmark() throws Exception {
        FakeCloseApi api = new FakeCloseApi("key", 42, true);
        int total = PAGES * (PAGE_SIZE - 1) + 1;
        api.addUsers(total);
        // A few users carry a field the schema does not know, as Close adds fields over time.
        for (int i = 0; i < total; i += 10) {
            api.addUnknownField(api.userIdAt(i), "+1 555 0100 " + i);
        }
        pages = new byte[PAGES][];
        int count = 0;
        for (int p = 0; p < PAGES; p++) {
            // The pages the sweep reads: each overlaps the previous one by one user.
            UserPage page = api.fetch((long) p * (PAGE_SIZE - 1), PAGE_SIZE);
            ObjectNode body = JSON.createObjectNode();
            ArrayNode data = body.putArray("data");
            page.users().forEach(u -> data.add(u.json()));
            body.put("has_more", p < PAGES - 1);
            pages[p] = JSON.writeValueAsBytes(body);
            count += page.users().size();
        }
        users = count;
    }

    /** The reference: a bare tree parse of every page. */
    private void bareReadTree() throws Exception {
        for (byte[] page : pages) {
            JsonNode root = JSON.readTree(page);
            sink += root.get("data").size();
        }
    }

    private void parseAndMap() throws Exception {
        for (byte[] page : pages) {
            UserPage parsed = UserPageParser.parse(page, 0L, PAGE_SIZE);
            for (CloseUser user : parsed.users()) {
                SourceRecord record = mapper.toRecord(user, partition, offset);
                sink += record.kafkaPartition() == null ? 1 : 0;
            }
        }
    }

    /** A source serving the pre-rendered pages, parsed as the HTTP client parses them. */
    private final class BytesSource implements UserSource {
        @Override
        public UserPage fetch(long skip, int limit) {
            // Pages overlap by one user, so page p starts at skip p * (limit - 1): serve by index.
            int index = (int) (skip / (limit - 1));
            try {
                return UserPageParser.parse(pages[Math.min(index, PAGES - 1)], System.currentTimeMillis() * 1000, PAGE_SIZE);
            } catch (UserPageParser.MalformedPageException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public UserLookup lookUp(String id) {
            throw new UnsupportedOperationException("the benchmark's first sweep confirms nobody");
        }

        @Override
        public java.util.List<String> myOrganizations() {
            return java.util.List.of();
        }
    }

    private void pollPath() throws Exception {
        // A fresh initial sweep each round: every user is emitted, as in a first snapshot.
        UserSweep sweep = new UserSweep(new BytesSource(), PAGE_SIZE, 0, UserLedger.empty("https://api.close.com"),
                SweepState.initial(), new RemovalValve(5, 10, ""), Delivery.IMMEDIATE);
        int pagesRead = 0;
        while (pagesRead++ < PAGES) {
            UserSweep.Step step = sweep.step();
            for (UserSweep.Output output : step.outputs()) {
                UserSweep.Changed changed = (UserSweep.Changed) output;
                SourceRecord record = mapper.toRecord(changed.user(), changed.partition(), changed.offset());
                sink += record.kafkaPartition() == null ? 1 : 0;
            }
            sink += step.checkpoints().size() + step.state().toMap().size();
            if (step.completed()) {
                break;
            }
        }
    }

    interface Work {
        void run() throws Exception;
    }

    /** Runs {@code work} repeatedly for about {@code millis} ms of thread CPU; returns users per CPU second. */
    private double usersPerCpuSecond(Work work, long millis) throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long start = threads.getCurrentThreadCpuTime();
        long end = start + millis * 1_000_000L;
        long iterations = 0;
        long now;
        do {
            work.run();
            iterations++;
            now = threads.getCurrentThreadCpuTime();
        } while (now < end);
        return iterations * (double) users / ((now - start) / 1e9);
    }

    static Result run(int rounds, long roundMillis, long warmupMillis) throws Exception {
        ParseBenchmark bench = new ParseBenchmark();
        return bench.measure(rounds, roundMillis, warmupMillis);
    }

    record Result(int pageBytes, double bare, double parseMap, double poll, double[] parseMapRatios, double[] pollRatios) {
    }

    private Result measure(int rounds, long roundMillis, long warmupMillis) throws Exception {
        usersPerCpuSecond(this::bareReadTree, warmupMillis);
        usersPerCpuSecond(this::parseAndMap, warmupMillis);
        usersPerCpuSecond(this::pollPath, warmupMillis);
        double[] bare = new double[rounds];
        double[] parseMap = new double[rounds];
        double[] poll = new double[rounds];
        double[] parseMapRatio = new double[rounds];
        double[] pollRatio = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            bare[r] = usersPerCpuSecond(this::bareReadTree, roundMillis);
            parseMap[r] = usersPerCpuSecond(this::parseAndMap, roundMillis);
            poll[r] = usersPerCpuSecond(this::pollPath, roundMillis);
            parseMapRatio[r] = parseMap[r] / bare[r];
            pollRatio[r] = poll[r] / bare[r];
            System.out.printf("  round %d: bare readTree %,.0f users/s, parse+map %,.0f users/s (%.2fx), poll path %,.0f users/s (%.2fx)%n",
                    r + 1, bare[r], parseMap[r], parseMapRatio[r], poll[r], pollRatio[r]);
        }
        if (sink == 42) {
            System.out.println();
        }
        return new Result(pages[0].length, median(bare), median(parseMap), median(poll), parseMapRatio, pollRatio);
    }

    static double median(double[] values) {
        double[] copy = values.clone();
        Arrays.sort(copy);
        int n = copy.length;
        return n % 2 == 1 ? copy[n / 2] : (copy[n / 2 - 1] + copy[n / 2]) / 2;
    }
}
