package io.closeconnect.users;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

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
    private static final long MAX_RATE_LIMIT_WAIT_MS = 3_600_000L;

    private final HttpUrl usersUrl;
    private final String apiUrl;
    private final String authorization;
    private final String secret;
    private final String orderBy;
    private final OkHttpClient http;
    private final Sleeper sleeper;
    private final RateLimiter rateLimiter;
    private final long backoffInitialMs;
    private final long backoffMaxMs;
    private final long maxElapsedMs;
    private volatile Call inFlight;

    private long requests;
    private long rateLimited;
    private long retries;

    public CloseApiClient(CloseUsersConfig config, Sleeper sleeper) {
        this.apiUrl = config.apiUrl();
        HttpUrl base = HttpUrl.parse(apiUrl);
        if (base == null) {
            throw new IllegalArgumentException(CloseUsersConfig.API_URL + " is not a URL: " + apiUrl);
        }
        this.usersUrl = base.newBuilder().addPathSegments("api/v1/user/").build();
        this.secret = config.apiKey().value();
        this.authorization = Credentials.basic(secret, "");
        this.orderBy = config.orderBy();
        this.sleeper = sleeper;
        this.rateLimiter = new RateLimiter(0);
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

    @Override
    public UserPage fetch(long skip, int limit) throws InterruptedException {
        HttpUrl.Builder url = usersUrl.newBuilder()
                .addQueryParameter("_skip", Long.toString(skip))
                .addQueryParameter("_limit", Integer.toString(limit));
        if (!orderBy.isEmpty()) {
            url.addQueryParameter("_order_by", orderBy);
        }
        Request request = new Request.Builder()
                .url(url.build())
                .header("Authorization", authorization)
                .header("User-Agent", "kafka-connect-close/" + Version.get())
                .header("Accept", "application/json")
                .build();
        String what = "GET /api/v1/user/?_skip=" + skip + "&_limit=" + limit;

        long firstFailure = 0;
        int attempt = 0;
        while (true) {
            rateLimiter.acquire(sleeper);
            String failure;
            long sentAtMicros = Timestamps.toMicros(java.time.Instant.now());
            Call call = http.newCall(request);
            inFlight = call;
            requests++;
            try (Response response = call.execute()) {
                rateLimiter.update(response.headers());
                int status = response.code();
                if (status == 429) {
                    rateLimited++;
                    long waitMs = Math.min(MAX_RATE_LIMIT_WAIT_MS,
                            (long) Math.ceil(RateLimiter.retryAfterSeconds(response.headers()) * 1000));
                    log.warn("Close rate limit hit (429) on {}; waiting {} ms, then trying the same page again", what, waitMs);
                    rateLimiter.exhausted(waitMs);
                    continue;
                }
                String body = readBody(response.body());
                if (status >= 200 && status < 300) {
                    try {
                        return UserPageParser.parse(body, servedAt(response, sentAtMicros));
                    } catch (UserPageParser.MalformedPageException e) {
                        failure = "a malformed answer with status " + status + ": " + e.getMessage();
                    }
                } else if (status >= 500) {
                    failure = "status " + status + " " + errorText(body);
                } else {
                    throw fatal(status, errorText(body), skip, limit);
                }
            } catch (IOException e) {
                if (sleeper.stopped() || call.isCanceled()) {
                    throw new InterruptedException("the task is stopping");
                }
                failure = (e instanceof InterruptedIOException ? "a timeout" : "a connection failure")
                        + " (" + e.getClass().getSimpleName() + ")";
            } finally {
                inFlight = null;
            }

            long now = System.currentTimeMillis();
            if (firstFailure == 0) {
                firstFailure = now;
            }
            long ceiling = Math.min(backoffMaxMs, backoffInitialMs << Math.min(attempt, 30));
            long waitMs = ThreadLocalRandom.current().nextLong(ceiling + 1);
            if (now - firstFailure + waitMs > maxElapsedMs) {
                throw new CloseApiException(0, redact("Close kept failing on " + what + " for "
                        + (now - firstFailure) + " ms, more than " + CloseUsersConfig.RETRY_MAX_ELAPSED_MS + "="
                        + maxElapsedMs + " allows; the last failure was " + failure
                        + ". The offsets still point at this page, so nothing is lost: restart the task once Close "
                        + "answers again, or raise " + CloseUsersConfig.RETRY_MAX_ELAPSED_MS + "."));
            }
            attempt++;
            retries++;
            log.warn("{} failed with {}; retry {} in {} ms", what, redact(failure), attempt, waitMs);
            sleeper.sleep(waitMs);
        }
    }

    /** Cancels the request in flight, if any, and releases the connection pool and dispatcher threads. */
    @Override
    public void close() {
        Call call = inFlight;
        if (call != null) {
            call.cancel();
        }
        http.dispatcher().cancelAll();
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    /** Cancels the request in flight so that a blocked {@link #fetch} returns at once. */
    public void cancel() {
        Call call = inFlight;
        if (call != null) {
            call.cancel();
        }
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
            case 401 -> "Close rejected the credentials (401 Unauthorized" + quoted + "). Check "
                    + CloseUsersConfig.API_KEY + ": it must be a valid, active Close API key.";
            case 402 -> "Close refused the request because of the account's plan (402 Payment Required" + quoted
                    + "). The organization's subscription must allow API access.";
            case 403 -> "Close forbade listing users (403 Forbidden" + quoted + "). The user that owns "
                    + CloseUsersConfig.API_KEY + " needs permission to list the organization's users.";
            case 404 -> "Close answered 404 Not Found for /api/v1/user/" + quoted + ". Check "
                    + CloseUsersConfig.API_URL + " (now " + apiUrl + "); it should be " + CloseUsersConfig.DEFAULT_API_URL + ".";
            default -> "Close answered " + status + " to GET /api/v1/user/" + quoted + ".";
        };
        log.error(redact(message));
        return new CloseApiException(status, redact(message));
    }

    private static String badRequest(String quoted, String error, long skip, int limit) {
        if (error.contains("max_limit")) {
            return "Close rejected _limit=" + limit + " (400" + quoted + "). Lower "
                    + CloseUsersConfig.PAGE_SIZE + " to at most the max_limit it names.";
        }
        if (error.contains("max_skip") || error.toLowerCase().contains("skip")) {
            return "Close refused to page past _skip=" + skip + " (400" + quoted + "). This account has more "
                    + "users than Close lets any client page through, so the users beyond that position cannot be "
                    + "read with /api/v1/user/ at all; the sweep cannot complete.";
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
        return secret.isEmpty() ? text : text.replace(secret, "[hidden]");
    }
}
