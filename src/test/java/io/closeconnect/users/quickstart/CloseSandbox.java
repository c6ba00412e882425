package io.closeconnect.users.quickstart;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * A local stand-in for the Close API: the fake's users on a fixed port, with a steady trickle of
 * edits, renames, inserts and removals, Close's paging, and its {@code RateLimit} headers and 429s.
 * The users are saved in {@code users.json} so that a second run continues with the same account.
 */
final class CloseSandbox implements AutoCloseable {

    static final String API_KEY = "sandbox-api-key";
    private static final int INITIAL_USERS = 120;
    private static final int MAX_USERS = 300;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FakeCloseApi api;
    private final MockWebServer server;
    private final Path usersFile;
    private final ScheduledExecutorService changes;
    private final Random random = new Random();
    private final boolean restored;

    private CloseSandbox(Path dir, int port, long changeEveryMs, int requestsPerSecond) throws IOException {
        Files.createDirectories(dir);
        this.usersFile = dir.resolve("users.json");
        this.api = new FakeCloseApi(API_KEY, System.nanoTime(), false);
        this.restored = Files.exists(usersFile);
        if (restored) {
            api.importUsers((ArrayNode) JSON.readTree(usersFile.toFile()));
        } else {
            api.addUsers(INITIAL_USERS);
        }
        api.rateLimitPerSecond(requestsPerSecond);
        this.server = new MockWebServer();
        server.setDispatcher(api);
        server.start(InetAddress.getLoopbackAddress(), port);
        save();
        this.changes = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "close-sandbox-changes");
            t.setDaemon(true);
            return t;
        });
        changes.scheduleWithFixedDelay(this::change, changeEveryMs, changeEveryMs, TimeUnit.MILLISECONDS);
    }

    static CloseSandbox start(Path dir, int port, long changeEveryMs, int requestsPerSecond) throws IOException {
        return new CloseSandbox(dir, port, changeEveryMs, requestsPerSecond);
    }

    /** The base URL to configure as close.api.url. */
    String url() {
        String url = server.url("/").toString();
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    int userCount() {
        return api.userCount();
    }

    boolean restored() {
        return restored;
    }

    private void change() {
        try {
            int inserts = api.userCount() < MAX_USERS ? 2 : 0;
            api.randomChange(random, 6, 1, inserts, 1);
            save();
        } catch (RuntimeException | IOException e) {
            System.err.println("sandbox: could not apply a change: " + e);
        }
    }

    private synchronized void save() throws IOException {
        Path tmp = usersFile.resolveSibling("users.json.tmp");
        JSON.writeValue(tmp.toFile(), api.exportUsers());
        Files.move(tmp, usersFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public void close() throws IOException {
        changes.shutdownNow();
        try {
            changes.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        save();
        server.close();
    }
}
