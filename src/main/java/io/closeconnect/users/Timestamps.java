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
        long fast = parseCommonForm(text);
        return fast != NOT_COMMON ? fast : parseWithFormatter(text);
    }

    /** What {@link #parseCommonForm} returns for a text it leaves to the formatter. */
    static final long NOT_COMMON = Long.MIN_VALUE;

    /**
     * The forms Close writes, by hand: {@code uuuu-MM-ddTHH:mm:ss}, an optional fraction of 1 to 9
     * digits, then nothing, {@code Z} or {@code ±HH:MM}. Anything else, including every invalid
     * text, goes to the formatter, so the two accept exactly the same texts.
     *
     * @return the micros, or {@link #NOT_COMMON} for a text left to the formatter
     */
    static long parseCommonForm(String text) {
        int length = text.length();
        if (length < 19 || text.charAt(4) != '-' || text.charAt(7) != '-' || text.charAt(10) != 'T'
                || text.charAt(13) != ':' || text.charAt(16) != ':') {
            return NOT_COMMON;
        }
        int year = digits(text, 0, 4);
        int month = digits(text, 5, 2);
        int day = digits(text, 8, 2);
        int hour = digits(text, 11, 2);
        int minute = digits(text, 14, 2);
        int second = digits(text, 17, 2);
        if (year < 0 || month < 1 || month > 12 || day < 1 || day > 28 && day > lengthOfMonth(year, month)
                || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
            return NOT_COMMON;
        }
        int i = 19;
        long micros = 0;
        if (i < length && text.charAt(i) == '.') {
            int start = ++i;
            long nanos = 0;
            while (i < length && i - start < 9) {
                int d = text.charAt(i) - '0';
                if (d < 0 || d > 9) {
                    break;
                }
                nanos = nanos * 10 + d;
                i++;
            }
            int count = i - start;
            if (count == 0) {
                return NOT_COMMON;
            }
            for (int k = count; k < 9; k++) {
                nanos *= 10;
            }
            micros = nanos / 1_000;
        }
        int offsetSeconds = 0;
        if (i < length) {
            char c = text.charAt(i);
            if (c == 'Z' && i + 1 == length) {
                offsetSeconds = 0;
            } else if ((c == '+' || c == '-') && i + 6 == length && text.charAt(i + 3) == ':') {
                int offsetHours = digits(text, i + 1, 2);
                int offsetMinutes = digits(text, i + 4, 2);
                if (offsetHours < 0 || offsetHours > 18 || offsetMinutes < 0 || offsetMinutes > 59
                        || offsetHours == 18 && offsetMinutes > 0) {
                    return NOT_COMMON;
                }
                offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (c == '-' ? -1 : 1);
            } else {
                return NOT_COMMON;
            }
        }
        long epochSeconds = epochDay(year, month, day) * 86_400L + hour * 3600L + minute * 60L + second - offsetSeconds;
        return epochSeconds * 1_000_000L + micros;
    }

    /** The number written by {@code count} ASCII digits at {@code from}, or -1. */
    private static int digits(String text, int from, int count) {
        int value = 0;
        for (int i = from; i < from + count; i++) {
            int d = text.charAt(i) - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            value = value * 10 + d;
        }
        return value;
    }

    private static int lengthOfMonth(int year, int month) {
        return switch (month) {
            case 2 -> java.time.Year.isLeap(year) ? 29 : 28;
            case 4, 6, 9, 11 -> 30;
            default -> 31;
        };
    }

    /** Days since 1970-01-01 of a valid proleptic Gregorian date (the algorithm of LocalDate.toEpochDay). */
    private static long epochDay(int year, int month, int day) {
        long y = year;
        long total = 365 * y;
        total += (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
        total += (367 * month - 362) / 12;
        total += day - 1;
        if (month > 2) {
            total--;
            if (!java.time.Year.isLeap(year)) {
                total--;
            }
        }
        return total - 719_528L;
    }

    private static long parseWithFormatter(String text) {
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
        long epochSecond = Math.floorDiv(micros, 1_000_000L);
        long epochDay = Math.floorDiv(epochSecond, 86_400L);
        if (epochDay < 0 || epochDay > 2_932_896L) {
            // Before 1970 or after 9999-12-31: rare enough for the formatter.
            return PRINTER.format(toInstant(micros));
        }
        java.time.LocalDate date = java.time.LocalDate.ofEpochDay(epochDay);
        int secondOfDay = (int) (epochSecond - epochDay * 86_400L);
        int fraction = (int) Math.floorMod(micros, 1_000_000L);
        char[] out = new char[27];
        put(out, 0, date.getYear(), 4);
        out[4] = '-';
        put(out, 5, date.getMonthValue(), 2);
        out[7] = '-';
        put(out, 8, date.getDayOfMonth(), 2);
        out[10] = 'T';
        put(out, 11, secondOfDay / 3600, 2);
        out[13] = ':';
        put(out, 14, secondOfDay / 60 % 60, 2);
        out[16] = ':';
        put(out, 17, secondOfDay % 60, 2);
        out[19] = '.';
        put(out, 20, fraction, 6);
        out[26] = 'Z';
        return new String(out);
    }

    private static void put(char[] out, int at, int value, int width) {
        for (int i = at + width - 1; i >= at; i--) {
            out[i] = (char) ('0' + value % 10);
            value /= 10;
        }
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
