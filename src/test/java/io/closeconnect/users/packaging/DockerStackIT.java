package io.closeconnect.users.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.ConfluentKafkaContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;
import org.yaml.snakeyaml.Yaml;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.closeconnect.users.fake.FakeCloseApi;
import mockwebserver3.MockWebServer;

/**
 * The docker-compose stack, end to end, on Testcontainers: Kafka, Schema Registry and Connect from
 * the images and settings in docker-compose.yml, the built archive in Connect's plugin path, the
 * fake Close API on this host (reached from the containers as host.testcontainers.internal), the
 * connector registered from config/close-users-source.json, and the records read back as Avro
 * through the registry. Skipped where there is no Docker engine.
 */
@Testcontainers(disabledWithoutDocker = true)
class DockerStackIT {

    private static final String API_KEY = "docker-stack-test-key";
    private static final String TOPIC = "close.users";
    private static final int USERS = 25;
    private static final String INTERNAL_BOOTSTRAP = "kafka:19092";
    private static final String PLUGIN_DIR = "/usr/share/confluent-hub-components";

    @TempDir
    static Path work;

    private static Network network;
    private static ConfluentKafkaContainer kafka;
    private static GenericContainer<?> registry;
    private static GenericContainer<?> connect;
    private static FakeCloseApi fake;
    private static MockWebServer closeApi;

    @BeforeAll
    @SuppressWarnings({"unchecked", "resource"})
    static void start() throws Exception {
        Map<String, Object> services;
        try (Reader reader = Files.newBufferedReader(Paths.get("docker-compose.yml"))) {
            services = (Map<String, Object>) new Yaml().<Map<String, Object>>load(reader).get("services");
        }

        fake = new FakeCloseApi(API_KEY, 17, false);
        fake.addUsers(USERS);
        closeApi = new MockWebServer();
        closeApi.setDispatcher(fake);
        closeApi.start();
        org.testcontainers.Testcontainers.exposeHostPorts(closeApi.getPort());

        network = Network.newNetwork();
        kafka = new ConfluentKafkaContainer(DockerImageName.parse(image(services, "kafka")))
                .withNetwork(network).withNetworkAliases("kafka").withListener(INTERNAL_BOOTSTRAP);
        kafka.start();

        Map<String, String> registryEnv = environment(services, "schema-registry");
        registryEnv.put("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "PLAINTEXT://" + INTERNAL_BOOTSTRAP);
        registry = new GenericContainer<>(DockerImageName.parse(image(services, "schema-registry")))
                .withNetwork(network).withNetworkAliases("schema-registry").withEnv(registryEnv)
                .withExposedPorts(8081)
                .waitingFor(Wait.forHttp("/subjects").forStatusCode(200).withStartupTimeout(Duration.ofMinutes(3)));
        registry.start();

        Path plugin = HubArchive.unzipInto(Files.createDirectories(work.resolve("plugins")));
        Map<String, String> connectEnv = environment(services, "connect");
        connectEnv.put("CONNECT_BOOTSTRAP_SERVERS", INTERNAL_BOOTSTRAP);
        connectEnv.put("CLOSE_API_KEY", API_KEY);
        connect = new GenericContainer<>(DockerImageName.parse(image(services, "connect")))
                .withNetwork(network).withNetworkAliases("connect").withEnv(connectEnv)
                .withCopyFileToContainer(MountableFile.forHostPath(plugin), PLUGIN_DIR + "/" + HubArchive.name())
                .withExposedPorts(8083)
                .waitingFor(Wait.forHttp("/connector-plugins").forStatusCode(200).withStartupTimeout(Duration.ofMinutes(5)));
        connect.start();
    }

    @AfterAll
    static void stop() throws Exception {
        for (GenericContainer<?> container : new GenericContainer<?>[] {connect, registry, kafka}) {
            if (container != null) {
                container.stop();
            }
        }
        if (network != null) {
            network.close();
        }
        if (closeApi != null) {
            closeApi.close();
        }
    }

    @Test
    void usersArriveAsAvroDecodedThroughTheRegistry() throws Exception {
        ObjectNode request = (ObjectNode) new ObjectMapper().readTree(Paths.get("config", "close-users-source.json").toFile());
        ObjectNode config = (ObjectNode) request.get("config");
        config.put("close.api.url", "http://host.testcontainers.internal:" + closeApi.getPort());
        config.put("poll.interval.ms", "1000");
        config.put("page.size", "10");
        String connectUrl = "http://" + connect.getHost() + ":" + connect.getMappedPort(8083);
        HttpResponse<String> created = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(connectUrl + "/connectors"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(request.toString())).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, created.statusCode(), created.body());
        assertTrue(!created.body().contains(API_KEY), "the REST API must not echo the resolved key");

        String registryUrl = "http://" + registry.getHost() + ":" + registry.getMappedPort(8081);
        RegistryAvroDecoder decoder = new RegistryAvroDecoder(registryUrl);
        Set<String> expected = fake.currentVersions().keySet();
        Map<String, GenericRecord> received = new HashMap<>();
        String edited = null;
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getBootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "docker-stack-it");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(TOPIC));
            long deadline = System.currentTimeMillis() + 180_000;
            boolean editSeen = false;
            while (!editSeen) {
                if (System.currentTimeMillis() > deadline) {
                    fail("Got " + received.size() + " of " + expected.size() + " users; edit seen: " + editSeen
                            + ". Connect log:\n" + connect.getLogs());
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    GenericRecord user = decoder.decode(record.value());
                    assertEquals("io.closeconnect.users.User", user.getSchema().getFullName());
                    assertEquals(record.key(), user.get("id").toString());
                    received.put(record.key(), user);
                    if (record.key().equals(edited) && user.get("email").toString().startsWith("changed.")) {
                        editSeen = true;
                    }
                }
                if (edited == null && received.keySet().containsAll(expected)) {
                    edited = fake.randomUserId();
                    fake.edit(edited);
                }
            }
        }
        HttpResponse<String> subjects = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(registryUrl + "/subjects")).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(subjects.body().contains("\"" + TOPIC + "-value\""), subjects.body());
        assertTrue(!connect.getLogs().contains(API_KEY), "the key leaked into Connect's log");
        assertTrue(new String(Files.readAllBytes(Paths.get("config", "close-users-source.json")), StandardCharsets.UTF_8)
                .contains("${env:CLOSE_API_KEY}"));
    }

    @SuppressWarnings("unchecked")
    private static String image(Map<String, Object> services, String name) {
        return (String) ((Map<String, Object>) services.get(name)).get("image");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> environment(Map<String, Object> services, String name) {
        Map<String, Object> raw = (Map<String, Object>) ((Map<String, Object>) services.get(name)).get("environment");
        Map<String, String> env = new HashMap<>();
        raw.forEach((k, v) -> env.put(k, String.valueOf(v)));
        return env;
    }
}
