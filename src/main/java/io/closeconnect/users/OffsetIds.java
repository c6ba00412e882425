package io.closeconnect.users;

/**
 * User ids inside offset strings, whose entries are {@code id@timestamp} separated by commas: the
 * characters {@code %}, {@code ,} and {@code @} are percent-encoded, so that any id Close might
 * send fits, and an id without them (every real one) is written as it is.
 */
final class OffsetIds {

    private OffsetIds() {
    }

    static void escape(StringBuilder out, String id) {
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            switch (c) {
                case '%' -> out.append("%25");
                case ',' -> out.append("%2C");
                case '@' -> out.append("%40");
                default -> out.append(c);
            }
        }
    }

    /** @throws IllegalArgumentException on a {@code %} not followed by 25, 2C or 40 */
    static String unescape(String text) {
        if (text.indexOf('%') < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            String code = text.substring(i, Math.min(text.length(), i + 3));
            switch (code) {
                case "%25" -> out.append('%');
                case "%2C", "%2c" -> out.append(',');
                case "%40" -> out.append('@');
                default -> throw new IllegalArgumentException("'" + code + "' in an id is not %25, %2C or %40");
            }
            i += 2;
        }
        return out.toString();
    }
}
