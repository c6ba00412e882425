package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class OffsetIdsTest {

    private static String escaped(String id) {
        StringBuilder out = new StringBuilder("x");
        OffsetIds.escape(out, id);
        return out.toString();
    }

    @Test
    void anOrdinaryIdIsWrittenAsItIs() {
        String id = "user_3KoOvGnpXaM6fB0F0KnX9kqKVpE8xlxNVtT2KqWpWn0";
        assertEquals("x" + id, escaped(id), "appended to what the builder holds");
        assertSame(id, OffsetIds.unescape(id), "an id without % is returned as it is");
    }

    @Test
    void theThreeSeparatorsArePercentEncodedAndComeBack() {
        String id = "a%b,c@d%%,,@@";
        String text = escaped(id).substring(1);
        assertEquals("a%25b%2Cc%40d%25%25%2C%2C%40%40", text);
        assertEquals(id, OffsetIds.unescape(text));
        assertEquals(",", OffsetIds.unescape("%2c"), "a lower-case hex digit reads the same");
        assertEquals("%x", OffsetIds.unescape("%25x"));
        assertEquals("x@", OffsetIds.unescape("x%40"), "a code at the very end");
    }

    @Test
    void anyOtherPercentCodeIsRefused() {
        for (String bad : new String[] {"a%20b", "a%", "a%2", "%4O", "%2C%"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OffsetIds.unescape(bad),
                    bad);
            assertTrue(e.getMessage().contains("is not %25, %2C or %40"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OffsetIds.unescape("ab%2x"));
        assertTrue(e.getMessage().startsWith("'%2x'"), "names the code: " + e.getMessage());
    }
}
