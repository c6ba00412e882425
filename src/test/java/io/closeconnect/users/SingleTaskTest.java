package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.log4j.AppenderSkeleton;
import org.apache.log4j.Logger;
import org.apache.log4j.spi.LoggingEvent;
import org.junit.jupiter.api.Test;

class SingleTaskTest {

    @Test
    void alwaysOneTaskAndSaysSoOnceWhenMoreAreAsked() {
        List<String> lines = new ArrayList<>();
        AppenderSkeleton capture = new AppenderSkeleton() {
            @Override
            protected void append(LoggingEvent event) {
                lines.add(event.getRenderedMessage());
            }

            @Override
            public void close() {
            }

            @Override
            public boolean requiresLayout() {
                return false;
            }
        };
        Logger logger = Logger.getLogger(CloseUsersSourceConnector.class);
        logger.addAppender(capture);
        try {
            CloseUsersSourceConnector connector = new CloseUsersSourceConnector();
            Map<String, String> props = Map.of(CloseUsersConfig.API_KEY, "k", "tasks.max", "4");
            connector.start(props);
            for (int i = 0; i < 3; i++) {
                List<Map<String, String>> configs = connector.taskConfigs(4);
                assertEquals(List.of(props), configs);
            }
            assertEquals(1, lines.stream().filter(l -> l.contains("tasks.max is 4")).count(), lines.toString());
            assertEquals(List.of(props), connector.taskConfigs(1));
        } finally {
            logger.removeAppender(capture);
        }
    }
}
