package io.closeconnect.users;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import okhttp3.Call;
import okhttp3.Credentials;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

import org.apache.kafka.common.config.types.Password;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Close API over HTTP: authentication, rate limiting, retries with backoff, and turning
 * answers into pages or into errors that say what to fix. The credential appears in the
 * {@code Authorization} header only, never in a message.
 */
public final class CloseApiClient implements UserSource, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CloseApiClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_ERROR_TEXT = 500;
    private static final Pattern MAX_LIMIT = Pattern.compile("max_limit\\s*=\\s*(\\d+)");
    private static final Pattern MAX_SKIP = Pattern.compile("max_skip\\s*=\\s*(\\d+)");
    private static final long MAX_RATE_LIMIT_WAIT_MS = 3_600_000L;
    /** A floor under 429 waits, so that "Retry-After: 0" cannot make a busy loop. */
    private static final long MIN_RATE_LIMIT_WAIT_MS = 50L;
    /**
     * Answers in a row, for one page, whose body is not JSON at all (an HTML page, plain text, an
     * empty body) before the fetch stops retrying: Close's API always answers JSON, so the URL is
     * not Close's API, and waiting out retry.max.elapsed.ms would not change that.
     */
    static final int NOT_JSON_IN_A_ROW = 5;

    private final HttpUrl usersUrl;
    private final String apiUrl;
    private final String authorization;
    private final String secret;
    private final String credentialKey;
    private final String orderBy;
    private final int pageSize;
    private final boolean pageSizeSet;
    /** Close's max_limit once a 400 named it; until then no cap. Read and written by the fetching thread only. */
    private int maxLimit = Integer.MAX_VALUE;
    private final OkHttpClient http;
    private final Sleeper sleeper;
    private final RateLimiter rateLimiter;
    private final long backoffInitialMs;
    private final long backoffMaxMs;
    private final long maxElapsedMs;
    private volatile Call inFlight;
    private volatile boolean closed;

    // Written by the task thread only, read by metrics from any thread.
    private volatile long requests;
    private volatile long rateLimited;
    private volatile long retries;

    public CloseApiClient(CloseUsersConfig config, Sleeper sleeper) {
        this.apiUrl = config.apiUrl();
        this.usersUrl = baseUrl(config).newBuilder().addPathSegments("api/v1/user/").build();
        this.secret = secret(config);
        this.authorization = authorization(config);
        this.credentialKey = config.credentialKey();
        this.orderBy = config.orderBy();
        this.pageSize = config.pageSize();
        this.pageSizeSet = config.pageSizeSet();
        this.sleeper = sleeper;
        this.rateLimiter = new RateLimiter(config.maxRequestsPerSecond());
        this.backoffInitialMs = config.retryBackoffInitialMs();
        this.backoffMaxMs = Math.max(config.retryBackoffMaxMs(), backoffInitialMs);
        this.maxElapsedMs = config.retryMaxElapsedMs();
        this.http = new OkHttpClient.Builder()
                .callTimeout(Duration.ofMillis(config.httpTimeoutMs()))
                .connectTimeout(Duration.ofMillis(Math.min(config.httpTimeoutMs(), 10_000)))
                .readTimeout(Duration.ofMillis(config.httpTimeoutMs()))
                .retryOnConnectionFailure(true)
                .build();
    }

    /**
     * Returns the page at {@code skip}, retrying what is worth retrying.
     *
     * <ul>
     *   <li>429: waits for Retry-After, else the RateLimit reset, else 2 s, and asks for the same page
     *       again, as often as needed. These waits do not count against the retry budget.</li>
     *   <li>5xx, 408, timeouts, broken connections and 2xx bodies that are not a page (truncated
     *       JSON, HTML, no {@code data}): exponential backoff with full jitter, until the failures of
     *       this page have taken {@code retry.max.elapsed.ms}; then a {@link CloseApiException}.</li>
     *   <li>A 400 that names Close's {@code max_limit = N}, below the {@code _limit} asked for: asks
     *       for the same page with N at once, and for at most N from then on, for the life of this
     *       client. Not a failure: no retry, no wait, nothing against the budget. Logged once, at
     *       INFO when {@code page.size} was left to its default, at WARN when it was set above N.</li>
     *   <li>Any other status: a {@link CloseApiException} at once, saying what to change.</li>
     * </ul>
     *
     * @return the page, whose {@link UserPage#limit()} is the {@code _limit} it was served with
     * @throws InterruptedException when the task stops (the sleeper woke up or the client closed)
     */
    @Override
    public UserPage fetch(long skip, int limit) throws InterruptedException {
        int served = Math.min(limit, maxLimit);
        while (true) {
            int asked = served;
            PageAnswer answer = call(request(pageUrl(skip, asked)), what(skip, asked),
                    (status, body, response, sentAtMicros) -> {
                if (status >= 200 && status < 300) {
                    try {
                        return new PageAnswer(UserPageParser.parse(body, servedAt(response, sentAtMicros), asked), 0);
                    } catch (UserPageParser.MalformedPageException e) {
                        throw new MalformedAnswer((isHtml(response) ? "an HTML page instead of JSON"
                                : "a malformed answer") + " with status " + status + ": " + e.getMessage());
                    }
                }
                String error = errorText(body);
                int closeMax = status == 400 ? maxLimitNamed(error) : -1;
                if (closeMax < 2 || closeMax >= asked) {
                    throw fatal(status, error, skip, asked);
                }
                return new PageAnswer(null, closeMax);
            });
            if (answer.page() != null) {
                return answer.page();
            }
            adoptMaxLimit(answer.maxLimit(), asked);
            served = answer.maxLimit();
        }
    }

    /** A page, or Close's largest {@code _limit} when it refused the one asked for. */
    private record PageAnswer(UserPage page, int maxLimit) {
    }

    /**
     * {@code GET /api/v1/user/{id}/}, with the retries of {@link #fetch}: 429s, 5xx, timeouts and
     * malformed bodies are retried within {@code retry.max.elapsed.ms}; a 401 or 402 fails the task
     * as it would for the list. A 404 in Close's JSON (the id matches no user) is
     * {@link UserLookup.Outcome#NOT_FOUND}; a 404 for an unknown path, an HTML page, a 403 and any
     * other status are {@link UserLookup.Outcome#INCONCLUSIVE}: they say nothing about the user.
     */
    @Override
    public UserLookup lookUp(String id) throws InterruptedException {
        HttpUrl url = usersUrl.newBuilder().addPathSegment(id).addPathSegment("").build();
        String what = "GET /api/v1/user/" + id + "/";
        return call(request(url), what, (status, body, response, sentAtMicros) -> {
            String error = errorText(body);
            if (status >= 200 && status < 300) {
                try {
                    return UserLookup.found(UserPageParser.parseUser(body));
                } catch (UserPageParser.MalformedPageException e) {
                    throw new MalformedAnswer((isHtml(response) ? "an HTML page instead of JSON" : "a malformed answer")
                            + " with status " + status + ": " + e.getMessage());
                }
            }
            if (status == 401 || status == 402) {
                throw fatal(status, error, -1, 0);
            }
            if (status == 404 && !isHtml(response) && isCloseError(body)
                    && !error.toLowerCase(Locale.ROOT).contains("requested url was not found")) {
                return UserLookup.notFound(redact(error));
            }
            return UserLookup.inconclusive(status, redact(isHtml(response) ? "an HTML page" : error));
        });
    }

    /**
     * The organizations of the credential's user, from {@code GET /api/v1/me/}, with the retries of
     * {@link #fetch}. Null when Close's answer lists none or the request is refused (other than 401/402,
     * which fail the task).
     */
    @Override
    public java.util.List<String> myOrganizations() throws InterruptedException {
        HttpUrl url = usersUrl.newBuilder().encodedPath("/api/v1/me/")
                .addQueryParameter("_fields", "id,organizations").build();
        return call(request(url), "GET /api/v1/me/", (status, body, response, sentAtMicros) -> {
            if (status == 401 || status == 402) {
                throw fatal(status, errorText(body), -1, 0);
            }
            if (status < 200 || status >= 300) {
                log.warn("GET /api/v1/me/ answered {} {}; the organizations of the credential's user are unknown",
                        status, redact(errorText(body)));
                return null;
            }
            try {
                JsonNode root = JSON.readTree(body);
                if (root == null || !root.isObject()) {
                    throw new MalformedAnswer("an answer that is not a JSON object, with status " + status);
                }
                return Departures.organizations(root.get("organizations"));
            } catch (JsonProcessingException e) {
                throw new MalformedAnswer((isHtml(response) ? "an HTML page instead of JSON" : "a malformed answer")
                        + " with status " + status);
            }
        });
    }

    /** Reads a final answer (not a 429, 5xx or 408): a value, a {@link MalformedAnswer} to retry, or a fatal error. */
    @FunctionalInterface
    private interface AnswerReader<T> {
        T read(int status, String body, Response response, long sentAtMicros) throws MalformedAnswer;
    }

    /** An answer that is worth asking for again, as a 5xx is: a 2xx whose body is not what was asked for. */
    private static final class MalformedAnswer extends Exception {
        MalformedAnswer(String failure) {
            super(failure, null, false, false);
        }
    }

    /**
     * Sends {@code request} until {@code reader} accepts an answer.
     *
     * <ul>
     *   <li>429: waits for Retry-After, else the RateLimit reset, else 2 s, and asks again, as often as
     *       needed. These waits do not count against the retry budget.</li>
     *   <li>5xx, 408, timeouts, broken connections and answers the reader finds malformed: exponential
     *       backoff with full jitter, until the failures of this request have taken
     *       {@code retry.max.elapsed.ms}; then a {@link CloseApiException}. A 2xx that is not JSON at
     *       all {@value #NOT_JSON_IN_A_ROW} times in a row is not Close's API: a
     *       {@link CloseApiException} that says to fix {@code close.api.url}, at once.</li>
     *   <li>Any other answer: whatever the reader makes of it (a value or a fatal error).</li>
     * </ul>
     *
     * @throws InterruptedException when the task stops (the sleeper woke up or the client closed)
     */
    private <T> T call(Request request, String what, AnswerReader<T> reader) throws InterruptedException {
        long failingMs = 0;
        int attempt = 0;
        int rateLimitedInARow = 0;
        int notJsonInARow = 0;
        while (true) {
            if (closed) {
                throw new InterruptedException("the task is stopping");
            }
            rateLimiter.acquire(sleeper);
            String failure;
            long sentAtMicros = Timestamps.toMicros(Instant.now());
            long attemptStart = System.nanoTime();
            Call call = http.newCall(request);
            inFlight = call;
            if (closed) {
                call.cancel();
            }
            requests++;
            try (Response response = call.execute()) {
                rateLimiter.update(response.headers());
                int status = response.code();
                if (status == 429) {
                    rateLimited++;
                    // A server that keeps answering 429 with a tiny Retry-After gets a growing floor
                    // (50 ms, doubling to 2 s), not a stream of requests.
                    long floorMs = Math.min(2_000L, MIN_RATE_LIMIT_WAIT_MS << Math.min(rateLimitedInARow++, 6));
                    long waitMs = Math.max(floorMs, rateLimitWaitMs(response));
                    log.warn("Close rate limit hit (429) on {}; waiting {} ms, then asking again", what, waitMs);
                    rateLimiter.exhausted(waitMs);
                    continue;
                }
                String body = readBody(response.body());
                notJsonInARow = status >= 200 && status < 300 && notJson(response, body) ? notJsonInARow + 1 : 0;
                if (status >= 500 || status == 408) {
                    failure = "status " + status + (isHtml(response) ? " (an HTML page)" : " " + errorText(body));
                } else {
                    try {
                        return reader.read(status, body, response, sentAtMicros);
                    } catch (MalformedAnswer e) {
                        failure = e.getMessage();
                    }
                    if (notJsonInARow >= NOT_JSON_IN_A_ROW) {
                        throw notCloseApi(status, response, body, what, notJsonInARow);
                    }
                }
            } catch (IOException e) {
                // A call cancelled by close() ends the request; one cancelled by its own timeout is retried.
                if (closed || sleeper.stopped()) {
                    throw new InterruptedException("the task is stopping");
                }
                notJsonInARow = 0;
                failure = (e instanceof InterruptedIOException ? "a timeout" : "a connection failure")
                        + " (" + e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")";
            } finally {
                inFlight = null;
            }

            failingMs += (System.nanoTime() - attemptStart) / 1_000_000L;
            if (failingMs >= maxElapsedMs) {
                String message = redact("Close kept failing on " + what + " for " + failingMs + " ms ("
                        + (attempt + 1) + " attempts), which exhausts " + CloseUsersConfig.RETRY_MAX_ELAPSED_MS
                        + "=" + maxElapsedMs + "; the last failure was " + failure + ". The offsets still point "
                        + "at this request, so nothing is lost: restart the task once Close answers again, or raise "
                        + CloseUsersConfig.RETRY_MAX_ELAPSED_MS + "."
                        + (notJsonInARow > 0 ? " Close's API always answers JSON: if " + CloseUsersConfig.API_URL
                                + " (now " + apiUrl + ") is wrong, set it to " + CloseUsersConfig.DEFAULT_API_URL
                                + ", without /api/v1." : ""));
                log.error(message);
                throw new CloseApiException(0, message);
            }
            long ceiling = backoffCeilingMs(attempt, backoffInitialMs, backoffMaxMs);
            long waitMs = Math.min(ThreadLocalRandom.current().nextLong(ceiling + 1), maxElapsedMs - failingMs);
            attempt++;
            retries++;
            log.warn("{} failed with {}; retry {} in {} ms", what, redact(failure), attempt, waitMs);
            sleeper.sleep(waitMs);
            failingMs += waitMs;
        }
    }

    /** Whether a body is Close's JSON error shape: an object with {@code error} or {@code errors}. */
    private static boolean isCloseError(String body) {
        try {
            JsonNode root = JSON.readTree(body);
            return root != null && root.isObject() && (root.has("error") || root.has("errors"));
        } catch (JsonProcessingException e) {
            return false;
        }
    }

    /**
     * Close's largest {@code _limit}, learned from a 400 that names it: asks for at most that from
     * now on. Logs it at INFO when {@code page.size} was left to its default (asking for the
     * largest page Close serves is the point of the default), at WARN when it was set explicitly.
     */
    private void adoptMaxLimit(int closeMax, int asked) {
        maxLimit = closeMax;
        if (pageSizeSet) {
            log.warn("{}={} is more than Close serves: it answered _limit={} with max_limit = {}. Asking for {} users "
                    + "a page from now on; set {} to at most {} to silence this warning.", CloseUsersConfig.PAGE_SIZE,
                    pageSize, asked, closeMax, closeMax, CloseUsersConfig.PAGE_SIZE, closeMax);
        } else {
            log.info("Close serves at most {} users a page (max_limit = {}, answering _limit={}); asking for {} from "
                    + "now on", closeMax, closeMax, asked, closeMax);
        }
    }

    /** The N of {@code max_limit = N} in a 400's message, or -1 when it names none. */
    static int maxLimitNamed(String error) {
        Matcher max = MAX_LIMIT.matcher(error);
        if (!max.find()) {
            return -1;
        }
        try {
            return Integer.parseInt(max.group(1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private HttpUrl pageUrl(long skip, int limit) {
        HttpUrl.Builder url = usersUrl.newBuilder()
                .addQueryParameter("_skip", Long.toString(skip))
                .addQueryParameter("_limit", Integer.toString(limit));
        if (!orderBy.isEmpty()) {
            url.addQueryParameter("_order_by", orderBy);
        }
        return url.build();
    }

    private static String what(long skip, int limit) {
        return "GET /api/v1/user/?_skip=" + skip + "&_limit=" + limit;
    }

    /** The upper bound of the jittered wait before retry {@code attempt + 1}: initial doubled per attempt, capped. */
    static long backoffCeilingMs(int attempt, long initialMs, long maxMs) {
        if (attempt >= 62 || initialMs > (maxMs >> Math.min(attempt, 62))) {
            return maxMs;
        }
        return Math.min(maxMs, initialMs << attempt);
    }

    /**
     * One {@code GET /api/v1/me/} with the configured credential, for {@code validate()}: no retry,
     * and at most {@code timeout} in all. Never throws.
     */
    public static AccessCheck checkAccess(CloseUsersConfig config, Duration timeout) {
        OkHttpClient client = new OkHttpClient.Builder()
                .callTimeout(timeout)
                .connectTimeout(timeout)
                .readTimeout(timeout)
                .retryOnConnectionFailure(false)
                .build();
        String secret = secret(config);
        String authorization = authorization(config);
        HttpUrl url = baseUrl(config).newBuilder().addPathSegments("api/v1/me/")
                .addQueryParameter("_fields", "id").build();
        Request request = new Request.Builder().url(url)
                .header("Authorization", authorization)
                .header("User-Agent", "kafka-connect-close/" + Version.get())
                .header("Accept", "application/json")
                .build();
        try (Response response = client.newCall(request).execute()) {
            String body = readBody(response.body());
            boolean jsonObject = isJsonObject(body);
            String detail = jsonObject || !(response.code() >= 200 && response.code() < 300)
                    ? errorText(body) : describeNotJson(response, body);
            if (response.priorResponse() != null) {
                detail += (detail.isEmpty() ? "" : ", ") + "after a redirect to " + response.request().url();
            }
            return new AccessCheck(response.code(), redact(detail, secret, authorization), jsonObject);
        } catch (IOException e) {
            String reason = e instanceof InterruptedIOException
                    ? "no answer within " + timeout.toMillis() + " ms"
                    : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            return new AccessCheck(0, redact(reason, secret, authorization), false);
        } finally {
            client.dispatcher().executorService().shutdown();
            client.connectionPool().evictAll();
        }
    }

    /**
     * The answer of {@link #checkAccess}.
     *
     * @param status     the HTTP status the server sent, or 0 when no answer came (unreachable host, timeout)
     * @param detail     Close's error message; for a 2xx that is not a JSON object, what the body was;
     *                   or why no answer came
     * @param jsonObject whether the body was a JSON object, as Close's {@code /api/v1/me/} always is
     */
    public record AccessCheck(int status, String detail, boolean jsonObject) {
    }

    /** Cancels the request in flight, if any, and releases the connection pool and dispatcher threads. */
    @Override
    public void close() {
        closed = true;
        Call call = inFlight;
        if (call != null) {
            call.cancel();
        }
        http.dispatcher().cancelAll();
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    /** Ends the client as {@link #close()} does: a {@code fetch} in progress throws {@link InterruptedException}. */
    public void cancel() {
        close();
    }

    public long requests() {
        return requests;
    }

    public long rateLimited() {
        return rateLimited;
    }

    public long retries() {
        return retries;
    }

    public long takeRateLimitWaitMillis() {
        return rateLimiter.takeWaitedMillis();
    }

    private static HttpUrl baseUrl(CloseUsersConfig config) {
        HttpUrl base = HttpUrl.parse(config.apiUrl());
        if (base == null) {
            throw new IllegalArgumentException(CloseUsersConfig.API_URL + " is not a URL: " + config.apiUrl());
        }
        return base;
    }

    private static String secret(CloseUsersConfig config) {
        Password key = config.apiKey();
        return key != null ? key.value() : config.oauthAccessToken().value();
    }

    /** Basic with the key as user name and an empty password, or Bearer with the OAuth token. */
    private static String authorization(CloseUsersConfig config) {
        Password key = config.apiKey();
        return key != null ? Credentials.basic(key.value(), "") : "Bearer " + config.oauthAccessToken().value();
    }

    private Request request(HttpUrl url) {
        return new Request.Builder()
                .url(url)
                .header("Authorization", authorization)
                .header("User-Agent", "kafka-connect-close/" + Version.get())
                .header("Accept", "application/json")
                .build();
    }

    private static long rateLimitWaitMs(Response response) {
        double seconds = RateLimiter.retryAfterSeconds(response.headers(), Instant.now());
        return Math.max(MIN_RATE_LIMIT_WAIT_MS, Math.min(MAX_RATE_LIMIT_WAIT_MS, (long) Math.ceil(seconds * 1000)));
    }

    /** Whether the body is not JSON at all: an HTML page, plain text, nothing. Broken JSON does not count. */
    private static boolean notJson(Response response, String body) {
        if (isHtml(response)) {
            return true;
        }
        String start = body.stripLeading();
        return !(start.startsWith("{") || start.startsWith("["));
    }

    private static boolean isJsonObject(String body) {
        try {
            JsonNode root = JSON.readTree(body);
            return root != null && root.isObject();
        } catch (JsonProcessingException e) {
            return false;
        }
    }

    /** What a 2xx body that is not a JSON object was, with its start, for a message. */
    private static String describeNotJson(Response response, String body) {
        String text = body.strip().replaceAll("\\s+", " ");
        String start = text.length() > 80 ? text.substring(0, 80) + "..." : text;
        String type = response.header("Content-Type");
        String kind = isHtml(response) ? "an HTML page" : text.isEmpty() ? "an empty body"
                : notJson(response, body) ? "a body that is not JSON" : "a body that is not a JSON object";
        return kind + (type == null ? "" : " (Content-Type " + type + ")") + (start.isEmpty() ? "" : ": '" + start + "'");
    }

    /** The task's end when a page kept coming back as something other than JSON. */
    private CloseApiException notCloseApi(int status, Response response, String body, String what, int times) {
        String message = redact("GET " + apiUrl + what.substring("GET ".length()) + " answered " + times
                + " times in a row with status " + status + " and " + describeNotJson(response, body)
                + ". Close's API always answers JSON, so " + CloseUsersConfig.API_URL + " (now " + apiUrl
                + ") does not point at it: set " + CloseUsersConfig.API_URL + " to " + CloseUsersConfig.DEFAULT_API_URL
                + " (without /api/v1), or to your proxy of it, then restart the task. The offsets still point at "
                + "this page, so nothing is lost.");
        log.error(message);
        return new CloseApiException(status, message);
    }

    private static boolean isHtml(Response response) {
        String type = response.header("Content-Type", "");
        return type != null && type.toLowerCase(Locale.ROOT).contains("html");
    }

    private static long servedAt(Response response, long sentAtMicros) {
        java.util.Date date = response.headers().getDate("Date");
        if (date == null) {
            return sentAtMicros;
        }
        return Math.min(sentAtMicros, date.getTime() * 1_000L);
    }

    private static String readBody(ResponseBody body) throws IOException {
        return body == null ? "" : body.string();
    }

    private CloseApiException fatal(int status, String error, long skip, int limit) {
        String quoted = error.isEmpty() ? "" : ": " + error;
        String message = switch (status) {
            case 400 -> badRequest(quoted, error, skip, limit);
            case 401 -> "Close rejected the credentials (401 Unauthorized" + quoted + "). Check " + credentialKey
                    + (credentialKey.equals(CloseUsersConfig.API_KEY)
                        ? ": it must be a valid, active Close API key."
                        : ": the OAuth access token may have expired (they last an hour) or been revoked.");
            case 402 -> "Close refused the request because of the account's plan (402 Payment Required" + quoted
                    + "). The organization's subscription must allow API access; no setting of the connector "
                    + "can change that.";
            case 403 -> "Close forbade listing users (403 Forbidden" + quoted + "). The user behind "
                    + credentialKey + " needs permission to list the organization's users; use a credential "
                    + "of a user who has it.";
            case 404 -> "Close answered 404 Not Found for /api/v1/user/" + quoted + ". Check "
                    + CloseUsersConfig.API_URL + " (now " + apiUrl + "); it should be "
                    + CloseUsersConfig.DEFAULT_API_URL + ", without /api/v1.";
            default -> "Close answered " + status + " to GET /api/v1/user/" + quoted + ", which the connector "
                    + "does not retry.";
        };
        message = redact(message);
        log.error(message);
        return new CloseApiException(status, message);
    }

    private static String badRequest(String quoted, String error, long skip, int limit) {
        String lower = error.toLowerCase(Locale.ROOT);
        if (lower.contains("max_limit") || lower.contains("maximum limit")) {
            // A max_limit of 2 or more below the _limit asked for never gets here: fetch() adopts it.
            int max = maxLimitNamed(error);
            if (max >= 0 && max < 2) {
                return "Close serves at most " + max + " user a page (400" + quoted + "), and the sync needs pages "
                        + "of 2, since consecutive pages overlap by one user: the connector cannot page through "
                        + "this account, and no setting of it can change that.";
            }
            return "Close rejected _limit=" + limit + " as too large (400" + quoted + ") without naming a smaller "
                    + "max_limit. Set " + CloseUsersConfig.PAGE_SIZE + " below " + limit + ".";
        }
        if (lower.contains("skip")) {
            Matcher max = MAX_SKIP.matcher(error);
            String cap = max.find() ? max.group(1) : "about " + skip;
            return "Close refused to page past _skip=" + skip + " (400" + quoted + "). Close lets no client read "
                    + "past position " + cap + " of the user list (max_skip), and this account lists more users "
                    + "than that: the users beyond that position cannot be read through /api/v1/user/, so a "
                    + "sweep cannot complete, and no setting of the connector can change that. Ask Close "
                    + "support whether max_skip can be raised for the account.";
        }
        return "Close rejected GET /api/v1/user/?_skip=" + skip + "&_limit=" + limit + " (400" + quoted
                + "). Check " + CloseUsersConfig.PAGE_SIZE + " and " + CloseUsersConfig.ORDER_BY + ".";
    }

    /** Close's {@code error} message, or its validation errors, or the start of the body. */
    static String errorText(String body) {
        String text;
        try {
            JsonNode root = JSON.readTree(body);
            if (root != null && root.isObject() && root.hasNonNull("error")) {
                JsonNode error = root.get("error");
                text = error.isTextual() ? error.textValue() : error.toString();
            } else if (root != null && root.isObject() && (root.has("errors") || root.has("field-errors"))) {
                text = "errors " + root.path("errors") + ", field-errors " + root.path("field-errors");
            } else {
                text = body.strip();
            }
        } catch (JsonProcessingException e) {
            text = body.strip();
        }
        if (text.length() > MAX_ERROR_TEXT) {
            text = text.substring(0, MAX_ERROR_TEXT) + "...";
        }
        return text.replaceAll("\\s+", " ");
    }

    private String redact(String text) {
        return redact(text, secret, authorization);
    }

    /**
     * Hides the credential in a text that may quote it: the key or token itself, and the encoded
     * credentials of the Authorization header, which a proxy's error page could echo.
     */
    static String redact(String text, String secret, String authorization) {
        String hidden = secret.isEmpty() ? text : text.replace(secret, "[hidden]");
        String credentials = authorization.substring(authorization.indexOf(' ') + 1);
        return credentials.isEmpty() ? hidden : hidden.replace(credentials, "[hidden]");
    }
}
