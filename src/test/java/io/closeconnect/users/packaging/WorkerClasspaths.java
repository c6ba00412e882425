package io.closeconnect.users.packaging;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The classpath of an Apache Kafka Connect worker of a given Kafka version, as Maven resolves it:
 * {@code org.apache.kafka:connect-runtime:<version>} and its runtime dependencies (kafka-clients,
 * connect-api, connect-json, connect-transforms, Jetty, Jersey, Jackson...), plus an SLF4J binding
 * for reload4j. Nothing of this project, and no test jar: a worker started on it can load the
 * connector only from its {@code plugin.path}.
 *
 * <p>It writes a small Maven project under {@code dir} (one module per version) and runs Maven on it
 * once for all versions ({@code dependency:build-classpath}), with the Maven, local repository and
 * offline mode of the build that runs the tests when Failsafe passes them ({@code maven.home},
 * {@code maven.repo.local}, {@code maven.offline}), else {@code mvn} from the PATH. A resolution
 * whose poms did not change and whose jars are all still there is reused.
 */
public final class WorkerClasspaths {

    /** The SLF4J binding the workers log through; every connect-runtime from 3.2 to 4.4 uses slf4j-api 1.7.36. */
    private static final String SLF4J_BINDING = "org.slf4j:slf4j-reload4j:1.7.36";

    private WorkerClasspaths() {
    }

    /** Resolves every version at once; version to classpath, in the order given. */
    public static Map<String, List<Path>> resolve(Path dir, List<String> versions) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        boolean changed = write(dir.resolve("pom.xml"), aggregatorPom(versions));
        for (String version : versions) {
            Path module = Files.createDirectories(dir.resolve(module(version)));
            changed |= write(module.resolve("pom.xml"), workerPom(version));
        }
        Map<String, List<Path>> classpaths = changed ? null : read(dir, versions);
        if (classpaths == null) {
            runMaven(dir);
            classpaths = read(dir, versions);
            if (classpaths == null) {
                throw new IllegalStateException("Maven wrote no usable classpath under " + dir + "; see "
                        + dir.resolve("maven.log"));
            }
        }
        return classpaths;
    }

    private static String module(String version) {
        return "kafka-" + version;
    }

    /** The classpaths from an earlier resolution, or null when one is missing or names a jar that is gone. */
    private static Map<String, List<Path>> read(Path dir, List<String> versions) throws IOException {
        Map<String, List<Path>> classpaths = new LinkedHashMap<>();
        for (String version : versions) {
            Path file = dir.resolve(module(version)).resolve("classpath.txt");
            if (!Files.isRegularFile(file)) {
                return null;
            }
            List<Path> entries = new ArrayList<>();
            for (String entry : Files.readString(file).trim().split(File.pathSeparator)) {
                Path jar = Paths.get(entry);
                if (entry.isBlank() || !Files.isRegularFile(jar)) {
                    return null;
                }
                entries.add(jar);
            }
            classpaths.put(version, entries);
        }
        return classpaths;
    }

    private static void runMaven(Path dir) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        String home = System.getProperty("maven.home");
        boolean windows = System.getProperty("os.name").toLowerCase().startsWith("windows");
        String mvn = windows ? "mvn.cmd" : "mvn";
        command.add(home == null || home.isBlank() ? mvn : Paths.get(home, "bin", mvn).toString());
        command.addAll(List.of("-B", "-q", "-f", dir.resolve("pom.xml").toString(), "dependency:build-classpath",
                "-Dmdep.outputFile=classpath.txt", "-Dmdep.includeScope=runtime"));
        // Failsafe passes "offline=<true|false>": a plain boolean expression cannot be a system property.
        if (System.getProperty("maven.offline", "").endsWith("true")) {
            command.add("-o");
        }
        String repo = System.getProperty("maven.repo.local");
        if (repo != null && !repo.isBlank()) {
            command.add("-Dmaven.repo.local=" + repo);
        }
        Path log = dir.resolve("maven.log");
        Process maven = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!maven.waitFor(10, TimeUnit.MINUTES)) {
            maven.destroyForcibly();
            throw new IllegalStateException("Maven took more than 10 minutes to resolve the worker classpaths: " + command);
        }
        if (maven.exitValue() != 0) {
            throw new IllegalStateException("Maven could not resolve the Connect worker classpaths (exit "
                    + maven.exitValue() + "): " + String.join(" ", command) + "\n" + Files.readString(log));
        }
    }

    /** Writes the file when its content differs; whether it did. */
    private static boolean write(Path file, String content) throws IOException {
        if (Files.isRegularFile(file) && Files.readString(file).equals(content)) {
            return false;
        }
        Files.writeString(file, content, StandardCharsets.UTF_8);
        return true;
    }

    private static String aggregatorPom(List<String> versions) {
        StringBuilder modules = new StringBuilder();
        for (String version : versions) {
            modules.append("    <module>").append(module(version)).append("</module>\n");
        }
        return project("connect-workers", "pom", "  <modules>\n" + modules + "  </modules>\n");
    }

    private static String workerPom(String version) {
        String[] binding = SLF4J_BINDING.split(":");
        return project(module(version), "jar", "  <dependencies>\n"
                + dependency("org.apache.kafka", "connect-runtime", version)
                + dependency(binding[0], binding[1], binding[2])
                + "  </dependencies>\n");
    }

    private static String dependency(String group, String artifact, String version) {
        return "    <dependency><groupId>" + group + "</groupId><artifactId>" + artifact + "</artifactId><version>"
                + version + "</version></dependency>\n";
    }

    private static String project(String artifactId, String packaging, String body) {
        String pluginVersion = System.getProperty("dependency.plugin.version", "3.8.1");
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                + "<!-- Generated by WorkerClasspaths: a Connect worker's classpath, resolved by Maven. -->\n"
                + "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n"
                + "  <modelVersion>4.0.0</modelVersion>\n"
                + "  <groupId>io.closeconnect.workers</groupId>\n"
                + "  <artifactId>" + artifactId + "</artifactId>\n"
                + "  <version>1</version>\n"
                + "  <packaging>" + packaging + "</packaging>\n"
                + body
                + "  <build><plugins><plugin><groupId>org.apache.maven.plugins</groupId>"
                + "<artifactId>maven-dependency-plugin</artifactId><version>" + pluginVersion
                + "</version></plugin></plugins></build>\n"
                + "</project>\n";
    }
}
