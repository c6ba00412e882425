package io.closeconnect.users.packaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The layout and manifest of the Confluent Hub archive that {@code mvn package} builds. */
class HubArchiveIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static String top;
    private static Set<String> entries;

    @BeforeAll
    static void readEntries() throws IOException {
        top = HubArchive.name() + "/";
        entries = new TreeSet<>();
        try (ZipFile zip = new ZipFile(HubArchive.zip().toFile())) {
            Collections.list(zip.entries()).forEach(e -> entries.add(e.getName()));
        }
    }

    @Test
    void isNamedAfterOwnerArtifactAndVersionInTheDocumentedPlace() {
        Path zip = HubArchive.zip();
        assertEquals("closeconnect-kafka-connect-close-" + HubArchive.projectVersion() + ".zip",
                zip.getFileName().toString());
        assertTrue(zip.toAbsolutePath().normalize().endsWith(Paths.get(HubArchive.DIRECTORY, zip.getFileName().toString())),
                zip + " is not under " + HubArchive.DIRECTORY);
    }

    @Test
    void holdsOneTopFolderWithManifestLibEtcDoc() {
        for (String entry : entries) {
            assertTrue(entry.startsWith(top), entry + " is outside the single top folder " + top);
        }
        Set<String> children = new TreeSet<>();
        for (String entry : entries) {
            String rest = entry.substring(top.length());
            if (!rest.isEmpty()) {
                children.add(rest.contains("/") ? rest.substring(0, rest.indexOf('/') + 1) : rest);
            }
        }
        assertEquals(new TreeSet<>(List.of("manifest.json", "lib/", "etc/", "doc/")), children);
    }

    @Test
    void manifestHasTheHubFieldsAndTheBuildVersion() throws IOException {
        String text = read("manifest.json");
        assertFalse(text.contains("${"), "manifest.json was not filtered: " + text);
        JsonNode manifest = JSON.readTree(text);
        assertEquals("kafka-connect-close", manifest.path("name").asText());
        assertEquals(HubArchive.projectVersion(), manifest.path("version").asText());
        assertTrue(manifest.path("license").isArray() && manifest.path("license").size() > 0, "license must be an array");
        for (JsonNode license : manifest.path("license")) {
            assertFalse(license.path("name").asText().isBlank(), "license entry without name");
            assertTrue(license.path("url").asText().startsWith("https://"), "license entry without url");
        }
        assertEquals(List.of("source"), strings(manifest.path("component_types")));
        JsonNode features = manifest.path("features");
        assertTrue(strings(features.path("delivery_guarantee")).contains("at_least_once"));
        assertFalse(strings(features.path("supported_encodings")).isEmpty());
        assertTrue(features.path("single_message_transforms").isBoolean());
        assertTrue(features.path("kafka_connect_api").asBoolean());
        assertEquals("closeconnect", manifest.path("owner").path("username").asText());
        assertFalse(manifest.path("support").path("summary").asText().isBlank());
        assertFalse(strings(manifest.path("tags")).isEmpty());
        assertFalse(strings(manifest.path("requirements")).isEmpty());
        assertTrue(manifest.path("documentation_url").asText().startsWith("https://"));
        assertTrue(manifest.path("source_url").asText().startsWith("https://"));
        assertTrue(manifest.path("release_date").asText().matches("\\d{4}-\\d{2}-\\d{2}"),
                "release_date must be yyyy-MM-dd: " + manifest.path("release_date"));
    }

    /**
     * The manifest and the README claim the Kafka versions PluginInstallIT runs the archive on
     * (connect.compat.versions), from the oldest to the newest, each by name.
     */
    @Test
    void theManifestAndTheReadmeClaimTheMeasuredKafkaVersions() throws IOException {
        List<String> measured = PluginInstallIT.versions();
        String oldest = measured.get(0);
        String newest = measured.get(measured.size() - 1);
        String requirements = String.join(" ", strings(JSON.readTree(read("manifest.json")).path("requirements")));
        String readme = read("doc/README.md");
        String install = readme.substring(readme.indexOf("## Install"), readme.indexOf("\n## ", readme.indexOf("## Install") + 3));
        for (String claim : List.of(requirements, install)) {
            assertTrue(claim.contains("Kafka Connect " + oldest + " to " + newest), "claims the measured range: " + claim);
            for (String version : measured) {
                assertTrue(claim.contains(version), "names the measured " + version + ": " + claim);
            }
            assertTrue(claim.contains("Java 17"), claim);
        }
    }

    @Test
    void libHoldsTheConnectorAndItsDependenciesButNotWhatTheWorkerProvides() throws IOException {
        List<String> jars = namesUnder("lib/");
        String connectorJar = "kafka-connect-close-" + HubArchive.projectVersion() + ".jar";
        assertTrue(jars.contains(connectorJar), "lib/ lacks " + connectorJar + ": " + jars);
        for (String jar : jars) {
            assertTrue(jar.endsWith(".jar"), "lib/ holds a non-jar: " + jar);
            assertFalse(jar.matches("(connect-api|connect-runtime|kafka-clients|slf4j-.*|log4j.*|reload4j.*|logback.*)-[0-9].*"),
                    "lib/ must not ship " + jar + ": the worker provides it, and a second copy breaks isolation");
        }
        assertTrue(jars.stream().anyMatch(j -> j.startsWith("okhttp-jvm-")), "lib/ lacks OkHttp: " + jars);
        assertTrue(jars.stream().anyMatch(j -> j.startsWith("jackson-databind-")), "lib/ lacks Jackson: " + jars);

        Path unpacked = Files.createTempDirectory("hub-archive");
        try {
            Path plugin = HubArchive.unzipInto(unpacked);
            try (JarFile jar = new JarFile(plugin.resolve("lib").resolve(connectorJar).toFile())) {
                assertNotNull(jar.getEntry("io/closeconnect/users/CloseUsersSourceConnector.class"));
                ZipEntry services = jar.getEntry("META-INF/services/org.apache.kafka.connect.source.SourceConnector");
                assertNotNull(services, "the connector jar lacks its ServiceLoader manifest (plugin.discovery=service_load)");
                String listed = new String(jar.getInputStream(services).readAllBytes()).trim();
                assertEquals("io.closeconnect.users.CloseUsersSourceConnector", listed);
            }
        } finally {
            deleteRecursively(unpacked);
        }
    }

    @Test
    void everyThirdPartyJarIsInTheLicenseNotes() throws IOException {
        String notes = read("doc/THIRD-PARTY-NOTICES.md");
        List<String> patterns = new ArrayList<>();
        Matcher m = Pattern.compile("`([A-Za-z0-9._-]+)-\\*\\.jar`").matcher(notes);
        while (m.find()) {
            patterns.add(m.group(1));
        }
        for (String jar : namesUnder("lib/")) {
            if (jar.startsWith("kafka-connect-close-")) {
                continue;
            }
            boolean listed = patterns.stream().anyMatch(p -> jar.matches(Pattern.quote(p) + "-[0-9].*\\.jar"));
            assertTrue(listed, jar + " ships in lib/ but THIRD-PARTY-NOTICES.md does not name its license");
        }
    }

    @Test
    void etcHoldsExactlyTheSampleConfigs() throws IOException {
        List<String> expected;
        try (Stream<Path> files = Files.list(Paths.get("config"))) {
            expected = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertFalse(expected.isEmpty());
        assertEquals(expected, namesUnder("etc/"));
        for (String name : expected) {
            assertArrayEquals(Files.readAllBytes(Paths.get("config", name)), bytes("etc/" + name), "etc/" + name);
        }
    }

    @Test
    void docHoldsReadmeLicenseNoticesAndTheAvroSchemaIfAny() throws IOException {
        List<String> docs = namesUnder("doc/");
        for (String required : List.of("README.md", "LICENSE", "THIRD-PARTY-NOTICES.md")) {
            assertTrue(docs.contains(required), "doc/ lacks " + required + ": " + docs);
            assertArrayEquals(Files.readAllBytes(Paths.get(required)), bytes("doc/" + required), "doc/" + required);
        }
        Path avro = Paths.get("src/main/avro");
        if (Files.isDirectory(avro)) {
            try (Stream<Path> files = Files.list(avro)) {
                for (Path schema : files.filter(p -> p.toString().endsWith(".avsc")).toList()) {
                    assertTrue(docs.contains(schema.getFileName().toString()), "doc/ lacks " + schema);
                }
            }
        }
    }

    private static List<String> namesUnder(String folder) {
        List<String> names = new ArrayList<>();
        for (String entry : entries) {
            String rest = entry.substring(top.length());
            if (rest.startsWith(folder) && rest.length() > folder.length() && !rest.endsWith("/")) {
                names.add(rest.substring(folder.length()));
            }
        }
        Collections.sort(names);
        return names;
    }

    private static String read(String path) throws IOException {
        return new String(bytes(path), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String path) throws IOException {
        try (ZipFile zip = new ZipFile(HubArchive.zip().toFile())) {
            ZipEntry entry = zip.getEntry(top + path);
            assertNotNull(entry, "the archive lacks " + top + path);
            return zip.getInputStream(entry).readAllBytes();
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(n -> values.add(n.asText()));
        return values;
    }

    static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Collections.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
