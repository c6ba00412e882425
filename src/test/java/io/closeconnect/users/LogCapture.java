package io.closeconnect.users;

import java.util.ArrayList;
import java.util.List;

import org.apache.log4j.AppenderSkeleton;
import org.apache.log4j.Level;
import org.apache.log4j.Logger;
import org.apache.log4j.spi.LoggingEvent;

/**
 * Collects the log lines of one logger (INFO and above, as the tests' log4j.properties sets) while open: {@code try (LogCapture log = LogCapture.of(X.class)) {...}},
 * or opened in {@code @BeforeEach} and closed in {@code @AfterEach}.
 */
final class LogCapture extends AppenderSkeleton implements AutoCloseable {

    private final Logger logger;
    private final List<LoggingEvent> events = new ArrayList<>();

    private LogCapture(Logger logger) {
        this.logger = logger;
        logger.addAppender(this);
    }

    /** Captures the logger of {@code type} (the connector's loggers are named after their class). */
    static LogCapture of(Class<?> type) {
        return new LogCapture(Logger.getLogger(type.getName()));
    }

    @Override
    protected void append(LoggingEvent event) {
        synchronized (events) {
            events.add(event);
        }
    }

    /** The rendered messages at {@code level} that contain {@code text}. */
    List<String> messages(Level level, String text) {
        synchronized (events) {
            return events.stream().filter(e -> e.getLevel().equals(level)).map(LoggingEvent::getRenderedMessage)
                    .filter(m -> m.contains(text)).toList();
        }
    }

    @Override
    public void close() {
        logger.removeAppender(this);
    }

    @Override
    public boolean requiresLayout() {
        return false;
    }
}
