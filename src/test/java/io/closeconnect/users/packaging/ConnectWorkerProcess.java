package io.closeconnect.users.packaging;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import javax.management.MBeanServerConnection;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A standalone Kafka Connect worker ({@code ConnectStandalone}) in its own JVM, as an operator runs
 * one: a classpath of Kafka's jars only (see {@link WorkerClasspaths}), plugins from
 * {@code plugin.path}, a worker properties file and optionally a connector properties file.
 * Optionally it opens JMX on a loopback port, so that a test can read the worker's MBeans.
 */
public final class ConnectWorkerProcess implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Process process;
    private final int restPort;
    private final int jmxPort;
    private final Path log;
    private JMXConnector jmx;

    private ConnectWorkerProcess(Process process, int restPort, int jmxPort, Path log) {
        this.process = process;
        this.restPort = restPort;
        this.jmxPort = jmxPort;
        this.log = log;
    }

    /** What a worker runs with; {@link #start} writes the files into {@code dir}. */
    public static final class Spec {
        final List<Path> classpath;
        final Path dir;
        final Map<String, String> worker = new TreeMap<>();
        Map<String, String> connector;
        final Map<String, String> environment = new TreeMap<>();
        String log4j = String.join("\n",
                "log4j.rootLogger=INFO, stdout",
                "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
                "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c{1})%n",
                "");
        ProcessBuilder.Redirect output;
        boolean jmx;
        String maxHeap = "256m";

        /**
         * @param classpath the worker's classpath: Kafka's jars, nothing of this project
         * @param dir       where the properties files and, unless redirected, the output go
         * @param restPort  the port of the REST API, on 127.0.0.1
         */
        public Spec(List<Path> classpath, Path dir, int restPort) {
            this.classpath = List.copyOf(classpath);
            this.dir = dir;
            worker.put("listeners", "http://127.0.0.1:" + restPort);
        }

        public Spec worker(String key, String value) {
            worker.put(key, value);
            return this;
        }

        /** The connector the worker creates at start (the standalone command line's second file). */
        public Spec connector(Map<String, String> config) {
            this.connector = new TreeMap<>(config);
            return this;
        }

        public Spec environment(String name, String value) {
            environment.put(name, value);
            return this;
        }

        /** The worker's log4j (reload4j) configuration, as properties text. */
        public Spec log4j(String properties) {
            this.log4j = properties;
            return this;
        }

        /** Where stdout and stderr go; by default {@code worker.log} in the spec's folder. */
        public Spec output(ProcessBuilder.Redirect redirect) {
            this.output = redirect;
            return this;
        }

        /** Opens JMX without authentication on a free loopback port, for {@link #mbeans()}. */
        public Spec jmx() {
            this.jmx = true;
            return this;
        }
    }

    public static ConnectWorkerProcess start(Spec spec) throws IOException {
        Files.createDirectories(spec.dir);
        int restPort = Integer.parseInt(spec.worker.get("listeners").replaceAll(".*:(\\d+)$", "$1"));
        Path workerProps = store(spec.dir.resolve("worker.properties"), spec.worker);
        Path log4j = spec.dir.resolve("log4j.properties");
        Files.writeString(log4j, spec.log4j);
        List<String> command = new ArrayList<>(List.of(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + spec.maxHeap,
                // A short-lived worker on a small, shared machine: the quick compiler only, one GC thread.
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-Dlog4j.configuration=" + log4j.toUri()));
        int jmxPort = -1;
        if (spec.jmx) {
            jmxPort = freePort();
            command.addAll(List.of(
                    "-Dcom.sun.management.jmxremote.port=" + jmxPort,
                    "-Dcom.sun.management.jmxremote.rmi.port=" + jmxPort,
                    "-Dcom.sun.management.jmxremote.host=127.0.0.1",
                    "-Djava.rmi.server.hostname=127.0.0.1",
                    "-Dcom.sun.management.jmxremote.authenticate=false",
                    "-Dcom.sun.management.jmxremote.ssl=false"));
        }
        command.addAll(List.of("-cp", String.join(File.pathSeparator, spec.classpath.stream().map(Path::toString).toList()),
                "org.apache.kafka.connect.cli.ConnectStandalone", workerProps.toString()));
        if (spec.connector != null) {
            command.add(store(spec.dir.resolve("connector.properties"), spec.connector).toString());
        }
        Path log = spec.dir.resolve("worker.log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(spec.output != null ? spec.output : ProcessBuilder.Redirect.to(log.toFile()));
        builder.environment().putAll(spec.environment);
        return new ConnectWorkerProcess(builder.start(), restPort, jmxPort, spec.output != null ? null : log);
    }

    private static Path store(Path file, Map<String, String> values) throws IOException {
        Properties props = new Properties();
        props.putAll(values);
        try (var out = Files.newBufferedWriter(file)) {
            props.store(out, null);
        }
        return file;
    }

    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    public int restPort() {
        return restPort;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public ProcessHandle handle() {
        return process.toHandle();
    }

    /** GET on the worker's REST API; null while it does not answer. */
    public JsonNode get(String path) {
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + restPort + path))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(response.body());
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The state of the connector and of its first task, e.g. "RUNNING/RUNNING"; null while unknown. */
    public String states(String connector) {
        JsonNode status = get("/connectors/" + connector + "/status");
        if (status == null || status.path("connector").path("state").isMissingNode()) {
            return null;
        }
        return status.path("connector").path("state").asText() + "/" + status.path("tasks").path(0).path("state").asText("NONE");
    }

    /**
     * The worker's MBeans over JMX (see {@link Spec#jmx()}); connects on first use, waiting up to a
     * minute for the JVM to open its JMX port.
     */
    public synchronized MBeanServerConnection mbeans() throws IOException, InterruptedException {
        if (jmxPort < 0) {
            throw new IllegalStateException("the worker was started without JMX");
        }
        long deadline = System.currentTimeMillis() + 60_000;
        while (jmx == null) {
            try {
                jmx = JMXConnectorFactory.connect(new JMXServiceURL(
                        "service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi"), Map.of());
            } catch (IOException e) {
                if (!process.isAlive() || System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(250);
            }
        }
        return jmx.getMBeanServerConnection();
    }

    public String log() {
        try {
            return log == null ? "" : Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    public String tail(int lines) {
        List<String> all = log().lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    /**
     * Stops the worker as Ctrl-C would (SIGTERM: it stops its connectors and commits offsets), and
     * kills it if it has not ended within {@code timeout}.
     *
     * @return whether it ended on its own
     */
    public boolean stop(Duration timeout) throws InterruptedException {
        closeJmx();
        if (!process.isAlive()) {
            return true;
        }
        process.destroy();
        if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return true;
        }
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        return false;
    }

    private synchronized void closeJmx() {
        if (jmx != null) {
            try {
                jmx.close();
            } catch (IOException ignored) {
                // the worker is going away
            }
            jmx = null;
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop(Duration.ofSeconds(30));
    }
}
