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
        Request request = request(pageUrl(skip, served));
        String what = what(skip, served);

        long failingMs = 0;
        int attempt = 0;
        int rateLimitedInARow = 0;
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
                    log.warn("Close rate limit hit (429) on {}; waiting {} ms, then asking for the same page again",
                            what, waitMs);
                    rateLimiter.exhausted(waitMs);
                    continue;
                }
                String body = readBody(response.body());
                if (status >= 200 && status < 300) {
                    try {
                        return UserPageParser.parse(body, servedAt(response, sentAtMicros), served);
                    } catch (UserPageParser.MalformedPageException e) {
                        failure = (isHtml(response) ? "an HTML page instead of JSON" : "a malformed answer")
                                + " with status " + status + ": " + e.getMessage();
                    }
                } else if (status >= 500 || status == 408) {
                    failure = "status " + status + (isHtml(response) ? " (an HTML page)" : " " + errorText(body));
                } else {
                    String error = errorText(body);
                    int closeMax = status == 400 ? maxLimitNamed(error) : -1;
                    if (closeMax < 2 || closeMax >= served) {
                        throw fatal(status, error, skip, served);
                    }
                    adoptMaxLimit(closeMax, served);
                    served = closeMax;
                    request = request(pageUrl(skip, served));
                    what = what(skip, served);
                    continue;
                }
            } catch (IOException e) {
                // A call cancelled by close() ends the fetch; one cancelled by its own timeout is retried.
                if (closed || sleeper.stopped()) {
                    throw new InterruptedException("the task is stopping");
                }
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
                        + "at this page, so nothing is lost: restart the task once Close answers again, or raise "
                        + CloseUsersConfig.RETRY_MAX_ELAPSED_MS + ".");
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
            String error = redact(errorText(body), secret, authorization);
            if (response.code() == 200 && isHtml(response)) {
                return new AccessCheck(404, "an HTML page instead of JSON");
            }
            return new AccessCheck(response.code(), error);
        } catch (IOException e) {
            String reason = e instanceof InterruptedIOException
                    ? "no answer within " + timeout.toMillis() + " ms"
                    : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            return new AccessCheck(0, redact(reason, secret, authorization));
        } finally {
            client.dispatcher().executorService().shutdown();
            client.connectionPool().evictAll();
        }
    }

    /**
     * The answer of {@link #checkAccess}.
     *
     * @param status the HTTP status, or 0 when no answer came (unreachable host, timeout)
     * @param detail Close's error message, or why no answer came
     */
    public record AccessCheck(int status, String detail) {
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
