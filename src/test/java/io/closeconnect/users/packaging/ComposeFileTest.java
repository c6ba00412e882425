package io.closeconnect.users.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.closeconnect.users.CloseUsersSourceConnector;

/**
 * No Docker engine runs here, so this checks what can be checked without one: docker-compose.yml
 * parses, pins every image, and every file, path, host and port it names agrees with the build
 * and with the other services.
 */
class ComposeFileTest {

    private static Map<String, Object> services;

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void parse() throws IOException {
        try (Reader reader = Files.newBufferedReader(Paths.get("docker-compose.yml"))) {
            Map<String, Object> compose = new Yaml().load(reader);
            services = (Map<String, Object>) compose.get("services");
        }
        assertNotNull(services, "docker-compose.yml has no services");
    }

    @Test
    void runsKafkaSchemaRegistryConnectAndTheOneShotServices() {
        assertEquals(Set.of("kafka", "schema-registry", "install-plugin", "connect", "register-connector"),
                services.keySet());
        assertEquals("broker,controller", env("kafka").get("KAFKA_PROCESS_ROLES"), "single-node KRaft");
    }

    @Test
    void everyImageIsPinnedToAVersion() {
        for (String name : services.keySet()) {
            String image = (String) service(name).get("image");
            assertNotNull(image, name + " has no image");
            Matcher m = Pattern.compile("[^:]+:(\\d+(\\.\\d+)+)").matcher(image);
            assertTrue(m.matches(), name + " must pin an exact image version, not " + image);
        }
        String cp = version("kafka");
        assertEquals(cp, version("schema-registry"), "one Confluent Platform version");
        assertEquals(cp, version("connect"), "one Confluent Platform version");
    }

    @Test
    void theInstallerUnpacksTheArchiveThatMavenBuildsIntoConnectsPluginPath() {
        String hostDir = null;
        String containerDir = null;
        for (String volume : volumes("install-plugin")) {
            String[] parts = volume.split(":");
            if (parts[0].startsWith("./")) {
                hostDir = parts[0].substring(2);
                containerDir = parts[1];
            }
        }
        assertEquals(HubArchive.DIRECTORY, hostDir, "the archive is mounted from where mvn package writes it");
        Path built = Paths.get(System.getProperty("hub.archive"));
        assertTrue(built.toAbsolutePath().normalize().endsWith(Paths.get(HubArchive.DIRECTORY, built.getFileName().toString())),
                "pom.xml writes the archive to " + built + ", not under " + HubArchive.DIRECTORY);

        String archive = resolveDefaults(env("install-plugin").get("ARCHIVE"));
        assertEquals(containerDir + "/" + HubArchive.name() + ".zip", archive,
                "the archive name (and its CONNECTOR_VERSION default) must match pom.xml's version");

        String pluginVolume = null;
        for (String volume : volumes("install-plugin")) {
            if (!volume.startsWith("./")) {
                pluginVolume = volume;
            }
        }
        assertNotNull(pluginVolume);
        assertTrue(volumes("connect").contains(pluginVolume), "connect must mount the volume the installer fills: " + pluginVolume);
        String pluginDir = pluginVolume.split(":")[1];
        assertTrue(List.of(env("connect").get("CONNECT_PLUGIN_PATH").split(",")).contains(pluginDir),
                "CONNECT_PLUGIN_PATH must include " + pluginDir);
        String script = String.join(" ", commandOf("install-plugin"));
        assertTrue(script.contains("-d " + pluginDir), "the installer must unzip into " + pluginDir + ": " + script);
        assertEquals("service_completed_successfully", dependsOn("connect").get("install-plugin"));
    }

    @Test
    void connectWritesAvroThroughTheRegistryWithStringKeysAndTheEnvConfigProvider() {
        Map<String, String> connect = env("connect");
        assertEquals("io.confluent.connect.avro.AvroConverter", connect.get("CONNECT_VALUE_CONVERTER"));
        assertEquals("org.apache.kafka.connect.storage.StringConverter", connect.get("CONNECT_KEY_CONVERTER"));
        assertEquals("http://schema-registry:" + listenerPort(env("schema-registry").get("SCHEMA_REGISTRY_LISTENERS")),
                connect.get("CONNECT_VALUE_CONVERTER_SCHEMA_REGISTRY_URL"));
        assertEquals("env", connect.get("CONNECT_CONFIG_PROVIDERS"));
        assertEquals("org.apache.kafka.common.config.provider.EnvVarConfigProvider",
                connect.get("CONNECT_CONFIG_PROVIDERS_ENV_CLASS"));
        assertTrue(connect.get("CLOSE_API_KEY").startsWith("${CLOSE_API_KEY"), "the key comes from the caller's environment");

        String internal = null;
        for (String listener : env("kafka").get("KAFKA_ADVERTISED_LISTENERS").split(",")) {
            if (listener.startsWith("PLAINTEXT://")) {
                internal = listener.substring("PLAINTEXT://".length());
            }
        }
        assertEquals(internal, connect.get("CONNECT_BOOTSTRAP_SERVERS"));
        assertTrue(env("schema-registry").get("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS").endsWith(internal));
    }

    @Test
    void theRegistrarPostsTheConnectorConfigFromConfigToConnectsRestPort() throws IOException {
        String containerConfigDir = null;
        for (String volume : volumes("register-connector")) {
            if (volume.startsWith("./config:")) {
                containerConfigDir = volume.split(":")[1];
            }
        }
        assertNotNull(containerConfigDir, "register-connector must mount ./config");
        String script = String.join(" ", commandOf("register-connector"));
        Matcher file = Pattern.compile("--data @" + Pattern.quote(containerConfigDir) + "/(\\S+)").matcher(script);
        assertTrue(file.find(), script);
        Path config = Paths.get("config", file.group(1));
        assertTrue(Files.isRegularFile(config), config + " does not exist");
        JsonNode json = new ObjectMapper().readTree(config.toFile());
        assertEquals(CloseUsersSourceConnector.class.getName(), json.path("config").path("connector.class").asText());
        assertEquals("${env:CLOSE_API_KEY}", json.path("config").path("close.api.key").asText());
        assertEquals("compact", json.path("config").path("topic.creation.default.cleanup.policy").asText(),
                "Connect creates the topic compacted");

        String url = "http://connect:" + listenerPort(env("connect").get("CONNECT_LISTENERS")) + "/connectors";
        assertTrue(script.contains(url), "the registrar must POST to " + url + ": " + script);
        assertEquals("service_healthy", dependsOn("register-connector").get("connect"));
    }

    @Test
    void onlyConnectCreatesTheTopicSoItIsCompacted() {
        // A consumer started before the first record would otherwise auto-create the topic with
        // time-based retention, and Connect's topic creation applies only to a topic that is missing.
        assertEquals("false", env("kafka").get("KAFKA_AUTO_CREATE_TOPICS_ENABLE"));
    }

    @Test
    void theReadmeSaysWhichPlatformAndWhichMetricsPathTheStackGets() throws IOException {
        String readme = Files.readString(Paths.get("README.md"));
        String section = readme.substring(readme.indexOf("## docker-compose"));
        section = section.substring(0, section.indexOf("\n## ", 3));
        assertTrue(section.contains("Confluent Platform " + version("connect")), "README names CP " + version("connect"));
        int major = Integer.parseInt(version("connect").split("\\.")[0]);
        int minor = Integer.parseInt(version("connect").split("\\.")[1]);
        // CP 8.x is Kafka 4.x (8.0 is 4.0); plugin metrics exist from Kafka 4.1.
        boolean pluginMetrics = major > 8 || (major == 8 && minor >= 1);
        assertTrue(section.contains(pluginMetrics ? "kafka.connect:type=plugins" : "io.closeconnect.users:type=task-metrics"),
                "README's docker-compose section must name the metrics MBean CP " + version("connect") + " gets");
    }

    @Test
    void publishedHostPortsAreDistinctAndMatchTheListeners() {
        Set<String> hostPorts = new HashSet<>();
        for (String name : services.keySet()) {
            for (String mapping : ports(name)) {
                assertTrue(hostPorts.add(mapping.split(":")[0]), "host port published twice: " + mapping);
            }
        }
        assertEquals(List.of("8081:" + listenerPort(env("schema-registry").get("SCHEMA_REGISTRY_LISTENERS"))),
                ports("schema-registry"));
        assertEquals(List.of("8083:" + listenerPort(env("connect").get("CONNECT_LISTENERS"))), ports("connect"));
        assertTrue(env("kafka").get("KAFKA_ADVERTISED_LISTENERS").contains("://localhost:9092"),
                "the host listener is advertised as localhost:9092, as the README's consumer command uses");
        assertEquals(List.of("9092:9092"), ports("kafka"));
    }

    // ---------------------------------------------------------------- helpers

    @SuppressWarnings("unchecked")
    private static Map<String, Object> service(String name) {
        Map<String, Object> service = (Map<String, Object>) services.get(name);
        assertNotNull(service, "no service " + name);
        return service;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> env(String name) {
        Map<String, Object> raw = (Map<String, Object>) service(name).get("environment");
        assertNotNull(raw, name + " has no environment");
        Map<String, String> env = new java.util.HashMap<>();
        raw.forEach((k, v) -> env.put(k, String.valueOf(v)));
        return env;
    }

    @SuppressWarnings("unchecked")
    private static List<String> volumes(String name) {
        return (List<String>) service(name).getOrDefault("volumes", List.of());
    }

    @SuppressWarnings("unchecked")
    private static List<String> ports(String name) {
        return (List<String>) service(name).getOrDefault("ports", List.of());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> dependsOn(String name) {
        Map<String, Map<String, String>> raw = (Map<String, Map<String, String>>) service(name).get("depends_on");
        Map<String, String> conditions = new java.util.HashMap<>();
        raw.forEach((k, v) -> conditions.put(k, v.get("condition")));
        return conditions;
    }

    @SuppressWarnings("unchecked")
    private static List<String> commandOf(String name) {
        List<String> all = new ArrayList<>();
        for (String key : List.of("entrypoint", "command")) {
            Object value = service(name).get(key);
            if (value instanceof List) {
                all.addAll((List<String>) value);
            } else if (value != null) {
                all.add((String) value);
            }
        }
        assertFalse(all.isEmpty(), name + " has no command");
        return all;
    }

    private static String version(String name) {
        String image = (String) service(name).get("image");
        return image.substring(image.lastIndexOf(':') + 1);
    }

    private static int listenerPort(String listeners) {
        Matcher m = Pattern.compile("http://[^:]+:(\\d+)").matcher(listeners);
        assertTrue(m.find(), "no http listener in " + listeners);
        return Integer.parseInt(m.group(1));
    }

    /** Compose's ${VAR:-default} with VAR unset. */
    private static String resolveDefaults(String value) {
        return value.replaceAll("\\$\\{[A-Z_]+:-([^}]*)}", "$1");
    }
}
