package io.closeconnect.users.packaging;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Enumeration;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/** Where {@code mvn package} puts the Confluent Hub archive, and how the tests and the quickstart unpack it. */
public final class HubArchive {

    /** Relative to the project root; docker-compose.yml and the README name the same place. */
    static final String DIRECTORY = "target/components/packages";

    private HubArchive() {
    }

    /** The archive's base name without ".zip", e.g. closeconnect-kafka-connect-close-0.1.0. */
    static String name() {
        return required("hub.archive.name");
    }

    static String projectVersion() {
        return required("project.version");
    }

    /** The built zip, as Failsafe passes it; fails with a hint when {@code mvn package} has not run. */
    static Path zip() {
        Path zip = Paths.get(required("hub.archive"));
        assertTrue(Files.isRegularFile(zip), "The Hub archive " + zip + " is missing: run mvn package first");
        return zip;
    }

    /** Unzips the archive into {@code target} (a plugin.path) and returns the plugin's folder. */
    static Path unzipInto(Path target) throws IOException {
        return unzip(zip(), target);
    }

    /**
     * Unzips a Hub archive into {@code target} (a plugin.path), as an operator does, and returns the
     * plugin's folder: the archive's single top folder.
     */
    public static Path unzip(Path archive, Path target) throws IOException {
        String top = null;
        try (ZipFile zip = new ZipFile(archive.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry entry = entries.nextElement();
                Path out = target.resolve(entry.getName()).normalize();
                if (!out.startsWith(target)) {
                    throw new IOException("Zip entry escapes the target folder: " + entry.getName());
                }
                if (top == null) {
                    top = entry.getName().split("/")[0];
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(out);
                } else {
                    Files.createDirectories(out.getParent());
                    try (InputStream in = zip.getInputStream(entry)) {
                        Files.copy(in, out);
                    }
                }
            }
        }
        if (top == null) {
            throw new IOException(archive + " is empty");
        }
        return target.resolve(top);
    }

    private static String required(String property) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("System property " + property + " is not set: run this test through "
                    + "Maven Failsafe (mvn verify), which passes it from pom.xml");
        }
        return value;
    }
}
