package io.closeconnect.users.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * Installs the built Hub archive the way an operator does: unzipped into a worker's
 * {@code plugin.path}. The worker is a separate JVM ({@code ConnectStandalone}) whose classpath is
 * Kafka's and nothing of this project: no connector classes, no OkHttp, no Okio, no Kotlin. So the
 * connector, and the libraries it needs, can only come from the archive, through the worker's
 * plugin class loader. The broker runs in this JVM; it does not load the connector.
 */
class PluginInstallIT {

    private static final String API_KEY = "plugin-install-test-key";
    private static final String TOPIC = "close.users.installed";
    private static final String CONNECTOR = "close-users-installed";
    private static final int USERS = 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path work;

    private static EmbeddedKafkaCluster kafka;
    private static FakeCloseApi fake;
    private static MockWebServer server;
    private static Process worker;
    private static Path workerLog;
    private static Path pluginDir;
    private static List<String> workerClasspath;
    private static int restPort;

    @BeforeAll
    static void start() throws Exception {
        Path pluginPath = Files.createDirectories(work.resolve("plugins"));
        pluginDir = HubArchive.unzipInto(pluginPath);

        kafka = new EmbeddedKafkaCluster(1, new Properties());
        kafka.start();
        kafka.createTopic(TOPIC);

        fake = new FakeCloseApi(API_KEY, 5, false);
        fake.addUsers(USERS);
        server = new MockWebServer();
        server.setDispatcher(fake);
        server.start();

        restPort = freePort();
        Path workerProps = work.resolve("worker.properties");
        Files.writeString(workerProps, String.join("\n",
                "bootstrap.servers=" + kafka.bootstrapServers(),
                "listeners=http://127.0.0.1:" + restPort,
                "plugin.path=" + pluginPath,
                "plugin.discovery=service_load",
                "key.converter=org.apache.kafka.connect.storage.StringConverter",
                "value.converter=org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable=false",
                "offset.storage.file.filename=" + work.resolve("offsets"),
                "offset.flush.interval.ms=1000",
                "config.providers=env",
                "config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
                ""));
        Path connectorProps = work.resolve("connector.properties");
        Files.writeString(connectorProps, String.join("\n",
                "name=" + CONNECTOR,
                "connector.class=io.closeconnect.users.CloseUsersSourceConnector",
                "tasks.max=1",
                "close.api.key=${env:CLOSE_API_KEY}",
                "close.api.url=" + server.url("/").toString(),
                "topic=" + TOPIC,
                "poll.interval.ms=500",
                "page.size=7",
                ""));
        Path log4j = work.resolve("log4j.properties");
        Files.writeString(log4j, String.join("\n",
                "log4j.rootLogger=INFO, stdout",
                "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
                "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c{1})%n",
                ""));

        workerClasspath = kafkaOnlyClasspath();
        workerLog = work.resolve("worker.log");
        List<String> command = new ArrayList<>(List.of(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-Dlog4j.configuration=" + log4j.toUri(),
                "-cp", String.join(File.pathSeparator, workerClasspath),
                "org.apache.kafka.connect.cli.ConnectStandalone",
                workerProps.toString(), connectorProps.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(workerLog.toFile());
        builder.environment().put("CLOSE_API_KEY", API_KEY);
        worker = builder.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (worker != null) {
            worker.destroy();
            if (!worker.waitFor(30, TimeUnit.SECONDS)) {
                worker.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (server != null) {
            server.close();
        }
        if (kafka != null) {
            kafka.stop();
        }
    }

    @Test
    void theWorkerClasspathLacksTheConnectorAndItsLibraries() throws IOException {
        assertFalse(workerClasspath.isEmpty());
        for (String entry : workerClasspath) {
            assertFalse(entry.contains(File.separator + "target" + File.separator), "project output on the worker classpath: " + entry);
            assertFalse(entry.matches(".*(okhttp|okio|kotlin).*"), "connector dependency on the worker classpath: " + entry);
            assertFalse(containsClass(Paths.get(entry), "io/closeconnect/users/CloseUsersSourceConnector.class"),
                    entry + " holds the connector class");
        }
    }

    @Test
    void theWorkerLoadsTheConnectorFromThePluginPathAndRecordsArrive() throws Exception {
        Set<String> expected = new HashSet<>(fake.currentVersions().keySet());
        Map<String, JsonNode> received = new HashMap<>();
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "plugin-install-it");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer = kafka.createConsumerAndSubscribeTo(props, TOPIC)) {
            long deadline = System.currentTimeMillis() + 90_000;
            while (!received.keySet().containsAll(expected)) {
                if (System.currentTimeMillis() > deadline || !worker.isAlive()) {
                    fail("Got " + received.size() + " of " + expected.size() + " users (worker alive: "
                            + worker.isAlive() + "). Worker log:\n" + tail(workerLog, 80));
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    JsonNode value = JSON.readTree(record.value());
                    String key = new String(record.key(), StandardCharsets.UTF_8);
                    assertEquals(key, value.path("id").asText(), "record key is the user id");
                    received.put(key, value);
                }
            }
        }
        JsonNode any = received.get(expected.iterator().next());
        assertTrue(any.path("email").asText().endsWith("@example.com"), any.toString());
        assertTrue(any.path("date_updated").isNumber(), "date_updated is a Connect Timestamp: " + any);

        String log = Files.readString(workerLog);
        assertTrue(log.contains("Loading plugin from: " + pluginDir),
                "the worker did not load a plugin from " + pluginDir + ":\n" + tail(workerLog, 80));
        assertTrue(log.contains("Added plugin 'io.closeconnect.users.CloseUsersSourceConnector'"),
                "the worker did not register the connector:\n" + tail(workerLog, 80));
        assertFalse(log.contains(API_KEY), "the API key leaked into the worker log");

        HttpClient http = HttpClient.newHttpClient();
        JsonNode plugins = JSON.readTree(http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + restPort + "/connector-plugins")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        JsonNode ours = null;
        for (JsonNode plugin : plugins) {
            if (plugin.path("class").asText().equals("io.closeconnect.users.CloseUsersSourceConnector")) {
                ours = plugin;
            }
        }
        assertTrue(ours != null, "GET /connector-plugins lacks the connector: " + plugins);
        assertEquals("source", ours.path("type").asText());
        assertEquals(HubArchive.projectVersion(), ours.path("version").asText());

        JsonNode status = JSON.readTree(http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + restPort + "/connectors/" + CONNECTOR + "/status")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        assertEquals("RUNNING", status.path("connector").path("state").asText(), status.toString());
        assertEquals("RUNNING", status.path("tasks").path(0).path("state").asText(), status.toString());
        assertNull(status.path("tasks").path(0).get("trace"), status.toString());
    }

    /** The resolved test classpath minus this project's classes and the connector's own libraries. */
    private static List<String> kafkaOnlyClasspath() throws IOException {
        Path file = Paths.get("target", "test-dependencies.classpath");
        assertTrue(Files.isRegularFile(file), file + " is missing: the dependency plugin writes it in generate-test-resources");
        List<String> entries = new ArrayList<>();
        for (String entry : Files.readString(file).trim().split(File.pathSeparator)) {
            String name = Paths.get(entry).getFileName().toString();
            if (name.matches("(okhttp|okio|kotlin|annotations-13|mockwebserver|testcontainers|avro|snakeyaml|junit|opentest4j|apiguardian).*")) {
                continue;
            }
            entries.add(entry);
        }
        return entries;
    }

    private static boolean containsClass(Path entry, String classFile) throws IOException {
        if (Files.isDirectory(entry)) {
            return Files.exists(entry.resolve(classFile));
        }
        if (!entry.toString().endsWith(".jar") || !Files.isRegularFile(entry)) {
            return false;
        }
        try (JarFile jar = new JarFile(entry.toFile())) {
            return jar.getEntry(classFile) != null;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
