package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.avro.JsonProperties;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Timestamp;
import org.junit.jupiter.api.Test;

import io.closeconnect.users.fake.FakeCloseApi;

/**
 * The published Avro contract: {@code src/main/avro/close-user.avsc} is what Confluent's
 * AvroConverter makes of the connector's Connect value schema, and every published version under
 * {@code src/test/resources/avro/} stays compatible with it.
 */
class AvroContractTest {

    private static final Path PUBLISHED = Path.of("src/main/avro/close-user.avsc");
    private static final Pattern VERSION_FILE = Pattern.compile("close-user-v(\\d+)\\.avsc");

    @Test
    void connectValueSchemaMapsToThePublishedAvroSchema() throws IOException {
        Schema published = parse(PUBLISHED);
        Schema derived = toAvro(UserRecordMapper.VALUE_SCHEMA);
        // toString includes docs, defaults and logical types; equals covers names, types and defaults.
        assertEquals(derived.toString(true), published.toString(true));
        assertEquals(derived, published);
        assertEquals("io.closeconnect.users", published.getNamespace());
        assertEquals("User", published.getName());
    }

    @Test
    void everyFieldHasADocString() throws IOException {
        Schema published = parse(PUBLISHED);
        assertFalse(published.getDoc() == null || published.getDoc().isBlank(), "the record has a doc");
        for (Schema.Field field : published.getFields()) {
            assertFalse(field.doc() == null || field.doc().isBlank(), "field " + field.name() + " has no doc");
        }
        assertEquals(UserRecordMapper.VALUE_SCHEMA.fields().size(), published.getFields().size());
    }

    @Test
    void keyIsARequiredString() {
        assertEquals(Schema.create(Schema.Type.STRING), toAvro(UserRecordMapper.KEY_SCHEMA));
        assertFalse(UserRecordMapper.KEY_SCHEMA.isOptional());
    }

    @Test
    void newestPublishedVersionIsTheCurrentSchemaAndTheConnectVersion() throws Exception {
        TreeMap<Integer, Schema> versions = publishedVersions();
        assertEquals(1, versions.firstKey(), "versions start at 1");
        assertEquals(versions.size(), versions.lastKey(), "no version is missing: " + versions.keySet());
        assertEquals(UserRecordMapper.VALUE_SCHEMA_VERSION, versions.lastKey(),
                "a changed schema is published as a new close-user-vN.avsc and VALUE_SCHEMA_VERSION becomes N");
        assertEquals(versions.lastEntry().getValue().toString(true), parse(PUBLISHED).toString(true),
                "src/main/avro/close-user.avsc is the newest published version");
        assertEquals(UserRecordMapper.VALUE_SCHEMA_VERSION, UserRecordMapper.VALUE_SCHEMA.version());
    }

    @Test
    void currentSchemaReadsEveryPublishedVersionAndTheOtherWayRound() throws Exception {
        Schema current = parse(PUBLISHED);
        for (Map.Entry<Integer, Schema> version : publishedVersions().entrySet()) {
            assertCompatible(current, version.getValue(), "current reads v" + version.getKey() + " (BACKWARD)");
            // Fields are only ever added, as optional with a default, so older readers skip them.
            assertCompatible(version.getValue(), current, "v" + version.getKey() + " reads current (FORWARD)");
        }
    }

    @Test
    void theCompatibilityCheckCatchesChangesThePolicyForbids() throws IOException {
        Schema current = parse(PUBLISHED);

        Schema optionalAdded = withExtraField(current, new Schema.Field("phone", Schema.createUnion(
                Schema.create(Schema.Type.NULL), Schema.create(Schema.Type.STRING)), "A phone.", JsonProperties.NULL_VALUE));
        assertCompatible(optionalAdded, current, "an optional field with a default is allowed");
        assertCompatible(current, optionalAdded, "and old readers skip it");

        Schema requiredAdded = withExtraField(current,
                new Schema.Field("phone", Schema.create(Schema.Type.STRING), "A phone.", (Object) null));
        assertNotEquals(SchemaCompatibilityType.COMPATIBLE, SchemaCompatibility
                .checkReaderWriterCompatibility(requiredAdded, current).getType(),
                "a required field without a default cannot read older data");
    }

    /**
     * Version 2 adds the removal fields. A removal record written with v2 is read by a v1 reader as
     * the user it was (id and date_updated); a v1 record is read by a v2 reader with the removal
     * fields null, which is what every record that is not a removal carries.
     */
    @Test
    void removalRecordsAndVersionOneDataCrossBothWays() throws Exception {
        Schema v2 = parse(PUBLISHED);
        Schema v1 = publishedVersions().get(1);
        UserRecordMapper mapper = new UserRecordMapper("t");
        long removedAt = Timestamps.parseMicros("2026-12-01T08:00:00.123456Z");
        Struct removal = (Struct) mapper.toRemovalRecord("user_gone", Timestamps.parseMicros("2026-11-01T00:00:00Z"),
                null, removedAt, "not_found", UserLedger.partition("https://x", 0), Map.of("announced", "")).value();
        GenericRecord written = (GenericRecord) toAvroValue(v2, removal);
        assertTrue(GenericData.get().validate(v2, written), "valid: " + written);
        GenericRecord asV1 = roundTrip(written, v2, v1);
        assertEquals("user_gone", asV1.get("id").toString());
        assertEquals(Timestamps.toMillis(Timestamps.parseMicros("2026-11-01T00:00:00Z")), asV1.get("date_updated"));
        assertEquals(null, asV1.getSchema().getField("removed"), "a v1 reader does not see the new fields");
        GenericRecord asV2 = roundTrip(written, v2, v2);
        assertEquals(true, asV2.get("removed"));
        assertEquals(Timestamps.toMillis(removedAt), asV2.get("removed_at"));
        assertEquals("not_found", asV2.get("removal_reason").toString());

        FakeCloseApi api = new FakeCloseApi("k", 6, true);
        api.addUsers(1);
        CloseUser user = api.fetch(0, 1).users().get(0);
        GenericRecord v1Written = (GenericRecord) toAvroValue(v1, withoutRemovalFields(UserRecordMapper.toStruct(user)));
        GenericRecord v1AsV2 = roundTrip(v1Written, v1, v2);
        assertEquals(user.id(), v1AsV2.get("id").toString());
        assertEquals(null, v1AsV2.get("removed"));
        assertEquals(null, v1AsV2.get("removed_at"));
        assertEquals(null, v1AsV2.get("removal_reason"));
    }

    private static GenericRecord roundTrip(GenericRecord record, Schema writer, Schema reader) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
        new GenericDatumWriter<GenericRecord>(writer).write(record, encoder);
        encoder.flush();
        return new GenericDatumReader<GenericRecord>(writer, reader)
                .read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null));
    }

    /** The struct a version-1 connector built: the same fields without the removal ones. */
    private static Struct withoutRemovalFields(Struct struct) {
        org.apache.kafka.connect.data.SchemaBuilder builder = org.apache.kafka.connect.data.SchemaBuilder.struct()
                .name(UserRecordMapper.VALUE_SCHEMA_NAME).version(1);
        for (org.apache.kafka.connect.data.Field field : struct.schema().fields()) {
            if (!field.name().startsWith("remov")) {
                builder.field(field.name(), field.schema());
            }
        }
        org.apache.kafka.connect.data.Schema schema = builder.build();
        Struct old = new Struct(schema);
        for (org.apache.kafka.connect.data.Field field : schema.fields()) {
            old.put(field.name(), struct.get(field.name()));
        }
        return old;
    }

    @Test
    void mappedValuesEncodeWithThePublishedSchema() throws IOException {
        Schema published = parse(PUBLISHED);
        FakeCloseApi api = new FakeCloseApi("k", 5, true);
        List<String> ids = api.addUsers(3);
        api.addUnknownField(ids.get(1), "+1 555 0100");
        for (CloseUser user : api.fetch(0, 10).users()) {
            Struct struct = UserRecordMapper.toStruct(user);
            GenericRecord record = (GenericRecord) toAvroValue(published, struct);
            assertTrue(GenericData.get().validate(published, record), "valid: " + record);

            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
            new GenericDatumWriter<GenericRecord>(published).write(record, encoder);
            encoder.flush();
            GenericRecord back = new GenericDatumReader<GenericRecord>(published)
                    .read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null));
            assertEquals(user.id(), back.get("id").toString());
            assertEquals(Timestamps.toMillis(user.updatedMicros()), back.get("date_updated"));
            if (user.id().equals(ids.get(1))) {
                assertEquals("\"+1 555 0100\"", ((Map<?, ?>) back.get("extra")).entrySet().iterator().next()
                        .getValue().toString());
            }
        }
    }

    // ------------------------------------------------------------------ Connect to Avro, the AvroConverter's way

    /**
     * Derives the Avro schema Confluent's AvroConverter registers for a Connect schema (leaving out
     * its {@code connect.*} metadata properties): an optional T becomes {@code ["null", T]} with
     * default null, a Timestamp a {@code long} with logicalType {@code timestamp-millis}, arrays and
     * string-keyed maps map directly, and a struct becomes a record named after the Connect schema.
     */
    static Schema toAvro(org.apache.kafka.connect.data.Schema connect) {
        Schema type = switch (connect.type()) {
            case STRUCT -> {
                String fullName = connect.name();
                int dot = fullName.lastIndexOf('.');
                List<Schema.Field> fields = new ArrayList<>();
                for (Field field : connect.fields()) {
                    org.apache.kafka.connect.data.Schema fieldSchema = field.schema();
                    if (fieldSchema.defaultValue() != null) {
                        throw new IllegalArgumentException("non-null defaults are not part of the contract: " + field.name());
                    }
                    fields.add(new Schema.Field(field.name(), toAvro(fieldSchema), fieldSchema.doc(),
                            fieldSchema.isOptional() ? JsonProperties.NULL_VALUE : null));
                }
                yield Schema.createRecord(fullName.substring(dot + 1), connect.doc(), fullName.substring(0, dot), false,
                        fields);
            }
            case STRING -> Schema.create(Schema.Type.STRING);
            case BOOLEAN -> Schema.create(Schema.Type.BOOLEAN);
            case INT32 -> Schema.create(Schema.Type.INT);
            case FLOAT64 -> Schema.create(Schema.Type.DOUBLE);
            case INT64 -> {
                if (Timestamp.LOGICAL_NAME.equals(connect.name())) {
                    yield LogicalTypes.timestampMillis().addToSchema(Schema.create(Schema.Type.LONG));
                }
                if (connect.name() != null) {
                    throw new IllegalArgumentException("logical type " + connect.name() + " is not in the contract");
                }
                yield Schema.create(Schema.Type.LONG);
            }
            case ARRAY -> Schema.createArray(toAvro(connect.valueSchema()));
            case MAP -> {
                if (connect.keySchema().type() != org.apache.kafka.connect.data.Schema.Type.STRING) {
                    throw new IllegalArgumentException("only string-keyed maps map to Avro maps");
                }
                yield Schema.createMap(toAvro(connect.valueSchema()));
            }
            default -> throw new IllegalArgumentException("type " + connect.type() + " is not in the contract");
        };
        return connect.isOptional() && connect.type() != org.apache.kafka.connect.data.Schema.Type.STRUCT
                ? Schema.createUnion(Schema.create(Schema.Type.NULL), type)
                : type;
    }

    /** Converts a Connect value to its Avro form under {@code schema}, as the AvroConverter would. */
    private static Object toAvroValue(Schema schema, Object value) {
        if (value == null) {
            return null;
        }
        if (schema.getType() == Schema.Type.UNION) {
            return toAvroValue(schema.getTypes().get(1), value);
        }
        return switch (schema.getType()) {
            case RECORD -> {
                Struct struct = (Struct) value;
                GenericData.Record record = new GenericData.Record(schema);
                for (Schema.Field field : schema.getFields()) {
                    record.put(field.name(), toAvroValue(field.schema(), struct.get(field.name())));
                }
                yield record;
            }
            case LONG -> value instanceof Date date ? date.getTime() : value;
            case ARRAY -> new GenericData.Array<>(schema, (List<?>) value);
            default -> value;
        };
    }

    private static void assertCompatible(Schema reader, Schema writer, String what) {
        SchemaCompatibility.SchemaPairCompatibility result =
                SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
        assertEquals(SchemaCompatibilityType.COMPATIBLE, result.getType(), what + ": " + result.getDescription());
    }

    private static Schema withExtraField(Schema record, Schema.Field extra) {
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field field : record.getFields()) {
            fields.add(new Schema.Field(field, field.schema()));
        }
        fields.add(extra);
        return Schema.createRecord(record.getName(), record.getDoc(), record.getNamespace(), false, fields);
    }

    private static TreeMap<Integer, Schema> publishedVersions() throws IOException, URISyntaxException {
        Path dir = Path.of(AvroContractTest.class.getResource("/avro").toURI());
        TreeMap<Integer, Schema> versions = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Matcher matcher = VERSION_FILE.matcher(file.getFileName().toString());
                if (matcher.matches()) {
                    versions.put(Integer.parseInt(matcher.group(1)), parse(file));
                }
            }
        }
        assertFalse(versions.isEmpty(), "no published versions in " + dir);
        return versions;
    }

    private static Schema parse(Path file) throws IOException {
        return new Schema.Parser().parse(Files.readString(file));
    }
}
