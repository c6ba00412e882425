package io.closeconnect.users.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The quickstart as a user runs it, minus the Maven build that the script does first: the main
 * class in its own JVM against the sandbox, with the Connect worker it starts in another, stopped
 * the way Ctrl-C stops it (the JVM's shutdown hooks), then started again on the same state folder,
 * where it must resume instead of taking a new snapshot. Also: the worker lists this connector and
 * Kafka's own plugins only, the topic is compacted, Ctrl-C during startup stops everything within
 * seconds, and the script checks its ports before it builds anything.
 */
class QuickstartIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Under target/, so that its logs can be read after a failure. */
    private final Path data = Paths.get("target", "quickstart-it").toAbsolutePath();

    private Process process;
    private Thread reader;

    @AfterEach
    void kill() throws InterruptedException {
        if (process != null) {
            List<ProcessHandle> descendants = process.descendants().toList();
            if (process.isAlive()) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            descendants.forEach(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void streamsTheSandboxStopsCleanlyAndResumesFromItsState() throws Exception {
        deleteRecursively(data);
        int[] ports = {freePort(), freePort(), freePort(), freePort()};

        List<String> first = Collections.synchronizedList(new ArrayList<>());
        process = start(ports, first, "first", data);
        awaitLine(first, line -> line.contains("-- Sweep completed") && !line.contains(" 0 emitted"), 180);
        awaitLine(first, line -> line.contains("-- Sweep completed"), 30);
        assertTheWorkerRunsThePluginFromTheArchiveOnly(ports[1]);
        assertTheTopicIsCompacted(ports[2]);
        stop(first);
        assertTrue(first.stream().anyMatch(l -> l.contains("(first run)")), String.join("\n", first));
        assertTrue(first.stream().anyMatch(l -> l.contains("-- Starting with the initial snapshot: nothing announced yet")));
        // 120 sandbox users, minus the few the sandbox removes before the snapshot reaches them.
        long snapshot = usersPrinted(first);
        assertTrue(snapshot >= 100, "the first run prints the sandbox's users, got " + snapshot);
        assertTrue(Files.exists(data.resolve("connect.offsets")), "offsets are kept in the state folder");
        assertTrue(Files.exists(data.resolve("sandbox").resolve("users.json")), "the sandbox's users are kept");
        assertTrue(Files.exists(data.resolve("kafka").resolve("meta.properties")), "Kafka's log dir is kept");

        List<String> second = Collections.synchronizedList(new ArrayList<>());
        process = start(ports, second, "second", data);
        awaitLine(second, line -> line.contains("-- Sweep completed"), 180);
        awaitLine(second, line -> line.contains("-- Sweep completed"), 30);
        stop(second);
        String output = String.join("\n", second);
        assertTrue(output.contains("(resuming from the saved offsets)"), output);
        assertFalse(output.contains("initial snapshot"), "the second run must resume, not snapshot again:\n" + output);
        assertTrue(output.contains("-- Resuming the sweep in progress") || output.contains("-- Starting a sweep: "),
                output);
        long reprinted = usersPrinted(second);
        assertTrue(reprinted < 60, "the second run printed " + reprinted + " users, as if it snapshot again:\n" + output);
    }

    /**
     * GET /connector-plugins: this connector, loaded from the plugin path, and Kafka's own plugins of
     * the worker's version, nothing from test jars (a worker on the test classpath listed 19 connectors).
     */
    private void assertTheWorkerRunsThePluginFromTheArchiveOnly(int connectPort) throws Exception {
        JsonNode connectors = rest(connectPort, "/connector-plugins");
        assertEquals(1, connectors.size(), "connectors: " + connectors);
        assertEquals("io.closeconnect.users.CloseUsersSourceConnector", connectors.get(0).path("class").asText());
        assertEquals(System.getProperty("project.version"), connectors.get(0).path("version").asText());
        String kafkaVersion = org.apache.kafka.common.utils.AppInfoParser.getVersion();
        JsonNode all = rest(connectPort, "/connector-plugins?connectorsOnly=false");
        assertTrue(all.size() > 10, "Kafka's converters, transforms and predicates: " + all);
        for (JsonNode plugin : all) {
            String name = plugin.path("class").asText();
            if (!name.startsWith("io.closeconnect.users.")) {
                assertTrue(name.startsWith("org.apache.kafka.connect.") && plugin.path("version").asText().equals(kafkaVersion),
                        "not one of Kafka's own " + kafkaVersion + " plugins: " + plugin);
            }
        }
        String workerLog = Files.readString(data.resolve("logs").resolve("connect.log"));
        assertTrue(workerLog.contains("Loading plugin from: " + data.resolve("plugins").resolve(
                "closeconnect-kafka-connect-close-" + System.getProperty("project.version"))), "plugin.path install");
    }

    private static JsonNode rest(int port, String path) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + path)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return JSON.readTree(response.body());
    }

    /** Connect created close.users compacted, from the sample config's topic.creation.default.* settings. */
    private static void assertTheTopicIsCompacted(int brokerPort) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + brokerPort))) {
            ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, Quickstart.TOPIC);
            Config config = admin.describeConfigs(List.of(topic)).all().get(30, TimeUnit.SECONDS).get(topic);
            assertEquals("compact", config.get("cleanup.policy").value());
        }
    }

    @Test
    void ctrlCDuringStartupStopsEverythingWithinSeconds() throws Exception {
        Path startup = Paths.get("target", "quickstart-it-startup").toAbsolutePath();
        deleteRecursively(startup);
        int[] ports = {freePort(), freePort(), freePort(), freePort()};
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        process = start(ports, lines, "startup", startup);
        // The moment the worker's JVM is starting: Kafka and the sandbox are up, Connect is not yet.
        long deadline = System.currentTimeMillis() + 120_000;
        while (process.descendants().noneMatch(QuickstartIT::isConnectWorker)) {
            if (!process.isAlive() || System.currentTimeMillis() > deadline) {
                fail("the quickstart did not start the worker:\n" + String.join("\n", lines));
            }
            Thread.sleep(20);
        }
        List<ProcessHandle> all = new ArrayList<>(process.descendants().toList());
        all.add(process.toHandle());
        // Ctrl-C: the terminal sends SIGINT to the quickstart and everything it started.
        long start = System.nanoTime();
        List<String> kill = new ArrayList<>(List.of("kill", "-INT"));
        all.forEach(p -> kill.add(Long.toString(p.pid())));
        assertEquals(0, new ProcessBuilder(kill).inheritIO().start().waitFor());
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the quickstart did not stop:\n" + String.join("\n", lines));
        long stoppedMs = (System.nanoTime() - start) / 1_000_000;
        reader.join(10_000);
        System.out.println("QuickstartIT: Ctrl-C during startup stopped the quickstart in " + stoppedMs + " ms");
        assertTrue(stoppedMs < 15_000, "Ctrl-C during startup took " + stoppedMs + " ms:\n" + String.join("\n", lines));
        assertEquals(130, process.exitValue(), "exit status after SIGINT");
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("Stopped.")), String.join("\n", lines));
        for (ProcessHandle p : all) {
            p.onExit().get(10, TimeUnit.SECONDS);
            assertFalse(p.isAlive(), "left running: " + p.info());
        }
    }

    /** Whether the process runs ConnectStandalone (ProcessHandle.Info drops command lines as long as a classpath). */
    private static boolean isConnectWorker(ProcessHandle process) {
        try {
            return Files.readString(Paths.get("/proc", Long.toString(process.pid()), "cmdline"), StandardCharsets.ISO_8859_1)
                    .contains("org.apache.kafka.connect.cli.ConnectStandalone");
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void theScriptChecksItsPortsBeforeBuilding() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Path dir = Paths.get("target", "quickstart-it-ports").toAbsolutePath();
            ProcessBuilder builder = new ProcessBuilder("bash", "quickstart", dir.toString()).redirectErrorStream(true);
            builder.environment().put("QUICKSTART_CONNECT_PORT", Integer.toString(taken.getLocalPort()));
            builder.environment().put("QUICKSTART_SANDBOX_PORT", Integer.toString(freePort()));
            builder.environment().put("QUICKSTART_KAFKA_PORT", Integer.toString(freePort()));
            builder.environment().put("QUICKSTART_CONTROLLER_PORT", Integer.toString(freePort()));
            Process script = builder.start();
            assertTrue(script.waitFor(30, TimeUnit.SECONDS), "the script went on");
            String output = new String(script.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(1, script.exitValue(), output);
            assertTrue(output.contains("Cannot start: something listens on 127.0.0.1 port(s) " + taken.getLocalPort()),
                    output);
            assertFalse(output.contains("Building"), "it must not build while another quickstart runs: " + output);
            assertFalse(Files.exists(dir), "it must not touch the state folder: " + dir);
        }
    }

    /** How many distinct users the record lines name. */
    private static long usersPrinted(List<String> lines) {
        synchronized (lines) {
            return lines.stream().filter(l -> l.matches("\\d\\d:\\d\\d:\\d\\d  user_\\S+  (created|updated)  .*"))
                    .map(l -> l.split("\\s+")[1]).distinct().count();
        }
    }

    /**
     * A build started in the background (by {@code nohup}, a CI runner, a shell's {@code &}) hands
     * its children SIGINT ignored, and a JVM that starts with SIGINT ignored keeps ignoring it: no
     * Ctrl-C could reach the quickstart then, not even from a terminal. {@code env
     * --default-signal=INT} (GNU coreutils 8.31+) starts it as a terminal would.
     */
    private static final List<String> DEFAULT_SIGINT = defaultSigint();

    private static List<String> defaultSigint() {
        try {
            Process probe = new ProcessBuilder("env", "--default-signal=INT", "true").start();
            if (probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0) {
                return List.of("env", "--default-signal=INT");
            }
        } catch (IOException | InterruptedException e) {
            // an env without the option: start java as is
        }
        return List.of();
    }

    private Process start(int[] ports, List<String> lines, String name, Path stateDir) throws IOException {
        String classpath = String.join(File.pathSeparator, Paths.get("target", "test-classes").toString(),
                Paths.get("target", "classes").toString(),
                Files.readString(Paths.get("target", "test-dependencies.classpath")).trim());
        Path output = data.resolveSibling("quickstart-it-" + name + ".out");
        List<String> command = new ArrayList<>(DEFAULT_SIGINT);
        command.addAll(List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-Dquickstart.sandbox.port=" + ports[0], "-Dquickstart.connect.port=" + ports[1],
                "-Dquickstart.kafka.port=" + ports[2], "-Dquickstart.controller.port=" + ports[3]));
        // The worker classpath is resolved with the build's Maven, as PluginInstallIT's are.
        for (String property : List.of("hub.archive", "maven.home", "maven.offline", "maven.repo.local",
                "dependency.plugin.version")) {
            if (System.getProperty(property) != null) {
                command.add("-D" + property + "=" + System.getProperty(property));
            }
        }
        command.addAll(List.of("-cp", classpath, Quickstart.class.getName(), stateDir.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
        builder.environment().remove("CLOSE_API_KEY");
        Process started = builder.start();
        reader = new Thread(() -> {
            // Follows the output file, as tail -f would, until the process has ended and all is read.
            try (BufferedReader in = Files.newBufferedReader(output, StandardCharsets.UTF_8)) {
                while (true) {
                    boolean ended = !started.isAlive();
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        lines.add(line);
                    }
                    if (ended) {
                        return;
                    }
                    Thread.sleep(100);
                }
            } catch (IOException | InterruptedException ignored) {
                // stop following
            }
        }, "quickstart-output");
        reader.setDaemon(true);
        reader.start();
        return started;
    }

    /** Waits for a new line matching the predicate (counting from now). */
    private void awaitLine(List<String> lines, Predicate<String> matches, int seconds) throws InterruptedException {
        int from = lines.size();
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        while (System.currentTimeMillis() < deadline) {
            synchronized (lines) {
                for (int i = from; i < lines.size(); i++) {
                    if (matches.test(lines.get(i))) {
                        return;
                    }
                }
            }
            if (!process.isAlive()) {
                fail("The quickstart exited with " + process.exitValue() + ":\n" + String.join("\n", lines));
            }
            Thread.sleep(200);
        }
        fail("No expected line within " + seconds + " s:\n" + String.join("\n", lines));
    }

    /** SIGTERM, which runs the same shutdown hook as Ctrl-C. */
    private void stop(List<String> lines) throws InterruptedException {
        process.destroy();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the quickstart did not stop:\n" + String.join("\n", lines));
        reader.join(10_000);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("Stopped. State is kept in " + data)),
                "no clean stop (exit " + process.exitValue() + "):\n" + String.join("\n", lines));
        assertEquals(143, process.exitValue(), "exit status after SIGTERM");
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (Files.exists(root)) {
            try (var walk = Files.walk(root)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
