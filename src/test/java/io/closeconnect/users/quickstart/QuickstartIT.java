package io.closeconnect.users.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The quickstart as a user runs it, minus the Maven build that the script does first: the main
 * class in its own JVM against the sandbox, stopped the way Ctrl-C stops it (the JVM's shutdown
 * hooks), then started again on the same state folder, where it must resume instead of taking a
 * new snapshot.
 */
class QuickstartIT {

    /** Under target/, so that its logs/quickstart.log can be read after a failure. */
    private final Path data = Paths.get("target", "quickstart-it").toAbsolutePath();

    private Process process;
    private Thread reader;

    @AfterEach
    void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void streamsTheSandboxStopsCleanlyAndResumesFromItsState() throws Exception {
        deleteRecursively(data);
        int[] ports = {freePort(), freePort(), freePort(), freePort()};

        List<String> first = Collections.synchronizedList(new ArrayList<>());
        process = start(ports, first, "first");
        awaitLine(first, line -> line.contains("-- Sweep completed") && !line.contains(" 0 emitted"), 120);
        awaitLine(first, line -> line.contains("-- Sweep completed"), 30);
        stop(first);
        assertTrue(first.stream().anyMatch(l -> l.contains("(first run)")), String.join("\n", first));
        assertTrue(first.stream().anyMatch(l -> l.contains("Starting with watermark none (initial snapshot)")));
        // 120 sandbox users, minus the few the sandbox removes before the snapshot reaches them.
        long snapshot = usersPrinted(first);
        assertTrue(snapshot >= 100, "the first run prints the sandbox's users, got " + snapshot);
        assertTrue(Files.exists(data.resolve("connect.offsets")), "offsets are kept in the state folder");
        assertTrue(Files.exists(data.resolve("sandbox").resolve("users.json")), "the sandbox's users are kept");
        assertTrue(Files.exists(data.resolve("kafka").resolve("meta.properties")), "Kafka's log dir is kept");

        List<String> second = Collections.synchronizedList(new ArrayList<>());
        process = start(ports, second, "second");
        awaitLine(second, line -> line.contains("-- Sweep completed"), 120);
        awaitLine(second, line -> line.contains("-- Sweep completed"), 30);
        stop(second);
        String output = String.join("\n", second);
        assertTrue(output.contains("(resuming from the saved offsets)"), output);
        assertFalse(output.contains("initial snapshot"), "the second run must resume, not snapshot again:\n" + output);
        assertTrue(output.contains("-- Resuming the sweep in progress") || output.contains("-- Starting with watermark 20"),
                output);
        long reprinted = usersPrinted(second);
        assertTrue(reprinted < 60, "the second run printed " + reprinted + " users, as if it snapshot again:\n" + output);
    }

    /** How many distinct users the record lines name. */
    private static long usersPrinted(List<String> lines) {
        synchronized (lines) {
            return lines.stream().filter(l -> l.matches("\\d\\d:\\d\\d:\\d\\d  user_\\S+  (created|updated)  .*"))
                    .map(l -> l.split("\\s+")[1]).distinct().count();
        }
    }

    private Process start(int[] ports, List<String> lines, String name) throws IOException {
        String classpath = String.join(File.pathSeparator, Paths.get("target", "test-classes").toString(),
                Paths.get("target", "classes").toString(),
                Files.readString(Paths.get("target", "test-dependencies.classpath")).trim());
        Path output = data.resolveSibling("quickstart-it-" + name + ".out");
        ProcessBuilder builder = new ProcessBuilder(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-Dquickstart.sandbox.port=" + ports[0], "-Dquickstart.connect.port=" + ports[1],
                "-Dquickstart.kafka.port=" + ports[2], "-Dquickstart.controller.port=" + ports[3],
                "-cp", classpath, Quickstart.class.getName(), data.toString())
                .redirectErrorStream(true).redirectOutput(output.toFile());
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
