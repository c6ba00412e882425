package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Date;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

class UserRecordMapperTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static CloseUser user(String json) throws Exception {
        ObjectNode node = (ObjectNode) JSON.readTree(json);
        return new CloseUser(node.get("id").textValue(), Timestamps.parseMicros(node.get("date_updated").textValue()), node);
    }

    private static final String FULL = "{"
            + "\"id\": \"user_abc\", \"email\": \"ada@example.com\", \"first_name\": \"Ada\", \"last_name\": \"Lovelace\","
            + "\"image\": \"https://gravatar/x\", \"google_profile_image_url\": \"https://google/x\","
            + "\"last_used_timezone\": \"Europe/London\", \"organizations\": [\"orga_1\", \"orga_2\"],"
            + "\"date_created\": \"2021-07-13T11:36:04.905000+00:00\", \"date_updated\": \"2023-01-02T03:04:05.123456+02:00\","
            + "\"email_verified_at\": \"2021-07-14T00:00:00.000001\"}";

    @Test
    void mapsEveryField() throws Exception {
        Struct value = UserRecordMapper.toStruct(user(FULL));
        value.validate();
        assertEquals("user_abc", value.getString("id"));
        assertEquals("ada@example.com", value.getString("email"));
        assertEquals("Ada", value.getString("first_name"));
        assertEquals("Lovelace", value.getString("last_name"));
        assertEquals("https://gravatar/x", value.getString("image"));
        assertEquals("https://google/x", value.getString("google_profile_image_url"));
        assertEquals("Europe/London", value.getString("last_used_timezone"));
        assertEquals(List.of("orga_1", "orga_2"), value.getArray("organizations"));
        assertEquals(new Date(1626176164905L), value.get("date_created"));
        assertEquals(new Date(1672621445123L), value.get("date_updated"), "offset +02:00 applied");
        assertEquals(new Date(1626220800000L), value.get("email_verified_at"), "no offset means UTC");
        assertNull(value.get("extra"), "nothing unknown");
    }

    @Test
    void nullsAndMissingFieldsAreNull() throws Exception {
        Struct value = UserRecordMapper.toStruct(user("{\"id\": \"user_n\", \"date_updated\": \"2023-01-01T00:00:00+00:00\","
                + "\"email\": null, \"email_verified_at\": null, \"organizations\": null}"));
        value.validate();
        for (String field : List.of("email", "first_name", "last_name", "image", "google_profile_image_url",
                "last_used_timezone", "organizations", "date_created", "email_verified_at", "extra")) {
            assertNull(value.get(field), field);
        }
    }

    @Test
    void unknownFieldsAreKeptAsJsonText() throws Exception {
        Struct value = UserRecordMapper.toStruct(user("{\"id\": \"user_u\", \"date_updated\": \"2023-01-01T00:00:00+00:00\","
                + "\"phone\": \"+1 555\", \"flags\": {\"beta\": true}, \"seats\": 3, \"gone\": null}"));
        assertEquals(Map.of("phone", "\"+1 555\"", "flags", "{\"beta\":true}", "seats", "3", "gone", "null"),
                value.getMap("extra"));
    }

    @Test
    void aKnownFieldOfAnUnexpectedTypeIsKeptInExtraInsteadOfFailing() throws Exception {
        Struct value = UserRecordMapper.toStruct(user("{\"id\": \"user_w\", \"date_updated\": \"2023-01-01T00:00:00Z\","
                + "\"organizations\": \"orga_1\", \"email\": 42, \"date_created\": \"last tuesday\", \"phone\": \"1\"}"));
        value.validate();
        assertNull(value.get("organizations"));
        assertNull(value.get("email"));
        assertNull(value.get("date_created"));
        assertEquals(Map.of("organizations", "\"orga_1\"", "email", "42", "date_created", "\"last tuesday\"",
                "phone", "\"1\""), value.getMap("extra"));
    }

    @Test
    void aKnownFieldOfAnUnexpectedTypeOnAUserWithNoUnknownFieldStartsExtra() throws Exception {
        String base = "{\"id\": \"user_k\", \"date_updated\": \"2023-01-01T00:00:00Z\", \"first_name\": \"Ada\", ";
        Map<String, String> cases = Map.of(
                "\"organizations\": \"orga_1\"", "organizations",
                "\"organizations\": [\"orga_1\", 2]", "organizations",
                "\"last_name\": [\"Love\", \"lace\"]", "last_name",
                "\"email_verified_at\": 1672531200", "email_verified_at");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Struct value = UserRecordMapper.toStruct(user(base + c.getKey() + "}"));
            value.validate();
            String field = c.getValue();
            assertNull(value.get(field), c.getKey());
            assertEquals("Ada", value.getString("first_name"), "the other fields are mapped: " + c.getKey());
            String raw = c.getKey().substring(c.getKey().indexOf(": ") + 2).replace(", ", ",");
            assertEquals(Map.of(field, raw), value.getMap("extra"), c.getKey());
        }
    }

    @Test
    void anEmptyOrganizationListIsEmptyNotNull() throws Exception {
        Struct value = UserRecordMapper.toStruct(user("{\"id\": \"user_e\", \"date_updated\": \"2023-01-01T00:00:00Z\","
                + "\"organizations\": []}"));
        assertEquals(List.of(), value.getArray("organizations"));
        assertNull(value.get("extra"));
    }

    @Test
    void recordIsKeyedByIdAndStampedWithDateUpdated() throws Exception {
        Map<String, String> partition = UserLedger.partition("https://api.close.com", 7);
        SourceRecord record = new UserRecordMapper("t").toRecord(user(FULL), partition, Map.of("skip", 3L));
        assertEquals("t", record.topic());
        assertEquals("user_abc", record.key());
        assertEquals(Schema.Type.STRING, record.keySchema().type());
        assertEquals(1672621445123L, record.timestamp());
        assertEquals(partition, record.sourcePartition());
        assertEquals(Map.of("skip", 3L), record.sourceOffset());
    }

    @Test
    void valueSchemaIsNamedVersionedAndDocumented() {
        Schema schema = UserRecordMapper.VALUE_SCHEMA;
        assertEquals("io.closeconnect.users.User", schema.name());
        assertEquals(2, schema.version());
        assertTrue(schema.doc() != null);
        schema.fields().forEach(f -> assertTrue(f.schema().doc() != null, f.name() + " has no doc"));
        assertEquals(Timestamp.LOGICAL_NAME, schema.field("date_updated").schema().name());
        assertTrue(!schema.field("date_updated").schema().isOptional());
        assertTrue(schema.field("date_created").schema().isOptional());
        assertTrue(!schema.field("id").schema().isOptional());
    }
}
