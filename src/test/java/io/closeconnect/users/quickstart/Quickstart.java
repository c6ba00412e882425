package io.closeconnect.users.quickstart;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.log4j.LogManager;
import org.apache.log4j.PropertyConfigurator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.closeconnect.users.Version;
import io.closeconnect.users.packaging.ConnectWorkerProcess;
import io.closeconnect.users.packaging.HubArchive;
import io.closeconnect.users.packaging.WorkerClasspaths;

/**
 * README command number one: a single-node Kafka, a standalone Connect worker running the
 * connector, and a console consumer that prints each user record as it arrives. With
 * {@code CLOSE_API_KEY} set it reads that Close account; otherwise a local sandbox of synthetic,
 * changing users.
 *
 * <p>The worker is installed as in production: its own JVM, on the classpath of Kafka's
 * connect-runtime alone (resolved by Maven), with the connector loaded from the Confluent Hub
 * archive that {@code mvn package} built, unzipped into an isolated {@code plugin.path}. Its
 * connector config is {@code config/close-users-source.properties} with the quickstart's URL, key,
 * poll interval and page size, so Connect creates the topic compacted, as the sample says.
 *
 * <p>Everything it keeps (Kafka's log, Connect's offsets, the sandbox's users, the logs) lives in
 * one directory, so a second run resumes. Ctrl-C stops it, during startup too, within seconds.
 */
public final class Quickstart {

    static final String TOPIC = "close.users";
    static final String CONNECTOR = "close-users-quickstart";
    // Fixed, so that the sandbox's URL (part of the source partition) is the same on every run;
    // system properties move them (the quickstart script passes its QUICKSTART_*_PORT variables).
    private static final int SANDBOX_PORT = Integer.getInteger("quickstart.sandbox.port", 18080);
    private static final int CONNECT_PORT = Integer.getInteger("quickstart.connect.port", 18083);
    private static final int BROKER_PORT = Integer.getInteger("quickstart.kafka.port", 19092);
    private static final int CONTROLLER_PORT = Integer.getInteger("quickstart.controller.port", 19093);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
    private static final DateTimeFormatter UPDATED = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);
    /** Close user ids are "user_" and 43 characters. */
    private static final int ID_WIDTH = 48;
    private static final int NAME_WIDTH = 24;

    private Quickstart() {
    }

    public static void main(String[] args) throws Exception {
        Path data = Paths.get(args.length > 0 ? args[0] : "quickstart-data").toAbsolutePath();
        Path logs = Files.createDirectories(data.resolve("logs"));
        configureLogging(logs.resolve("quickstart.log"));
        boolean resumed = Files.exists(data.resolve("connect.offsets"));

        String busy = busyPorts(Map.of(SANDBOX_PORT, "the Close sandbox", CONNECT_PORT, "Connect's REST API",
                BROKER_PORT, "Kafka", CONTROLLER_PORT, "Kafka's controller"));
        if (!busy.isEmpty()) {
            System.err.println("Cannot start: " + busy + ". Is another quickstart running? Stop it (Ctrl-C) and retry.");
            System.exit(1);
        }

        String apiKey = System.getenv("CLOSE_API_KEY");
        boolean sandboxMode = apiKey == null || apiKey.isBlank();

        CountDownLatch stopped = new CountDownLatch(1);
        Stack stack = new Stack();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stack.stopping = true;
            KafkaConsumer<?, ?> consumer = stack.consumer;
            if (consumer != null) {
                consumer.wakeup();
                try {
                    stack.printerDone.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            }
            stack.close();
            System.out.println("Stopped. State is kept in " + data + "; run again to resume from its offsets.");
            stopped.countDown();
        }, "quickstart-shutdown"));

        try {
            String apiUrl;
            String keyConfig;
            if (sandboxMode) {
                stack.add(CloseSandbox.start(data.resolve("sandbox"), SANDBOX_PORT, 1_000, 5));
                apiUrl = stack.sandbox.url();
                keyConfig = CloseSandbox.API_KEY;
            } else {
                apiUrl = System.getenv().getOrDefault("CLOSE_API_URL", "https://api.close.com");
                keyConfig = "${env:CLOSE_API_KEY}";
            }
            System.out.println("Starting Kafka on 127.0.0.1:" + BROKER_PORT + "...");
            stack.add(QuickstartKafka.start(data.resolve("kafka"), BROKER_PORT, CONTROLLER_PORT));

            String kafkaVersion = AppInfoParser.getVersion();
            System.out.println("Starting a Kafka Connect " + kafkaVersion + " worker with the plugin installed from "
                    + "the Hub archive...");
            List<Path> workerClasspath = WorkerClasspaths.resolve(Paths.get("target", "connect-workers"),
                    List.of(kafkaVersion)).get(kafkaVersion);
            Path pluginPath = installPlugin(data.resolve("plugins"));
            ConnectWorkerProcess.Spec worker = workerSpec(workerClasspath, data, pluginPath, stack.kafka.bootstrapServers())
                    .connector(connectorConfig(apiUrl, keyConfig, sandboxMode));
            stack.add(worker);
            awaitRunning(stack);

            System.out.println();
            System.out.println("Close users -> Kafka quickstart");
            System.out.println("  Close API:   " + apiUrl + (sandboxMode
                    ? "  (local sandbox: " + stack.sandbox.userCount() + " synthetic users, a change every second,"
                    + " RateLimit of 5 requests/s; set CLOSE_API_KEY to read your account)"
                    : "  (your account, key from CLOSE_API_KEY)"));
            System.out.println("  Kafka:       " + stack.kafka.bootstrapServers() + ", topic " + TOPIC + " (compacted)");
            System.out.println("  Connect:     http://127.0.0.1:" + CONNECT_PORT + "/connectors/" + CONNECTOR + "/status");
            System.out.println("  Plugin:      " + pluginPath + " (plugin.path)");
            System.out.println("  State:       " + data + (resumed ? "  (resuming from the saved offsets)" : "  (first run)"));
            System.out.println("  Logs:        " + logs);
            System.out.println("  Stop:        Ctrl-C");
            System.out.println();

            printRecords(stack);
        } catch (Throwable t) {
            if (!stack.stopping) {
                System.err.println("Quickstart failed: " + t + " (logs: " + logs + ")");
                t.printStackTrace();
                stack.close();
                Runtime.getRuntime().halt(1);
            }
        } finally {
            stack.printerDone.countDown();
        }
        stopped.await();
    }

    /** The ports of the map that something else listens on already, described; empty when all are free. */
    private static String busyPorts(Map<Integer, String> ports) {
        List<String> busy = new java.util.ArrayList<>();
        for (Map.Entry<Integer, String> port : new java.util.TreeMap<>(ports).entrySet()) {
            try (java.net.ServerSocket socket = new java.net.ServerSocket()) {
                socket.setReuseAddress(true);
                socket.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port.getKey()));
            } catch (java.io.IOException e) {
                busy.add("port " + port.getKey() + " (" + port.getValue() + ") is in use");
            }
        }
        return String.join(", ", busy);
    }

    /** Unzips the archive that {@code mvn package} built into a fresh plugin.path, as an operator installs it. */
    private static Path installPlugin(Path pluginPath) throws IOException {
        String archive = System.getProperty("hub.archive",
                "target/components/packages/closeconnect-kafka-connect-close-" + Version.get() + ".zip");
        Path zip = Paths.get(archive);
        if (!Files.isRegularFile(zip)) {
            throw new IllegalStateException(zip + " is missing: run mvn package (./quickstart does)");
        }
        if (Files.exists(pluginPath)) {
            try (Stream<Path> walk = Files.walk(pluginPath)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        HubArchive.unzip(zip, Files.createDirectories(pluginPath));
        return pluginPath;
    }

    private static ConnectWorkerProcess.Spec workerSpec(List<Path> classpath, Path data, Path pluginPath,
                                                        String bootstrapServers) {
        Path logs = data.resolve("logs");
        return new ConnectWorkerProcess.Spec(classpath, data.resolve("connect"), CONNECT_PORT)
                .worker("bootstrap.servers", bootstrapServers)
                .worker("plugin.path", pluginPath.toString())
                .worker("plugin.discovery", "service_load")
                .worker("key.converter", "org.apache.kafka.connect.storage.StringConverter")
                .worker("value.converter", "org.apache.kafka.connect.json.JsonConverter")
                .worker("value.converter.schemas.enable", "false")
                .worker("offset.storage.file.filename", data.resolve("connect.offsets").toString())
                .worker("offset.flush.interval.ms", "2000")
                .worker("config.providers", "env")
                .worker("config.providers.env.class", "org.apache.kafka.common.config.provider.EnvVarConfigProvider")
                .log4j(workerLogging(logs.resolve("connect.log")))
                .output(ProcessBuilder.Redirect.INHERIT);
    }

    /** The sample connector config, pointed at the sandbox (or the account) and sped up a little. */
    private static Map<String, String> connectorConfig(String apiUrl, String keyConfig, boolean sandbox) throws IOException {
        Properties sample = new Properties();
        try (Reader reader = Files.newBufferedReader(Paths.get("config", "close-users-source.properties"))) {
            sample.load(reader);
        }
        Map<String, String> config = new HashMap<>();
        sample.stringPropertyNames().forEach(k -> config.put(k, sample.getProperty(k)));
        config.put("name", CONNECTOR);
        config.put("close.api.key", keyConfig);
        config.put("close.api.url", apiUrl);
        config.put("topic", TOPIC);
        config.put("poll.interval.ms", sandbox ? "5000" : "30000");
        config.put("page.size", sandbox ? "25" : "100");
        return config;
    }

    /** Waits until the worker runs the connector's task; returns early when Ctrl-C came. */
    private static void awaitRunning(Stack stack) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 180_000;
        while (!stack.stopping) {
            ConnectWorkerProcess worker = stack.worker;
            if (worker == null || !worker.isAlive()) {
                throw new IllegalStateException("The Connect worker exited during startup; see logs/connect.log");
            }
            String states = worker.states(CONNECTOR);
            if ("RUNNING/RUNNING".equals(states)) {
                return;
            }
            if (states != null && states.contains("FAILED")) {
                throw new IllegalStateException("The connector failed to start (" + states + "): "
                        + worker.get("/connectors/" + CONNECTOR + "/status"));
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("The connector was not running after 3 minutes (" + states + ")");
            }
            Thread.sleep(250);
        }
    }

    /** Prints one line per record until Ctrl-C; the consumer group keeps its place across runs. */
    private static void printRecords(Stack stack) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafka.bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "quickstart-printer");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // Connect creates the topic (compacted); the printer must not create it first.
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "1000");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            stack.consumer = consumer;
            if (stack.stopping) {
                return;
            }
            consumer.subscribe(List.of(TOPIC));
            while (!stack.stopping) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    System.out.println(describe(LocalTime.now(), record.key(), record.value()));
                }
            }
        } catch (WakeupException e) {
            // Ctrl-C
        }
    }

    /**
     * One line per record, in fixed columns whatever the lengths: time, user id, created, updated,
     * removed (a removal record: when, and why) or forget (a tombstone), date_updated, the name (cut to {@value #NAME_WIDTH} characters), and
     * the email last, where its length moves nothing.
     */
    static String describe(LocalTime now, String key, String value) {
        String prefix = now.format(CLOCK) + "  " + pad(key, ID_WIDTH) + "  ";
        if (value == null) {
            return prefix + pad("forget", 7) + "  (tombstone: a compacted topic forgets the user)";
        }
        try {
            JsonNode user = JSON.readTree(value);
            if (user.path("removed").asBoolean(false)) {
                return prefix + pad("removed", 7) + "  " + UPDATED.format(Instant.ofEpochMilli(user.path("removed_at").asLong()))
                        + "  (" + user.path("removal_reason").asText("") + ")";
            }
            long created = user.path("date_created").asLong();
            long updated = user.path("date_updated").asLong();
            String name = (user.path("first_name").asText("") + " " + user.path("last_name").asText("")).trim();
            return prefix + pad(created == updated ? "created" : "updated", 7) + "  "
                    + UPDATED.format(Instant.ofEpochMilli(updated)) + "  " + pad(cut(name, NAME_WIDTH), NAME_WIDTH)
                    + "  <" + user.path("email").asText("") + ">";
        } catch (Exception e) {
            return prefix + value;
        }
    }

    private static String pad(String text, int width) {
        return text.length() >= width ? text : text + " ".repeat(width - text.length());
    }

    private static String cut(String text, int width) {
        return text.length() <= width ? text : text.substring(0, width - 1) + "\u2026";
    }

    /** This JVM (Kafka, the sandbox): everything at INFO to the file, errors to the console. */
    private static void configureLogging(Path file) {
        Properties log = new Properties();
        log.put("log4j.rootLogger", "INFO, file, errors");
        log.put("log4j.appender.file", "org.apache.log4j.FileAppender");
        log.put("log4j.appender.file.File", file.toString());
        log.put("log4j.appender.file.layout", "org.apache.log4j.PatternLayout");
        log.put("log4j.appender.file.layout.ConversionPattern", "[%d] %p %m (%c)%n");
        log.put("log4j.appender.errors", "org.apache.log4j.ConsoleAppender");
        log.put("log4j.appender.errors.Threshold", "ERROR");
        log.put("log4j.appender.errors.layout", "org.apache.log4j.PatternLayout");
        log.put("log4j.appender.errors.layout.ConversionPattern", "%d{HH:mm:ss} %p %m (%c{1})%n");
        LogManager.resetConfiguration();
        PropertyConfigurator.configure(log);
    }

    /**
     * The worker's JVM: everything at INFO to the file; on the console, which it shares with this
     * JVM, the connector's own INFO lines (startup, resume point, one progress line per sweep) and
     * errors from anything.
     */
    private static String workerLogging(Path file) {
        return String.join("\n",
                "log4j.rootLogger=INFO, file, errors",
                "log4j.appender.file=org.apache.log4j.FileAppender",
                "log4j.appender.file.File=" + file.toString().replace("\\", "/"),
                "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
                "log4j.appender.errors=org.apache.log4j.ConsoleAppender",
                "log4j.appender.errors.Threshold=ERROR",
                "log4j.appender.errors.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.errors.layout.ConversionPattern=%d{HH:mm:ss} %p %m (%c{1})%n",
                "log4j.appender.progress=org.apache.log4j.ConsoleAppender",
                "log4j.appender.progress.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.progress.layout.ConversionPattern=%d{HH:mm:ss}  -- %m%n",
                "log4j.logger.io.closeconnect=INFO, file, progress",
                "log4j.additivity.io.closeconnect=false",
                "");
    }

    /**
     * What is running, stopped in reverse order of starting: the worker (it commits its offsets),
     * then Kafka, then the sandbox. Whatever starts after Ctrl-C is stopped at once.
     */
    private static final class Stack {
        final CountDownLatch printerDone = new CountDownLatch(1);
        volatile boolean stopping;
        volatile KafkaConsumer<?, ?> consumer;
        volatile CloseSandbox sandbox;
        volatile QuickstartKafka kafka;
        volatile ConnectWorkerProcess worker;

        void add(CloseSandbox started) {
            synchronized (this) {
                if (!stopping) {
                    sandbox = started;
                    return;
                }
            }
            closeQuietly(started);
        }

        void add(QuickstartKafka started) {
            synchronized (this) {
                if (!stopping) {
                    kafka = started;
                    return;
                }
            }
            started.close();
        }

        /** Starts the worker unless Ctrl-C came: a worker started after the shutdown hook ran would outlive it. */
        synchronized void add(ConnectWorkerProcess.Spec spec) throws IOException {
            if (!stopping) {
                worker = ConnectWorkerProcess.start(spec);
            }
        }

        void close() {
            ConnectWorkerProcess workerNow;
            QuickstartKafka kafkaNow;
            CloseSandbox sandboxNow;
            synchronized (this) {
                stopping = true;
                workerNow = worker;
                kafkaNow = kafka;
                sandboxNow = sandbox;
                worker = null;
                kafka = null;
                sandbox = null;
            }
            if (workerNow != null) {
                try {
                    if (!workerNow.stop(Duration.ofSeconds(30))) {
                        System.err.println("The Connect worker did not stop within 30 s and was killed");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (kafkaNow != null) {
                kafkaNow.close();
            }
            closeQuietly(sandboxNow);
        }

        private static void closeQuietly(CloseSandbox sandbox) {
            if (sandbox != null) {
                try {
                    sandbox.close();
                } catch (Exception e) {
                    System.err.println("Could not save the sandbox's users: " + e);
                }
            }
        }
    }
}
