package io.closeconnect.users.fake;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.closeconnect.users.CloseUser;
import io.closeconnect.users.UserLookup;
import io.closeconnect.users.UserPage;
import io.closeconnect.users.UserSource;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import mockwebserver3.SocketEffect;

/**
 * A fake Close API for tests: serves {@code GET /api/v1/user/} (and {@code /api/v1/me/}) from a
 * mutable in-memory list with Close's paging, Basic auth, {@code max_limit} and {@code max_skip}
 * 400s, and {@code RateLimit} headers. Tests mutate the users between requests through
 * {@link #beforeEachRequest}, queue faults, and read the history of every version for their
 * invariant checks.
 *
 * <p>It is a MockWebServer {@link Dispatcher} for HTTP tests and a {@link UserSource} for fast
 * in-process sweep tests; both go through the same {@link #servePage} code.
 */
public final class FakeCloseApi extends Dispatcher implements UserSource {

    /**
     * How the list is ordered: insertion order (Close's undocumented default), by name, or by
     * {@code date_updated} (an edit moves the user to the end of the list).
     */
    public enum Order { DEFAULT, LAST_NAME_FIRST_NAME, DATE_UPDATED }

    /** The organization the fake's users belong to, and the one the credential's user belongs to. */
    public static final String ORGANIZATION = "orga_" + "x".repeat(43);
    /** Where a user who leaves the organization goes: the user still exists, in another organization. */
    public static final String OTHER_ORGANIZATION = "orga_" + "o".repeat(43);

    /** A stretch of time during which a user was listed, in fake-clock micros. */
    public static final class Membership {
        public final String id;
        public final long fromMicros;
        public long toMicros = Long.MAX_VALUE;

        Membership(String id, long fromMicros) {
            this.id = id;
            this.fromMicros = fromMicros;
        }
    }

    /**
     * One version of one user and how long it was current, in fake-clock micros: from
     * {@code startMicros} (its {@code date_updated}, or the moment a removed user was listed again
     * unchanged) to {@code endMicros}.
     */
    public static final class VersionLife {
        public final String id;
        public final long micros;
        public final long startMicros;
        public long endMicros = Long.MAX_VALUE;

        VersionLife(String id, long micros, long startMicros) {
            this.id = id;
            this.micros = micros;
            this.startMicros = startMicros;
        }
    }

    /** A fault to serve instead of the next answer. */
    public enum Fault { STATUS_429, STATUS_503_HTML, STATUS_500, TRUNCATED_JSON, HTML_200, NO_DATA, DISCONNECT, SLOW }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Close's words for a 404 on a user id that matches no user. */
    public static final String NOT_FOUND_MESSAGE = "Empty query: User matching query does not exist.";
    private static final DateTimeFormatter CLOSE_TIME = DateTimeFormatter
            .ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSxxx").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);
    private static final String[] FIRST = {"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"};
    private static final String[] LAST = {"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"};

    private String apiKey;
    private String bearerToken;
    private final Random random;
    private final boolean virtualClock;
    private final List<User> users = new ArrayList<>();
    private final Map<String, VersionLife> current = new HashMap<>();
    private final List<VersionLife> history = new ArrayList<>();
    private final Map<String, Membership> listed = new HashMap<>();
    private final List<Membership> memberships = new ArrayList<>();
    /** Users no longer listed, by id: deleted (GET answers 404) or moved to another organization (GET answers 200). */
    private final Map<String, User> gone = new HashMap<>();
    private int lookups;
    private boolean shuffleTies;
    private int tieGroups;
    private final List<Long> requestedSkips = new ArrayList<>();
    private final Deque<Fault> faults = new ArrayDeque<>();
    private final Deque<MockResponse> queuedResponses = new ArrayDeque<>();
    private final Deque<MockResponse> queuedLookups = new ArrayDeque<>();
    private Order order = Order.DEFAULT;
    private int maxLimit = 1000;
    private long maxSkip = 250_000;
    private long clockMicros;
    private long nextId;
    private Consumer<FakeCloseApi> beforeEachRequest = api -> { };
    private long responseDelayMs;
    private double faultRate;
    private int rateLimitPerWindow = 0;
    private long windowStartMs;
    private int usedInWindow;
    private double bucketPerSecond;
    private int bucketBurst;
    private double bucketTokens;
    private long bucketAtNanos;

    private static final class User {
        final String id;
        String first;
        String last;
        String email;
        final long createdMicros;
        long updatedMicros;
        String extraField;
        String organization = ORGANIZATION;

        User(String id, String first, String last, long createdMicros) {
            this.id = id;
            this.first = first;
            this.last = last;
            this.email = (first + "." + last + "." + id.substring(id.length() - 6) + "@example.com").toLowerCase();
            this.createdMicros = createdMicros;
            this.updatedMicros = createdMicros;
        }
    }

    /**
     * @param apiKey       the key the fake accepts, as Basic auth user name with an empty password
     * @param seed         seeds names, ids and virtual clock steps
     * @param virtualClock true: the clock starts at 2024-01-01 and steps a few micros per event, so
     *                     tests are deterministic; false: the clock is the wall clock
     */
    public FakeCloseApi(String apiKey, long seed, boolean virtualClock) {
        this.apiKey = apiKey;
        this.random = new Random(seed);
        this.virtualClock = virtualClock;
        this.clockMicros = virtualClock ? 1_704_067_200_000_000L : 0;
    }

    // ---------------------------------------------------------------- configuration

    public synchronized FakeCloseApi order(Order newOrder) {
        this.order = newOrder;
        return this;
    }

    /**
     * The {@code close.users.order.by} a connector reading this list would have: the name order, or
     * empty for the others (insertion order is Close's default; the fake's date order stands for
     * another order the connector does not choose).
     */
    public synchronized String orderBy() {
        return order == Order.LAST_NAME_FIRST_NAME ? "last_name,first_name" : "";
    }

    /**
     * With the name order: users with the same first and last name come back in a new random order
     * on every request, as a database may return rows that tie on the sort key.
     */
    public synchronized FakeCloseApi shuffleTies(boolean shuffle) {
        this.shuffleTies = shuffle;
        return this;
    }

    /**
     * Users inserted or renamed from now on take one of {@code groups} shared names (0: unique
     * names again), so that most of them tie with others in the name order.
     */
    public synchronized FakeCloseApi tieGroups(int groups) {
        this.tieGroups = groups;
        return this;
    }

    public synchronized FakeCloseApi maxLimit(int limit) {
        this.maxLimit = limit;
        return this;
    }

    public synchronized FakeCloseApi maxSkip(long skip) {
        this.maxSkip = skip;
        return this;
    }

    /** Changes the key the fake accepts, as when a key is revoked and another issued. */
    public synchronized FakeCloseApi apiKey(String newKey) {
        this.apiKey = newKey;
        return this;
    }

    /** Also accepts {@code Authorization: Bearer <token>} (a Close OAuth access token); null: no token. */
    public synchronized FakeCloseApi acceptBearer(String token) {
        this.bearerToken = token;
        return this;
    }

    /** Runs before every users request is answered, under the fake's lock: the place to mutate. */
    public synchronized FakeCloseApi beforeEachRequest(Consumer<FakeCloseApi> hook) {
        this.beforeEachRequest = hook;
        return this;
    }

    /** Delays every HTTP answer, to make a sweep slow enough to interrupt. */
    public synchronized FakeCloseApi responseDelayMs(long millis) {
        this.responseDelayMs = millis;
        return this;
    }

    /** Serves a random fault (other than SLOW) instead of this fraction of answers. */
    public synchronized FakeCloseApi faultRate(double rate) {
        this.faultRate = rate;
        return this;
    }

    /** Enforces a limit of this many requests per one-second window, answering 429 beyond it. 0: no limit. */
    public synchronized FakeCloseApi rateLimitPerSecond(int perSecond) {
        this.rateLimitPerWindow = perSecond;
        return this;
    }

    /**
     * Enforces a token bucket instead: {@code perSecond} tokens a second, at most {@code burst} in
     * hand, one per users request, 429 without a token. The {@code RateLimit} header then says
     * {@code limit=burst}, the whole tokens left, and in {@code reset} the seconds until the bucket
     * is full again. 0: no limit.
     */
    public synchronized FakeCloseApi tokenBucket(double perSecond, int burst) {
        this.bucketPerSecond = perSecond;
        this.bucketBurst = burst;
        this.bucketTokens = burst;
        this.bucketAtNanos = System.nanoTime();
        return this;
    }

    public synchronized void queueFault(Fault fault) {
        faults.add(fault);
    }

    /** Serves this exact answer to the next authorized {@code GET /api/v1/user/{id}/}. */
    public synchronized void queueLookupResponse(MockResponse response) {
        queuedLookups.add(response);
    }

    /** Serves this exact answer to the next authorized users request, before any queued fault. */
    public synchronized void queueResponse(MockResponse response) {
        queuedResponses.add(response);
    }

    // ---------------------------------------------------------------- mutation

    /** Now on the fake's clock, in micros; every call moves it forward. */
    public synchronized long tick() {
        if (virtualClock) {
            clockMicros += 1 + random.nextInt(2_000);
        } else {
            long wall = Instant.now().getEpochSecond() * 1_000_000L + Instant.now().getNano() / 1_000;
            clockMicros = Math.max(clockMicros + 1, wall);
        }
        return clockMicros;
    }

    /** Moves the virtual clock forward, as if the users had last changed that long ago. */
    public synchronized FakeCloseApi advanceClock(long micros) {
        if (!virtualClock) {
            throw new IllegalStateException("only a virtual clock can be moved");
        }
        clockMicros += micros;
        return this;
    }

    public synchronized long nowMicros() {
        return clockMicros == 0 ? tick() : clockMicros;
    }

    public synchronized List<String> addUsers(int count) {
        List<String> ids = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            ids.add(insertAt(users.size()));
        }
        return ids;
    }

    /** Inserts a new user at a random place in the default order. */
    public synchronized String insertRandom() {
        return insertAt(random.nextInt(users.size() + 1));
    }

    public synchronized String insertAt(int index) {
        String id = String.format("user_%043d", nextId++);
        User user = tieGroups > 0
                ? new User(id, "Same", "Tie" + random.nextInt(tieGroups), tick())
                : new User(id, FIRST[random.nextInt(FIRST.length)], LAST[random.nextInt(LAST.length)] + nextId, tick());
        users.add(index, user);
        record(user);
        startMembership(id);
        return id;
    }

    /** Touches a user (a new date_updated), keeping its name. */
    public synchronized void edit(String id) {
        User user = find(id);
        user.email = "changed." + user.updatedMicros % 100_000 + "." + user.email.replaceFirst("^changed\\.\\d+\\.", "");
        touch(user);
    }

    /** Renames a user, which moves it in name order. */
    public synchronized void rename(String id, String first, String last) {
        User user = find(id);
        user.first = first;
        user.last = last;
        touch(user);
    }

    /** Adds a field the connector's schema does not know. */
    public synchronized void addUnknownField(String id, String value) {
        User user = find(id);
        user.extraField = value;
        touch(user);
    }

    /** Removes a user from Close: it is no longer listed, and {@code GET /api/v1/user/{id}/} answers 404. */
    public synchronized void delete(String id) {
        remove(id, false);
    }

    /**
     * Moves a user out of the organization: it is no longer listed, and {@code GET /api/v1/user/{id}/}
     * answers 200 with an {@code organizations} list that no longer holds the caller's organization.
     * Its {@code date_updated} does not change.
     */
    public synchronized void leaveOrganization(String id) {
        remove(id, true);
    }

    private void remove(String id, boolean toOtherOrganization) {
        User user = find(id);
        users.remove(user);
        long now = tick();
        current.remove(id).endMicros = now;
        listed.remove(id).toMicros = now;
        user.organization = toOtherOrganization ? OTHER_ORGANIZATION : null;
        gone.put(id, user);
    }

    /**
     * Lists a removed user again at {@code index} of the default order, with the same id and the
     * same {@code date_updated}: no edit, as when someone is added back to an organization.
     */
    public synchronized void readd(String id, int index) {
        User user = gone.remove(id);
        if (user == null) {
            throw new IllegalArgumentException("no removed user " + id);
        }
        user.organization = ORGANIZATION;
        users.add(Math.min(index, users.size()), user);
        record(user);
        startMembership(id);
    }

    /** Lists every removed user again, at the end, unchanged. */
    public synchronized void readdAll() {
        for (String id : removedIds()) {
            readd(id, users.size());
        }
    }

    /** The ids of users removed (deleted or moved out) and not added back. */
    public synchronized List<String> removedIds() {
        List<String> ids = new ArrayList<>(gone.keySet());
        ids.sort(null);
        return ids;
    }

    /** Whether a user is listed now. */
    public synchronized boolean isListed(String id) {
        return listed.containsKey(id);
    }

    private void startMembership(String id) {
        Membership membership = new Membership(id, clockMicros);
        listed.put(id, membership);
        memberships.add(membership);
    }

    public synchronized String randomUserId() {
        return users.isEmpty() ? null : users.get(random.nextInt(users.size())).id;
    }

    public synchronized String userIdAt(int position) {
        return sorted().get(position).id;
    }

    public synchronized int userCount() {
        return users.size();
    }

    /** One random change: an edit, a rename, an insert or a delete, with the given weights. */
    public synchronized void randomChange(Random rnd, int editWeight, int renameWeight, int insertWeight, int deleteWeight) {
        int total = editWeight + renameWeight + insertWeight + deleteWeight;
        int pick = rnd.nextInt(total);
        String id = users.isEmpty() ? null : users.get(rnd.nextInt(users.size())).id;
        if (pick < editWeight) {
            if (id != null) {
                edit(id);
            }
        } else if (pick < editWeight + renameWeight) {
            if (id != null && tieGroups > 0) {
                rename(id, "Same", "Tie" + rnd.nextInt(tieGroups));
            } else if (id != null) {
                rename(id, FIRST[rnd.nextInt(FIRST.length)], LAST[rnd.nextInt(LAST.length)] + rnd.nextInt(1000));
            }
        } else if (pick < editWeight + renameWeight + insertWeight) {
            insertAt(rnd.nextInt(users.size() + 1));
        } else if (id != null) {
            delete(id);
        }
    }

    /**
     * One random change that also removes users in both ways and adds removed users back, with the
     * given weights: edit, rename, insert, delete (404), leave the organization (200 elsewhere),
     * add back (same id, same date_updated, at a random place).
     */
    public synchronized void randomChange(Random rnd, int editWeight, int renameWeight, int insertWeight,
                                          int deleteWeight, int leaveWeight, int readdWeight) {
        int total = editWeight + renameWeight + insertWeight + deleteWeight + leaveWeight + readdWeight;
        int pick = rnd.nextInt(total);
        int basic = editWeight + renameWeight + insertWeight + deleteWeight;
        if (pick < basic) {
            randomChange(rnd, editWeight, renameWeight, insertWeight, deleteWeight);
        } else if (pick < basic + leaveWeight) {
            if (!users.isEmpty()) {
                leaveOrganization(users.get(rnd.nextInt(users.size())).id);
            }
        } else if (!gone.isEmpty()) {
            List<String> ids = removedIds();
            readd(ids.get(rnd.nextInt(ids.size())), rnd.nextInt(users.size() + 1));
        }
    }

    private void touch(User user) {
        user.updatedMicros = tick();
        VersionLife old = current.get(user.id);
        old.endMicros = user.updatedMicros;
        record(user);
    }

    private void record(User user) {
        VersionLife life = new VersionLife(user.id, user.updatedMicros, Math.max(user.updatedMicros, clockMicros));
        current.put(user.id, life);
        history.add(life);
    }

    private User find(String id) {
        for (User user : users) {
            if (user.id.equals(id)) {
                return user;
            }
        }
        throw new IllegalArgumentException("no user " + id);
    }

    /** Every live user as Close JSON, in list order: what {@link #importUsers} reads back. */
    public synchronized ArrayNode exportUsers() {
        ArrayNode exported = JSON.createArrayNode();
        for (User user : users) {
            exported.add(toJson(user));
        }
        return exported;
    }

    /**
     * Adds users exported by {@link #exportUsers}, with their ids, names and dates (for example a
     * sandbox's users from its previous run). New ids continue after the highest imported one.
     */
    public synchronized void importUsers(ArrayNode exported) {
        for (var node : exported) {
            String id = node.get("id").textValue();
            User user = new User(id, node.get("first_name").textValue(), node.get("last_name").textValue(),
                    io.closeconnect.users.Timestamps.parseMicros(node.get("date_created").textValue()));
            user.email = node.get("email").textValue();
            user.updatedMicros = io.closeconnect.users.Timestamps.parseMicros(node.get("date_updated").textValue());
            user.extraField = node.hasNonNull("phone_number") ? node.get("phone_number").textValue() : null;
            users.add(user);
            record(user);
            startMembership(id);
            clockMicros = Math.max(clockMicros, user.updatedMicros);
            if (id.matches("user_\\d+")) {
                nextId = Math.max(nextId, Long.parseLong(id.substring(5)) + 1);
            }
        }
    }

    // ---------------------------------------------------------------- observation

    public synchronized List<VersionLife> history() {
        return List.copyOf(history);
    }

    /** Every stretch of time a user was listed, in the order they began. */
    public synchronized List<Membership> memberships() {
        return List.copyOf(memberships);
    }

    /** How many {@code GET /api/v1/user/{id}/} requests were answered. */
    public synchronized int lookupCount() {
        return lookups;
    }

    /** The current version of every live user, id to date_updated micros. */
    public synchronized Map<String, Long> currentVersions() {
        Map<String, Long> versions = new LinkedHashMap<>();
        for (User user : sorted()) {
            versions.put(user.id, user.updatedMicros);
        }
        return versions;
    }

    public synchronized List<Long> requestedSkips() {
        return List.copyOf(requestedSkips);
    }

    /** Forgets the requests served so far: {@link #requestCount()} and {@link #requestedSkips()} start again from 0. */
    public synchronized void forgetRequests() {
        requestedSkips.clear();
        if (requestedSkips instanceof ArrayList<Long> list) {
            list.trimToSize();
        }
    }

    public synchronized int requestCount() {
        return requestedSkips.size();
    }

    // ---------------------------------------------------------------- serving

    /**
     * The page in process, as {@link io.closeconnect.users.CloseApiClient} would return it: at most
     * {@link #maxLimit} users, as the client asks for after Close's {@code max_limit} 400, with the
     * {@code _limit} served in {@link UserPage#limit()}.
     */
    @Override
    public UserPage fetch(long skip, int limit) {
        synchronized (this) {
            int served = Math.min(limit, maxLimit);
            ObjectNode body = servePage(skip, served);
            List<CloseUser> page = new ArrayList<>();
            for (var node : body.withArray("data")) {
                page.add(closeUser((ObjectNode) node));
            }
            return new UserPage(page, body.get("has_more").booleanValue(), tick(), served);
        }
    }

    @Override
    public synchronized UserLookup lookUp(String id) {
        ObjectNode user = serveUser(id);
        return user == null ? UserLookup.notFound(NOT_FOUND_MESSAGE) : UserLookup.found(closeUser(user));
    }

    @Override
    public synchronized List<String> myOrganizations() {
        beforeEachRequest.accept(this);
        return List.of(ORGANIZATION);
    }

    private static CloseUser closeUser(ObjectNode user) {
        return new CloseUser(user.get("id").textValue(),
                io.closeconnect.users.Timestamps.parseMicros(user.get("date_updated").textValue()), user);
    }

    /** Answers {@code GET /api/v1/user/{id}/} after running the mutation hook: the user, or null for a 404. */
    private ObjectNode serveUser(String id) {
        beforeEachRequest.accept(this);
        lookups++;
        tick(); // answered after every change the hook made
        for (User user : users) {
            if (user.id.equals(id)) {
                return toJson(user);
            }
        }
        User removed = gone.get(id);
        return removed != null && removed.organization != null ? toJson(removed) : null;
    }

    /** Answers one users request, after running the mutation hook. */
    private ObjectNode servePage(long skip, int limit) {
        beforeEachRequest.accept(this);
        requestedSkips.add(skip);
        List<User> list = sorted();
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (long i = skip; i < Math.min(list.size(), skip + (long) limit); i++) {
            data.add(toJson(list.get((int) i)));
        }
        body.put("has_more", skip + limit < list.size());
        return body;
    }

    private List<User> sorted() {
        if (order == Order.DEFAULT) {
            return users;
        }
        List<User> copy = new ArrayList<>(users);
        if (order == Order.DATE_UPDATED) {
            copy.sort(Comparator.<User>comparingLong(u -> u.updatedMicros).thenComparing(u -> u.id));
        } else if (shuffleTies) {
            // Ties on the name come back in a new order on each request.
            Map<User, Integer> draw = new HashMap<>();
            for (User user : copy) {
                draw.put(user, random.nextInt());
            }
            copy.sort(Comparator.<User, String>comparing(u -> u.last).thenComparing(u -> u.first)
                    .thenComparing(draw::get));
        } else {
            copy.sort(Comparator.<User, String>comparing(u -> u.last).thenComparing(u -> u.first).thenComparing(u -> u.id));
        }
        return copy;
    }

    private ObjectNode toJson(User user) {
        ObjectNode node = JSON.createObjectNode();
        node.put("id", user.id);
        node.put("email", user.email);
        node.put("first_name", user.first);
        node.put("last_name", user.last);
        node.put("image", "https://secure.gravatar.com/avatar/" + user.id.hashCode());
        node.putArray("organizations").add(user.organization);
        node.put("date_created", closeTime(user.createdMicros));
        node.put("date_updated", closeTime(user.updatedMicros));
        node.putNull("email_verified_at");
        node.putNull("google_profile_image_url");
        node.put("last_used_timezone", "Europe/Paris");
        if (user.extraField != null) {
            node.put("phone_number", user.extraField);
        }
        return node;
    }

    public static String closeTime(long micros) {
        return CLOSE_TIME.format(Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L),
                Math.floorMod(micros, 1_000_000L) * 1_000L));
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
        long delay;
        synchronized (this) {
            delay = responseDelayMs;
        }
        if (delay > 0) {
            Thread.sleep(delay);
        }
        synchronized (this) {
            String expected = "Basic " + Base64.getEncoder().encodeToString((apiKey + ":").getBytes(StandardCharsets.UTF_8));
            String given = request.getHeaders().get("Authorization");
            boolean bearerOk = bearerToken != null && ("Bearer " + bearerToken).equals(given);
            if (!expected.equals(given) && !bearerOk) {
                return json(401, "{\"error\": \"Unauthorized\"}").build();
            }
            String path = request.getUrl().encodedPath();
            if (path.equals("/api/v1/me/")) {
                beforeEachRequest.accept(this);
                return json(200, "{\"id\": \"user_me\", \"email\": \"me@example.com\", \"organizations\": "
                        + "[{\"id\": \"" + ORGANIZATION + "\", \"name\": \"Fake Inc.\"}]}").build();
            }
            boolean lookup = path.startsWith("/api/v1/user/") && path.length() > "/api/v1/user/".length();
            if (lookup) {
                MockResponse queued = queuedLookups.poll();
                if (queued != null) {
                    return queued;
                }
            } else if (!path.equals("/api/v1/user/")) {
                return json(404, "{\"error\": \"The requested URL was not found on the server. If you entered the "
                        + "URL manually please check your spelling and try again.\"}").build();
            }
            // Queued answers and faults are for the pages; random faults hit every request.
            MockResponse queued = lookup ? null : queuedResponses.poll();
            if (queued != null) {
                return queued;
            }
            Fault fault = lookup ? null : faults.poll();
            if (fault == null && faultRate > 0 && random.nextDouble() < faultRate) {
                Fault[] kinds = {Fault.STATUS_429, Fault.STATUS_503_HTML, Fault.STATUS_500, Fault.TRUNCATED_JSON,
                        Fault.HTML_200, Fault.NO_DATA, Fault.DISCONNECT};
                fault = kinds[random.nextInt(kinds.length)];
            }
            if (fault != null) {
                return faultResponse(fault).build();
            }
            if (bucketPerSecond > 0) {
                refillBucket();
                if (bucketTokens < 1) {
                    double wait = (1 - bucketTokens) / bucketPerSecond;
                    return json(429, "{\"error\": \"Rate limit exceeded\"}")
                            .setHeader("Retry-After", String.format(java.util.Locale.ROOT, "%.3f", wait)).build();
                }
                bucketTokens -= 1;
            }
            if (rateLimitPerWindow > 0) {
                long nowMs = System.currentTimeMillis();
                if (nowMs - windowStartMs >= 1_000) {
                    windowStartMs = nowMs;
                    usedInWindow = 0;
                }
                if (usedInWindow >= rateLimitPerWindow) {
                    double reset = Math.max(0.001, (1_000 - (nowMs - windowStartMs)) / 1000.0);
                    return json(429, "{\"error\": \"Rate limit exceeded\"}")
                            .setHeader("Retry-After", String.format(java.util.Locale.ROOT, "%.3f", reset)).build();
                }
                usedInWindow++;
            }
            if (lookup) {
                // One user: the same budget as the pages, as Close counts every request of the key.
                ObjectNode user = serveUser(path.substring("/api/v1/user/".length()).replaceAll("/$", ""));
                return user == null ? json(404, "{\"error\": \"" + NOT_FOUND_MESSAGE + "\"}").build()
                        : json(200, user.toString()).build();
            }
            long skip;
            int limit;
            try {
                skip = Long.parseLong(orDefault(request.getUrl().queryParameter("_skip"), "0"));
                limit = Integer.parseInt(orDefault(request.getUrl().queryParameter("_limit"), "100"));
            } catch (NumberFormatException e) {
                return json(400, "{\"error\": \"Invalid paging parameters\"}").build();
            }
            if (limit > maxLimit) {
                return json(400, "{\"error\": \"The limit you set is larger than the maximum limit for this resource "
                        + "(max_limit = " + maxLimit + ").\"}").build();
            }
            if (skip > maxSkip) {
                return json(400, "{\"error\": \"The skip you set is larger than the maximum skip for this resource "
                        + "(max_skip = " + maxSkip + ").\"}").build();
            }
            String orderBy = request.getUrl().queryParameter("_order_by");
            if (orderBy != null && !orderBy.equals("last_name,first_name") && !orderBy.equals("first_name,last_name")) {
                return json(400, "{\"error\": \"Invalid _order_by\"}").build();
            }
            ObjectNode body = servePage(skip, limit);
            MockResponse.Builder response = json(200, body.toString());
            if (virtualClock) {
                response.setHeader("Date", HTTP_DATE.format(Instant.ofEpochSecond(Math.floorDiv(tick(), 1_000_000L))));
            }
            return response.build();
        }
    }

    private void refillBucket() {
        long now = System.nanoTime();
        bucketTokens = Math.min(bucketBurst, bucketTokens + (now - bucketAtNanos) / 1e9 * bucketPerSecond);
        bucketAtNanos = now;
    }

    private MockResponse.Builder json(int code, String body) {
        if (bucketPerSecond > 0) {
            refillBucket();
            double reset = (bucketBurst - bucketTokens) / bucketPerSecond;
            return new MockResponse.Builder().code(code)
                    .setHeader("Content-Type", "application/json")
                    .setHeader("RateLimit", "limit=" + bucketBurst + ", remaining=" + (int) Math.floor(bucketTokens)
                            + ", reset=" + String.format(java.util.Locale.ROOT, "%.3f", reset))
                    .body(body);
        }
        int limit = rateLimitPerWindow > 0 ? rateLimitPerWindow : 1000;
        int remaining = rateLimitPerWindow > 0 ? Math.max(0, rateLimitPerWindow - usedInWindow) : 999;
        String reset = rateLimitPerWindow > 0
                ? String.format(java.util.Locale.ROOT, "%.3f",
                        Math.max(0.001, (1_000 - (System.currentTimeMillis() - windowStartMs)) / 1000.0))
                : "1";
        return new MockResponse.Builder().code(code)
                .setHeader("Content-Type", "application/json")
                .setHeader("RateLimit", "limit=" + limit + ", remaining=" + remaining + ", reset=" + reset)
                .body(body);
    }

    private MockResponse.Builder faultResponse(Fault fault) {
        return switch (fault) {
            case STATUS_429 -> json(429, "{\"error\": \"Rate limit exceeded\"}").setHeader("Retry-After", "0.05");
            case STATUS_503_HTML -> new MockResponse.Builder().code(503).setHeader("Content-Type", "text/html")
                    .body("<html><body><h1>503 Service Unavailable</h1></body></html>");
            case STATUS_500 -> json(500, "{\"error\": \"Internal error\"}");
            case TRUNCATED_JSON -> json(200, "{\"data\": [{\"id\": \"user_trunc");
            case HTML_200 -> new MockResponse.Builder().code(200).setHeader("Content-Type", "text/html")
                    .body("<html>maintenance</html>");
            case NO_DATA -> json(200, "{\"has_more\": false}");
            case DISCONNECT -> new MockResponse.Builder().onRequestStart(new SocketEffect.CloseSocket(true, false, false));
            case SLOW -> json(200, "{}").headersDelay(60, TimeUnit.SECONDS);
        };
    }

    private static String orDefault(String value, String fallback) {
        return value == null ? fallback : value;
    }
}
