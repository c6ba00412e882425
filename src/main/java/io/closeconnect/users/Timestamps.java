package io.closeconnect.users;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;

/**
 * Close timestamps as epoch microseconds.
 *
 * <p>Close writes {@code 2021-07-13T11:36:04.905000+00:00}, and in some places the same without
 * an offset, which means UTC. The sync compares timestamps at full microsecond precision, so
 * they are kept as {@code long} micros rather than {@link java.util.Date} millis.
 */
public final class Timestamps {

    private static final DateTimeFormatter PARSER = new DateTimeFormatterBuilder()
            .append(DateTimeFormatter.ISO_LOCAL_DATE_TIME)
            .optionalStart().appendOffsetId().optionalEnd()
            .toFormatter();

    private static final DateTimeFormatter PRINTER = new DateTimeFormatterBuilder()
            .appendPattern("uuuu-MM-dd'T'HH:mm:ss")
            .appendFraction(ChronoField.MICRO_OF_SECOND, 6, 6, true)
            .appendLiteral('Z')
            .toFormatter()
            .withZone(ZoneOffset.UTC);

    private Timestamps() {
    }

    /**
     * Parses an ISO-8601 date-time, with or without an offset (no offset means UTC).
     *
     * @throws IllegalArgumentException naming the text when it is not such a timestamp
     */
    public static long parseMicros(String text) {
        try {
            TemporalAccessor parsed = PARSER.parse(text);
            Instant instant = parsed.isSupported(ChronoField.OFFSET_SECONDS)
                    ? OffsetDateTime.from(parsed).toInstant()
                    : LocalDateTime.from(parsed).toInstant(ZoneOffset.UTC);
            return toMicros(instant);
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new IllegalArgumentException("'" + text + "' is not an ISO-8601 timestamp", e);
        }
    }

    /** Formats micros as {@code 2021-07-13T11:36:04.905000Z}; parses back to the same value. */
    public static String format(long micros) {
        return PRINTER.format(toInstant(micros));
    }

    public static long toMicros(Instant instant) {
        return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1_000);
    }

    public static Instant toInstant(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
    }

    public static long toMillis(long micros) {
        return Math.floorDiv(micros, 1_000L);
    }
}
