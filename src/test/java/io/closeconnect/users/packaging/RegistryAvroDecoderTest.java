package io.closeconnect.users.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;

/** The decoder DockerStackIT relies on, checked here against a fake registry (no Docker needed). */
class RegistryAvroDecoderTest {

    private static final Schema USER = SchemaBuilder.record("User").namespace("io.closeconnect.users").fields()
            .requiredString("id").optionalString("email").endRecord();

    @Test
    void decodesTheWireFormatWithTheSchemaFromTheRegistryAndCachesIt() throws Exception {
        try (MockWebServer registry = new MockWebServer()) {
            String body = new ObjectMapper().createObjectNode().put("schema", USER.toString()).toString();
            registry.enqueue(new MockResponse.Builder().code(200).body(body).build());
            registry.start();
            RegistryAvroDecoder decoder = new RegistryAvroDecoder(registry.url("/").toString());

            GenericRecord first = decoder.decode(encode(42, "user_1", "ada@example.com"));
            GenericRecord second = decoder.decode(encode(42, "user_2", null));

            assertEquals("io.closeconnect.users.User", first.getSchema().getFullName());
            assertEquals("user_1", first.get("id").toString());
            assertEquals("ada@example.com", first.get("email").toString());
            assertEquals("user_2", second.get("id").toString());
            assertEquals(null, second.get("email"));
            assertEquals(1, registry.getRequestCount(), "the schema is fetched once per id");
            assertEquals("/schemas/ids/42", registry.takeRequest().getUrl().encodedPath());
        }
    }

    @Test
    void rejectsValuesThatAreNotInTheWireFormat() throws Exception {
        RegistryAvroDecoder decoder = new RegistryAvroDecoder("http://127.0.0.1:9");
        IOException e = assertThrows(IOException.class, () -> decoder.decode(new byte[] {1, 0, 0, 0, 1, 2}));
        assertTrue(e.getMessage().contains("magic byte 1"), e.getMessage());
        assertThrows(IOException.class, () -> decoder.decode(new byte[] {0, 0}));
    }

    @Test
    void namesTheStatusWhenTheRegistryLacksTheSchema() throws Exception {
        try (MockWebServer registry = new MockWebServer()) {
            registry.enqueue(new MockResponse.Builder().code(404).body("{\"error_code\":40403}").build());
            registry.start();
            RegistryAvroDecoder decoder = new RegistryAvroDecoder(registry.url("/").toString());
            IOException e = assertThrows(IOException.class, () -> decoder.decode(encode(7, "user_1", null)));
            assertTrue(e.getMessage().contains("404") && e.getMessage().contains("schema id 7"), e.getMessage());
        }
    }

    private static byte[] encode(int schemaId, String id, String email) throws IOException {
        GenericRecord record = new GenericData.Record(USER);
        record.put("id", id);
        record.put("email", email);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        out.write(ByteBuffer.allocate(4).putInt(schemaId).array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(USER).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }
}
