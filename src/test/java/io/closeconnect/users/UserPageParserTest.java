package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class UserPageParserTest {

    private static final String USER = "{\"id\": \"user_1\", \"email\": \"a@example.com\", \"organizations\": [\"orga_1\"],"
            + " \"nested\": {\"a\": [1, {\"b\": null}]}, \"date_updated\": \"2021-07-13T11:36:04.905000+00:00\"}";

    @Test
    void readsUsersInOrderWithTheirWholeJson() throws Exception {
        String body = "{\"cursor\": null, \"data\": [" + USER + ", {\"id\": \"user_2\", \"date_updated\": \"2021-07-13T11:36:05\"}],"
                + " \"has_more\": true, \"total_results\": {\"x\": [1]}}";
        UserPage page = UserPageParser.parse(body, 77L, 100);
        assertTrue(page.hasMore());
        assertEquals(77L, page.servedAtMicros());
        assertEquals(100, page.limit(), "the _limit it answers");
        assertEquals(List.of("user_1", "user_2"), page.users().stream().map(CloseUser::id).toList());
        assertEquals(1_626_176_164_905_000L, page.users().get(0).updatedMicros());
        assertEquals(1_626_176_165_000_000L, page.users().get(1).updatedMicros());
        assertEquals("{\"a\":[1,{\"b\":null}]}", page.users().get(0).json().get("nested").toString());
        assertEquals("orga_1", page.users().get(0).json().get("organizations").get(0).textValue());
    }

    @Test
    void readsTheSameFromBytesAndFromText() throws Exception {
        String body = "{\"has_more\": false, \"data\": [" + USER.replace("a@example.com", "é@exämple.com") + "]}";
        UserPage fromText = UserPageParser.parse(body, 1L, 100);
        UserPage fromBytes = UserPageParser.parse(body.getBytes(java.nio.charset.StandardCharsets.UTF_8), 1L, 100);
        assertFalse(fromBytes.hasMore());
        assertEquals(fromText.users(), fromBytes.users());
        assertEquals("é@exämple.com", fromBytes.users().get(0).json().get("email").textValue());
    }

    @Test
    void anEmptyLastPageIsFine() throws Exception {
        assertEquals(0, UserPageParser.parse("{\"data\": [], \"has_more\": false}", 0, 100).users().size());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''| the body is not a JSON object",
        "<html>maintenance</html>| the body is not JSON",
        "{\"data\": [{\"id\": \"user_trunc| the body is not JSON",
        "{\"data\": [], \"has_more\": false| the body is not JSON",
        "[1, 2]| the body is not a JSON object",
        "[1, 2| the body is not JSON",
        "[{\"data\": []}] trailing| the body is not JSON",
        "\"text\"| the body is not a JSON object",
        "{\"has_more\": false}| the body has no 'data' array",
        "{\"data\": {}, \"has_more\": false}| the body has no 'data' array",
        "{\"data\": null, \"has_more\": false}| the body has no 'data' array",
        "{\"data\": {\"data\": [], \"has_more\": false}, \"has_more\": false}| the body has no 'data' array",
        "{\"has_more\": {\"has_more\": false}, \"data\": []}| the body has no boolean 'has_more'",
        "{\"data\": []}| the body has no boolean 'has_more'",
        "{\"data\": [], \"has_more\": \"false\"}| the body has no boolean 'has_more'",
        "{\"data\": [], \"has_more\": true}| 'has_more' is true on an empty page",
        "{\"data\": [1], \"has_more\": false}| an element of 'data' is not an object",
        "{\"data\": [{\"date_updated\": \"2021-07-13T11:36:04\"}], \"has_more\": false}| a user has no string 'id'",
        "{\"data\": [{\"id\": 5, \"date_updated\": \"2021-07-13T11:36:04\"}], \"has_more\": false}| a user has no string 'id'",
        "{\"data\": [{\"id\": \"\", \"date_updated\": \"2021-07-13T11:36:04\"}], \"has_more\": false}| a user has no string 'id'",
        "{\"data\": [{\"id\": \"user_1\"}], \"has_more\": false}| user user_1 has no string 'date_updated'",
        "{\"data\": [{\"id\": \"user_1\", \"date_updated\": null}], \"has_more\": false}| user user_1 has no string 'date_updated'",
        "{\"data\": [{\"id\": \"user_1\", \"date_updated\": \"yesterday\"}], \"has_more\": false}| user user_1: 'date_updated' 'yesterday' is not an ISO-8601 timestamp",
    })
    void saysWhatIsWrongWithAMalformedPage(String body, String expected) {
        UserPageParser.MalformedPageException e = assertThrows(UserPageParser.MalformedPageException.class,
                () -> UserPageParser.parse(body, 0, 100));
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
    }

    @org.junit.jupiter.api.Test
    void anIdWithCommasOrAtSignsIsReadAsItIsAndStoredEscapedInOffsets() throws Exception {
        UserPage page = UserPageParser.parse("{\"data\": [{\"id\": \"user_1,x@y%\", \"date_updated\": "
                + "\"2021-07-13T11:36:04\"}], \"has_more\": false}", 0L, 10);
        String id = page.users().get(0).id();
        assertEquals("user_1,x@y%", id);
        UserLedger ledger = UserLedger.empty("https://x");
        ledger.announce(id, page.users().get(0).updatedMicros());
        java.util.Map<String, Object> offset = ledger.checkpoint().get(0).offset();
        assertEquals("user_1%2Cx%40y%25@2021-07-13T11:36:04.000000Z", offset.get(UserLedger.ANNOUNCED));
        assertEquals(UserLedger.State.ANNOUNCED, UserLedger.decode(offset, UserLedger.shardOf(id)).get(id).state(),
                "the offset reads back to the same id");
    }
}
