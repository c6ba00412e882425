package io.closeconnect.users.quickstart;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.connect.cli.ConnectStandalone;
import org.apache.kafka.connect.runtime.Connect;
import org.apache.kafka.connect.runtime.standalone.StandaloneHerder;
import org.apache.kafka.connect.util.FutureCallback;
import org.apache.log4j.LogManager;
import org.apache.log4j.PropertyConfigurator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.closeconnect.users.CloseUsersSourceConnector;

/**
 * README command number one: a single-node Kafka, a standalone Connect worker running the
 * connector, and a console consumer that prints each user record as it arrives. With
 * {@code CLOSE_API_KEY} set it reads that Close account; otherwise a local sandbox of synthetic,
 * changing users. Everything it keeps (Kafka's log, Connect's offsets, the sandbox's users, a full
 * log) lives in one directory, so a second run resumes. Ctrl-C stops it cleanly.
 */
public final class Quickstart {

    static final String TOPIC = "close.users";
    static final String CONNECTOR = "close-users-quickstart";
    // Fixed, so that the sandbox's URL (part of the source partition) is the same on every run;
    // system properties move them (QuickstartIT uses free ports).
    private static final int SANDBOX_PORT = Integer.getInteger("quickstart.sandbox.port", 18080);
    private static final int CONNECT_PORT = Integer.getInteger("quickstart.connect.port", 18083);
    private static final int BROKER_PORT = Integer.getInteger("quickstart.kafka.port", 19092);
    private static final int CONTROLLER_PORT = Integer.getInteger("quickstart.controller.port", 19093);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    private Quickstart() {
    }

    public static void main(String[] args) throws Exception {
        Path data = Paths.get(args.length > 0 ? args[0] : "quickstart-data").toAbsolutePath();
        Files.createDirectories(data.resolve("logs"));
        configureLogging(data.resolve("logs").resolve("quickstart.log"));
        boolean resumed = Files.exists(data.resolve("connect.offsets"));

        String busy = busyPorts(Map.of(SANDBOX_PORT, "the Close sandbox", CONNECT_PORT, "Connect's REST API",
                BROKER_PORT, "Kafka", CONTROLLER_PORT, "Kafka's controller"));
        if (!busy.isEmpty()) {
            System.err.println("Cannot start: " + busy + ". Is another quickstart running? Stop it (Ctrl-C) and retry.");
            System.exit(1);
        }

        String apiKey = System.getenv("CLOSE_API_KEY");
        boolean sandboxMode = apiKey == null || apiKey.isBlank();

        // Connect registers its own shutdown hook; ours stops everything in order instead.
        Exit.setShutdownHookAdder((name, runnable) -> { });
        CountDownLatch printerDone = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        Stack stack = new Stack();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stack.stopping = true;
            KafkaConsumer<?, ?> consumer = stack.consumer;
            if (consumer != null) {
                consumer.wakeup();
            }
            try {
                printerDone.await(15, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            stack.close();
            System.out.println("Stopped. State is kept in " + data + "; run again to resume from its offsets.");
            stopped.countDown();
        }, "quickstart-shutdown"));

        try {
            String apiUrl;
            String keyConfig;
            if (sandboxMode) {
                stack.sandbox = CloseSandbox.start(data.resolve("sandbox"), SANDBOX_PORT, 1_000, 5);
                apiUrl = stack.sandbox.url();
                keyConfig = CloseSandbox.API_KEY;
            } else {
                apiUrl = System.getenv().getOrDefault("CLOSE_API_URL", "https://api.close.com");
                keyConfig = "${env:CLOSE_API_KEY}";
            }
            stack.kafka = QuickstartKafka.start(data.resolve("kafka"), BROKER_PORT, CONTROLLER_PORT);
            stack.connect = startConnect(stack.kafka.bootstrapServers(), data);
            createConnector(stack.connect, apiUrl, keyConfig, sandboxMode);

            System.out.println();
            System.out.println("Close users -> Kafka quickstart");
            System.out.println("  Close API:   " + apiUrl + (sandboxMode
                    ? "  (local sandbox: " + stack.sandbox.userCount() + " synthetic users, a change every second,"
                    + " 5 requests/s RateLimit; set CLOSE_API_KEY to read your account)"
                    : "  (your account, key from CLOSE_API_KEY)"));
            System.out.println("  Kafka:       " + stack.kafka.bootstrapServers() + ", topic " + TOPIC);
            System.out.println("  Connect:     http://127.0.0.1:" + CONNECT_PORT + "/connectors/" + CONNECTOR + "/status");
            System.out.println("  State:       " + data + (resumed ? "  (resuming from the saved offsets)" : "  (first run)"));
            System.out.println("  Stop:        Ctrl-C");
            System.out.println();

            printRecords(stack, data);
        } catch (Throwable t) {
            if (!stack.stopping) {
                System.err.println("Quickstart failed: " + t + " (full log: " + data.resolve("logs") + ")");
                t.printStackTrace();
                stack.close();
                Runtime.getRuntime().halt(1);
            }
        } finally {
            printerDone.countDown();
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

    private static Connect<StandaloneHerder> startConnect(String bootstrapServers, Path data) {
        Map<String, String> worker = new HashMap<>();
        worker.put("bootstrap.servers", bootstrapServers);
        worker.put("listeners", "http://127.0.0.1:" + CONNECT_PORT);
        worker.put("plugin.discovery", "service_load");
        worker.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
        worker.put("value.converter", "org.apache.kafka.connect.json.JsonConverter");
        worker.put("value.converter.schemas.enable", "false");
        worker.put("offset.storage.file.filename", data.resolve("connect.offsets").toString());
        worker.put("offset.flush.interval.ms", "2000");
        worker.put("config.providers", "env");
        worker.put("config.providers.env.class", "org.apache.kafka.common.config.provider.EnvVarConfigProvider");
        return new ConnectStandalone().startConnect(worker);
    }

    private static void createConnector(Connect<StandaloneHerder> connect, String apiUrl, String keyConfig,
                                        boolean sandbox) throws Exception {
        Map<String, String> config = new HashMap<>();
        config.put("name", CONNECTOR);
        config.put("connector.class", CloseUsersSourceConnector.class.getName());
        config.put("tasks.max", "1");
        config.put("close.api.key", keyConfig);
        config.put("close.api.url", apiUrl);
        config.put("topic", TOPIC);
        config.put("poll.interval.ms", sandbox ? "5000" : "30000");
        config.put("page.size", sandbox ? "25" : "100");
        FutureCallback<org.apache.kafka.connect.runtime.Herder.Created<org.apache.kafka.connect.runtime.rest.entities.ConnectorInfo>> created =
                new FutureCallback<>();
        connect.herder().putConnectorConfig(CONNECTOR, config, true, created);
        created.get(60, TimeUnit.SECONDS);
        connect.herder().ready();
    }

    /** Prints one line per record until Ctrl-C; the consumer group keeps its place across runs. */
    private static void printRecords(Stack stack, Path data) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafka.bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "quickstart-printer");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            stack.consumer = consumer;
            consumer.subscribe(List.of(TOPIC));
            while (!stack.stopping) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    System.out.println(describe(record.key(), record.value()));
                }
            }
        } catch (WakeupException e) {
            // Ctrl-C
        }
    }

    /** One line: time, user id, created/updated, name, email, date_updated. */
    static String describe(String key, String value) {
        if (value == null) {
            return LocalTime.now().format(CLOCK) + "  " + key + "  (tombstone)";
        }
        try {
            JsonNode user = JSON.readTree(value);
            long created = user.path("date_created").asLong();
            long updated = user.path("date_updated").asLong();
            String name = (user.path("first_name").asText("") + " " + user.path("last_name").asText("")).trim();
            return String.format("%s  %s  %-7s  %-28s %-46s date_updated %s",
                    LocalTime.now().format(CLOCK), key, created == updated ? "created" : "updated", name,
                    "<" + user.path("email").asText("") + ">",
                    Instant.ofEpochMilli(updated).truncatedTo(ChronoUnit.MILLIS));
        } catch (Exception e) {
            return LocalTime.now().format(CLOCK) + "  " + key + "  " + value;
        }
    }

    /**
     * Console: the connector's own INFO lines (startup, resume point, one progress line per sweep)
     * and errors from anything. File: everything at INFO, for when something goes wrong.
     */
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
        log.put("log4j.appender.progress", "org.apache.log4j.ConsoleAppender");
        log.put("log4j.appender.progress.layout", "org.apache.log4j.PatternLayout");
        log.put("log4j.appender.progress.layout.ConversionPattern", "%d{HH:mm:ss}  -- %m%n");
        log.put("log4j.logger.io.closeconnect", "INFO, file, progress");
        log.put("log4j.additivity.io.closeconnect", "false");
        LogManager.resetConfiguration();
        PropertyConfigurator.configure(log);
    }

    /** What is running, closed in reverse order of starting. */
    private static final class Stack {
        volatile boolean stopping;
        volatile KafkaConsumer<?, ?> consumer;
        volatile CloseSandbox sandbox;
        volatile QuickstartKafka kafka;
        volatile Connect<StandaloneHerder> connect;

        synchronized void close() {
            stopping = true;
            if (connect != null) {
                connect.stop();
                connect = null;
            }
            if (kafka != null) {
                kafka.close();
                kafka = null;
            }
            if (sandbox != null) {
                try {
                    sandbox.close();
                } catch (Exception e) {
                    System.err.println("Could not save the sandbox's users: " + e);
                }
                sandbox = null;
            }
        }
    }
}
