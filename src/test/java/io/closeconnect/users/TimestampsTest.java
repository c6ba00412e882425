package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TimestampsTest {

    /** The definition the hand-written parser must agree with: java.time's ISO parser. */
    private static final DateTimeFormatter REFERENCE = new DateTimeFormatterBuilder()
            .append(DateTimeFormatter.ISO_LOCAL_DATE_TIME)
            .optionalStart().appendOffsetId().optionalEnd()
            .toFormatter();

    private static Long reference(String text) {
        try {
            TemporalAccessor parsed = REFERENCE.parse(text);
            Instant instant = parsed.isSupported(ChronoField.OFFSET_SECONDS)
                    ? OffsetDateTime.from(parsed).toInstant()
                    : LocalDateTime.from(parsed).toInstant(ZoneOffset.UTC);
            return instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1_000;
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static Long parsed(String text) {
        try {
            return Timestamps.parseMicros(text);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains(text), e.getMessage());
            return null;
        }
    }

    @Test
    void parsesCloseFormsToMicros() {
        assertEquals(1_626_176_164_905_000L, Timestamps.parseMicros("2021-07-13T11:36:04.905000+00:00"));
        assertEquals(1_626_176_164_905_000L, Timestamps.parseMicros("2021-07-13T11:36:04.905000"));
        assertEquals(1_626_176_164_905_000L, Timestamps.parseMicros("2021-07-13T11:36:04.905Z"));
        assertEquals(1_626_176_164_000_000L, Timestamps.parseMicros("2021-07-13T11:36:04"));
        assertEquals(1_626_176_164_905_123L, Timestamps.parseMicros("2021-07-13T11:36:04.905123456"));
        assertEquals(1_626_176_164_905_000L - 7_200_000_000L, Timestamps.parseMicros("2021-07-13T13:36:04.905+04:00"));
        assertEquals(1_626_176_164_905_000L + 5_400_000_000L, Timestamps.parseMicros("2021-07-13T11:36:04.905-01:30"));
        assertEquals(951_782_400_000_000L, Timestamps.parseMicros("2000-02-29T00:00:00Z"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "2021", "2021-07-13", "2021-07-13 11:36:04", "2021-07-13T11:36:04.", "2021-02-29T00:00:00",
            "2021-13-01T00:00:00", "2021-04-31T00:00:00", "2021-07-13T24:00:00", "2021-07-13T11:60:00",
            "2021-07-13T11:36:60", "2021-07-13T11:36:04.1234567890", "2021-07-13T11:36:04+19:00",
            "2021-07-13T11:36:04+0100", "2021-07-13T11:36:04z", "2021-07-13t11:36:04", "2021-07-13T11:36:04.905+00:00x",
            "２０２１-07-13T11:36:04", "2021-07-13T11:36:04 ", "not a time", "2021-07-13T11:36"})
    void agreesWithJavaTimeOnOddAndInvalidTexts(String text) {
        assertEquals(reference(text), parsed(text), text);
    }

    @Test
    void rejectsInvalidTextsNamingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Timestamps.parseMicros("2021-07-13X11:36:04"));
        assertEquals("'2021-07-13X11:36:04' is not an ISO-8601 timestamp", e.getMessage());
    }

    @Test
    void agreesWithJavaTimeOnRandomTimestampsInEveryForm() {
        Random random = new Random(7);
        String[] offsets = {"", "Z", "+00:00", "-05:00", "+05:30", "+14:00", "-12:00", "+18:00", "-18:00", "+01:00:30"};
        for (int i = 0; i < 20_000; i++) {
            long seconds = random.nextLong(-2_000_000_000L, 253_402_300_000L);
            String base = LocalDateTime.ofEpochSecond(seconds, 0, ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss"));
            int digits = random.nextInt(11);
            StringBuilder text = new StringBuilder(base);
            if (digits > 0) {
                text.append('.');
                for (int d = 0; d < digits - 1; d++) {
                    text.append((char) ('0' + random.nextInt(10)));
                }
            }
            text.append(offsets[random.nextInt(offsets.length)]);
            String candidate = text.toString();
            assertEquals(reference(candidate), parsed(candidate), candidate);
        }
    }

    @Test
    void formatsWithMicrosAndParsesBack() {
        assertEquals("2021-07-13T11:36:04.905000Z", Timestamps.format(1_626_176_164_905_000L));
        assertEquals("1970-01-01T00:00:00.000000Z", Timestamps.format(0));
        assertEquals("1969-12-31T23:59:59.999999Z", Timestamps.format(-1));
        Random random = new Random(11);
        DateTimeFormatter printer = new DateTimeFormatterBuilder().appendPattern("uuuu-MM-dd'T'HH:mm:ss")
                .appendFraction(ChronoField.MICRO_OF_SECOND, 6, 6, true).appendLiteral('Z').toFormatter()
                .withZone(ZoneOffset.UTC);
        for (int i = 0; i < 20_000; i++) {
            long micros = random.nextLong(-5_000_000_000_000_000L, 253_402_300_799_999_999L);
            String text = Timestamps.format(micros);
            assertEquals(printer.format(Timestamps.toInstant(micros)), text);
            assertEquals(micros, Timestamps.parseMicros(text), text);
        }
    }

    /** The forms the fast path promises to parse itself: Close's, and the same with 1 to 9 fraction digits. */
    private static final java.util.regex.Pattern COMMON =
            java.util.regex.Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})?");

    /**
     * The fast path parses every text in a common form that names a real moment, and leaves
     * everything else to the formatter, including what the formatter's smart resolution accepts
     * (February 29th of a common year, 24:00).
     */
    private static void assertFastPath(String text) {
        boolean real;
        try {
            REFERENCE.withResolverStyle(java.time.format.ResolverStyle.STRICT).parse(text);
            real = true;
        } catch (DateTimeParseException e) {
            real = false;
        }
        boolean common = COMMON.matcher(text).matches() && real;
        assertEquals(common ? reference(text) : Timestamps.NOT_COMMON, Timestamps.parseCommonForm(text), text);
    }

    @Test
    void closeFormsTakeTheFastPath() {
        for (String text : new String[] {"2021-07-13T11:36:04.905000+00:00", "2021-07-13T11:36:04", "2021-07-13T11:36:04Z",
                "2021-07-13T11:36:04.9", "2021-07-13T11:36:04.123456789-18:00", "2021-07-13T11:36:04+18:00",
                "2021-07-13T11:36:04.1+00:59", "0000-01-01T00:00:00", "9999-12-31T23:59:59.999999999Z",
                "2024-02-29T00:00:00", "2023-02-28T23:59:59", "2021-04-30T00:00:00", "2021-01-31T00:00:00",
                "2021-12-31T00:00:00", "2021-10-09T19:09:09.09+09:09"}) {
            assertTrue(Timestamps.parseCommonForm(text) != Timestamps.NOT_COMMON, text);
            assertFastPath(text);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "2021", "2021-07-13T11:36:0", "2021-07-13T11:36:04.", "2021-07-13T11:36:04.Z",
            "2021-07-13T11:36:04.1234567890", "2021-07-13T11:36:04+18:01", "2021-07-13T11:36:04+19:00",
            "2021-07-13T11:36:04+01:60", "2021-07-13T11:36:04+0100", "2021-07-13T11:36:04+01:00:30",
            "2021-07-13T11:36:04Z0", "2021-07-13T11:36:04+1a:00", "2021-07-13T11:36:04+01:a0", "2021-07-13T11:36:04+01-00",
            "2021-02-29T00:00:00", "2021-04-31T00:00:00", "2021-00-10T00:00:00", "2021-13-10T00:00:00",
            "2021-07-00T00:00:00", "2021-07-32T00:00:00", "2021-07-13T24:00:00", "2021-07-13T23:60:00",
            "2021-07-13T23:59:60", "2021-07-13T11:36:04.12a", "202a-07-13T11:36:04", "2021-0a-13T11:36:04",
            "2021-07-1aT11:36:04", "2021-07-13T1a:36:04", "2021-07-13T11:3a:04", "2021-07-13T11:36:0a",
            "2021-07-13T11:36:04:", "2021/07-13T11:36:04", "2021-07/13T11:36:04", "2021-07-13 11:36:04",
            "2021-07-13T11-36:04", "2021-07-13T11:36-04", "+2021-07-13T11:36:04", "2021-07-13T11:36:04x",
            "2021-07-13T11:36:04.5x", "２０２１-07-13T11:36:04", "2021-07-13T11:36:04.٣"})
    void otherTextsAreLeftToTheFormatter(String text) {
        assertFastPath(text);
    }

    @Test
    void theFastPathAgreesWithJavaTimeOnRandomTimestamps() {
        Random random = new Random(13);
        String[] offsets = {"", "Z", "+00:00", "-05:00", "+05:30", "+14:00", "-12:00", "+18:00", "-18:00", "+01:00:30", "-00:01"};
        for (int i = 0; i < 5_000; i++) {
            long seconds = random.nextLong(-62_135_596_800L, 253_402_300_799L); // years 0001 to 9999
            StringBuilder text = new StringBuilder(LocalDateTime.ofEpochSecond(seconds, 0, ZoneOffset.UTC)
                    .format(DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss")));
            int digits = random.nextInt(11);
            if (digits > 0) {
                text.append('.');
                for (int d = 0; d < digits - 1; d++) {
                    text.append((char) ('0' + random.nextInt(10)));
                }
            }
            assertFastPath(text.append(offsets[random.nextInt(offsets.length)]).toString());
        }
    }

    @Test
    void formatsYearsBeyondFourDigitsLikeJavaTime() {
        DateTimeFormatter printer = new DateTimeFormatterBuilder().appendPattern("uuuu-MM-dd'T'HH:mm:ss")
                .appendFraction(ChronoField.MICRO_OF_SECOND, 6, 6, true).appendLiteral('Z').toFormatter()
                .withZone(ZoneOffset.UTC);
        long lastDay = 253_402_214_400_000_000L; // 9999-12-31T00:00:00Z
        for (long micros : new long[] {lastDay, lastDay + 86_400_000_000L, lastDay + 86_400_000_000L * 400,
                -62_167_219_200_000_000L, -62_167_219_200_000_001L, -1_000_000_000_000_000_00L}) {
            assertEquals(printer.format(Timestamps.toInstant(micros)), Timestamps.format(micros), Long.toString(micros));
        }
        assertEquals("9999-12-31T00:00:00.000000Z", Timestamps.format(lastDay));
        assertEquals("+10000-01-01T00:00:00.000000Z", Timestamps.format(lastDay + 86_400_000_000L));
    }
}
