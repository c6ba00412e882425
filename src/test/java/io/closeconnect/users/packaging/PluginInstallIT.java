package io.closeconnect.users.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;

import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.closeconnect.users.TaskMetricsNames;
import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * Installs the built Hub archive the way an operator does, unzipped into a worker's
 * {@code plugin.path}, on Apache Kafka Connect workers of several Kafka versions
 * ({@code connect.compat.versions} in pom.xml): the compatibility the manifest and the README claim,
 * measured. Each worker is a separate JVM ({@code ConnectStandalone}) on the classpath Maven resolves
 * for connect-runtime of its version ({@link WorkerClasspaths}): Kafka's jars and nothing of this
 * project, no OkHttp, no Okio, no Kotlin. So the connector, and the libraries it needs, can only
 * come from the archive, through the worker's plugin class loader. All workers run at once against
 * one broker, in this JVM; each runs the sample connector config from {@code config/} (with the
 * fake Close API's URL and its own topic), so the sample's topic creation is checked on every version.
 */
class PluginInstallIT {

    private static final String API_KEY = "plugin-install-test-key";
    private static final int USERS = 30;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CONNECTOR_CLASS = "io.closeconnect.users.CloseUsersSourceConnector";

    @TempDir
    static Path work;

    private static EmbeddedKafkaCluster kafka;
    private static FakeCloseApi fake;
    private static MockWebServer server;
    private static Path pluginDir;
    private static final Map<String, List<Path>> classpaths = new LinkedHashMap<>();
    private static final Map<String, ConnectWorkerProcess> workers = new LinkedHashMap<>();

    /** The Kafka versions whose Connect workers run the archive, oldest first. */
    static List<String> versions() {
        String list = System.getProperty("connect.compat.versions");
        assertNotNull(list, "connect.compat.versions is not set: run this test through Maven Failsafe (mvn verify)");
        return Arrays.stream(list.split(",")).map(String::trim).filter(v -> !v.isEmpty()).toList();
    }

    @BeforeAll
    static void start() throws Exception {
        long startedNs = System.nanoTime();
        classpaths.putAll(WorkerClasspaths.resolve(Paths.get("target", "connect-workers"), versions()));
        long resolvedNs = System.nanoTime();

        Path pluginPath = Files.createDirectories(work.resolve("plugins"));
        pluginDir = HubArchive.unzipInto(pluginPath);

        kafka = new EmbeddedKafkaCluster(1, new Properties());
        kafka.start();

        fake = new FakeCloseApi(API_KEY, 5, false);
        fake.addUsers(USERS);
        server = new MockWebServer();
        server.setDispatcher(fake);
        server.start();

        Path secrets = work.resolve("close-secrets.properties");
        Files.writeString(secrets, "api_key=" + API_KEY + "\n");
        Map<String, String> sample = sampleConnectorConfig();
        for (String version : versions()) {
            Map<String, String> connector = new HashMap<>(sample);
            connector.put("name", connector(version));
            connector.put("close.api.url", server.url("/").toString());
            connector.put("topic", topic(version));
            connector.put("poll.interval.ms", "500");
            connector.put("page.size", "7");
            ConnectWorkerProcess.Spec spec = new ConnectWorkerProcess.Spec(classpaths.get(version),
                    work.resolve("worker-" + version), ConnectWorkerProcess.freePort())
                    .worker("bootstrap.servers", kafka.bootstrapServers())
                    .worker("plugin.path", pluginPath.toString())
                    .worker("key.converter", "org.apache.kafka.connect.storage.StringConverter")
                    .worker("value.converter", "org.apache.kafka.connect.json.JsonConverter")
                    .worker("value.converter.schemas.enable", "false")
                    .worker("offset.storage.file.filename", work.resolve("offsets-" + version).toString())
                    .worker("offset.flush.interval.ms", "1000")
                    .jmx();
            if (atLeast(version, 3, 6)) {
                // Plugin discovery (KIP-898) from the service-loader files in the plugin's jars.
                spec.worker("plugin.discovery", "service_load");
            }
            if (atLeast(version, 3, 5)) {
                // EnvVarConfigProvider (KIP-887) came with 3.5, as the sample config expects.
                spec.worker("config.providers", "env")
                        .worker("config.providers.env.class", "org.apache.kafka.common.config.provider.EnvVarConfigProvider")
                        .environment("CLOSE_API_KEY", API_KEY);
            } else {
                spec.worker("config.providers", "file")
                        .worker("config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider");
                connector.put("close.api.key", "${file:" + secrets + ":api_key}");
            }
            workers.put(version, ConnectWorkerProcess.start(spec.connector(connector)));
        }
        System.out.printf("PluginInstallIT: worker classpaths for %s resolved in %d ms; broker and %d workers started "
                + "in %d ms%n", versions(), (resolvedNs - startedNs) / 1_000_000, workers.size(),
                (System.nanoTime() - resolvedNs) / 1_000_000);
    }

    @AfterAll
    static void stop() throws Exception {
        for (ConnectWorkerProcess worker : workers.values()) {
            worker.stop(Duration.ofSeconds(30));
        }
        if (server != null) {
            server.close();
        }
        if (kafka != null) {
            kafka.stop();
        }
    }

    private static String connector(String version) {
        return "close-users-" + version;
    }

    private static String topic(String version) {
        return "close.users." + version;
    }

    static boolean atLeast(String version, int major, int minor) {
        String[] parts = version.split("\\.");
        int maj = Integer.parseInt(parts[0]);
        int min = Integer.parseInt(parts[1]);
        return maj > major || (maj == major && min >= minor);
    }

    private static Map<String, String> sampleConnectorConfig() throws IOException {
        Properties props = new Properties();
        try (Reader reader = Files.newBufferedReader(Paths.get("config", "close-users-source.properties"))) {
            props.load(reader);
        }
        Map<String, String> config = new HashMap<>();
        props.stringPropertyNames().forEach(k -> config.put(k, props.getProperty(k)));
        return config;
    }

    @ParameterizedTest(name = "Kafka Connect {0}")
    @MethodSource("versions")
    void theWorkerClasspathIsKafkasOfThatVersionAndLacksTheConnectorAndItsLibraries(String version) throws IOException {
        List<Path> classpath = classpaths.get(version);
        assertTrue(classpath.stream().anyMatch(p -> p.getFileName().toString().equals("connect-runtime-" + version + ".jar")),
                "connect-runtime " + version + " on the classpath: " + classpath);
        for (Path entry : classpath) {
            String name = entry.getFileName().toString();
            assertFalse(name.matches("(okhttp|okio|kotlin|kafka-connect-close).*"), "connector dependency on the worker classpath: " + entry);
            assertFalse(name.contains("-test") || name.contains("junit"), "test jar on the worker classpath: " + entry);
            assertFalse(containsClass(entry, "io/closeconnect/users/CloseUsersSourceConnector.class"), entry + " holds the connector class");
        }
    }

    @ParameterizedTest(name = "Kafka Connect {0}")
    @MethodSource("versions")
    void theWorkerLoadsTheArchiveFromThePluginPathRunsItAndRecordsArrive(String version) throws Exception {
        ConnectWorkerProcess worker = workers.get(version);
        Set<String> expected = new HashSet<>(fake.currentVersions().keySet());
        Map<String, JsonNode> received = new HashMap<>();
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "plugin-install-it-" + version);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        try (KafkaConsumer<byte[], byte[]> consumer = kafka.createConsumerAndSubscribeTo(props, topic(version))) {
            long deadline = System.currentTimeMillis() + 180_000;
            while (!received.keySet().containsAll(expected)) {
                if (System.currentTimeMillis() > deadline || !worker.isAlive()) {
                    fail("Kafka Connect " + version + ": got " + received.size() + " of " + expected.size()
                            + " users (worker alive: " + worker.isAlive() + "). Worker log:\n" + worker.tail(80));
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

        String log = worker.log();
        assertTrue(log.contains("Loading plugin from: " + pluginDir),
                "the worker did not load a plugin from " + pluginDir + ":\n" + worker.tail(80));
        assertTrue(log.contains("Added plugin '" + CONNECTOR_CLASS + "'"), "the worker did not register the connector:\n"
                + worker.tail(80));
        assertFalse(log.contains(API_KEY), "the API key leaked into the worker log");

        JsonNode ours = null;
        for (JsonNode plugin : worker.get("/connector-plugins")) {
            if (plugin.path("class").asText().equals(CONNECTOR_CLASS)) {
                ours = plugin;
            }
        }
        assertNotNull(ours, "GET /connector-plugins lacks the connector");
        assertEquals("source", ours.path("type").asText());
        assertEquals(HubArchive.projectVersion(), ours.path("version").asText());

        JsonNode status = worker.get("/connectors/" + connector(version) + "/status");
        assertEquals("RUNNING", status.path("connector").path("state").asText(), status.toString());
        assertEquals("RUNNING", status.path("tasks").path(0).path("state").asText(), status.toString());
        assertNull(status.path("tasks").path(0).get("trace"), status.toString());
    }

    @ParameterizedTest(name = "Kafka Connect {0}")
    @MethodSource("versions")
    void theSampleConfigHasTheWorkerCreateTheTopicCompacted(String version) throws Exception {
        String topic = topic(version);
        try (Admin admin = kafka.createAdminClient()) {
            long deadline = System.currentTimeMillis() + 180_000;
            while (!admin.listTopics().names().get().contains(topic)) {
                if (System.currentTimeMillis() > deadline) {
                    fail("Kafka Connect " + version + " did not create " + topic + ":\n" + workers.get(version).tail(80));
                }
                Thread.sleep(200);
            }
            TopicDescription description = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            assertEquals(1, description.partitions().size(), "topic.creation.default.partitions=1");
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
            assertEquals("compact", config.get("cleanup.policy").value(), "topic.creation.default.cleanup.policy");
        }
        assertTrue(workers.get(version).log().contains("Created topic"),
                "the worker created the topic (not the broker on a first write):\n" + workers.get(version).tail(80));
    }

    @ParameterizedTest(name = "Kafka Connect {0}")
    @MethodSource("versions")
    void theTaskMetricsArePublishedOnThePathTheWorkerHas(String version) throws Exception {
        ConnectWorkerProcess worker = workers.get(version);
        boolean pluginMetrics = atLeast(version, 4, 1);
        ObjectName expected = pluginMetrics ? TaskMetricsNames.pluginMBean(connector(version))
                : TaskMetricsNames.ownMBean(connector(version));
        ObjectName other = pluginMetrics ? TaskMetricsNames.ownMBean(connector(version))
                : TaskMetricsNames.pluginMBean(connector(version));
        MBeanServerConnection mbeans = worker.mbeans();
        long deadline = System.currentTimeMillis() + 180_000;
        while (!mbeans.isRegistered(expected)
                || ((Number) mbeans.getAttribute(expected, TaskMetricsNames.SWEEPS_COMPLETED)).doubleValue() < 1) {
            if (System.currentTimeMillis() > deadline || !worker.isAlive()) {
                fail("Kafka Connect " + version + ": no completed sweep in " + expected + "; MBeans: "
                        + mbeans.queryNames(null, null).stream().map(ObjectName::toString)
                        .filter(n -> n.contains("close")).toList() + "\n" + worker.tail(80));
            }
            Thread.sleep(200);
        }
        assertFalse(mbeans.isRegistered(other), "published twice, also as " + other);
        Set<String> attributes = new TreeSet<>();
        for (MBeanAttributeInfo attribute : mbeans.getMBeanInfo(expected).getAttributes()) {
            attributes.add(attribute.getName());
        }
        assertEquals(TaskMetricsNames.declared(), attributes, "every declared metric, on either path");
        double emitted = ((Number) mbeans.getAttribute(expected, TaskMetricsNames.USERS_EMITTED_TOTAL)).doubleValue();
        assertTrue(emitted >= USERS, "users emitted " + emitted);
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
}
