package io.closeconnect.users;

import java.util.Date;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.ArrayList;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a Close user into a Kafka record: the key is the user id, the value a {@code User} struct.
 * A removal becomes a removal record (the same struct, with {@code removed} set) and a tombstone
 * (the key with a null value).
 */
public final class UserRecordMapper {

    public static final String VALUE_SCHEMA_NAME = "io.closeconnect.users.User";
    public static final int VALUE_SCHEMA_VERSION = 2;

    public static final String ID = "id";
    public static final String EMAIL = "email";
    public static final String FIRST_NAME = "first_name";
    public static final String LAST_NAME = "last_name";
    public static final String IMAGE = "image";
    public static final String GOOGLE_PROFILE_IMAGE_URL = "google_profile_image_url";
    public static final String LAST_USED_TIMEZONE = "last_used_timezone";
    public static final String ORGANIZATIONS = "organizations";
    public static final String DATE_CREATED = "date_created";
    public static final String DATE_UPDATED = "date_updated";
    public static final String EMAIL_VERIFIED_AT = "email_verified_at";
    public static final String EXTRA = "extra";
    public static final String REMOVED = "removed";
    public static final String REMOVED_AT = "removed_at";
    public static final String REMOVAL_REASON = "removal_reason";

    public static final Schema KEY_SCHEMA = SchemaBuilder.string()
            .doc("The Close user id, user_ followed by alphanumerics.")
            .build();


    public static final Schema VALUE_SCHEMA = SchemaBuilder.struct()
            .name(VALUE_SCHEMA_NAME)
            .version(VALUE_SCHEMA_VERSION)
            .doc("A user of a Close organization, as GET /api/v1/user/ returned it.")
            .field(ID, SchemaBuilder.string().doc("The Close user id.").build())
            .field(EMAIL, optionalString("The user's email address."))
            .field(FIRST_NAME, optionalString("The user's first name."))
            .field(LAST_NAME, optionalString("The user's last name."))
            .field(IMAGE, optionalString("The URL of the user's avatar."))
            .field(GOOGLE_PROFILE_IMAGE_URL, optionalString("The URL of the user's Google profile image, if any."))
            .field(LAST_USED_TIMEZONE, optionalString("The IANA time zone the user last used, if known."))
            .field(ORGANIZATIONS, SchemaBuilder.array(Schema.STRING_SCHEMA).optional()
                    .doc("The ids of the organizations the user belongs to.").build())
            .field(DATE_CREATED, Timestamp.builder().optional().doc("When the user was created.").build())
            .field(DATE_UPDATED, Timestamp.builder().doc("When the user was last changed. The record timestamp.").build())
            .field(EMAIL_VERIFIED_AT, Timestamp.builder().optional()
                    .doc("When the user verified their email address, if they did.").build())
            .field(EXTRA, SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.STRING_SCHEMA).optional()
                    .doc("Every field Close sent that this schema does not know yet, name to JSON text.").build())
            .field(REMOVED, SchemaBuilder.bool().optional()
                    .doc("True when this record announces that the user was removed from the Close organization "
                            + "(a tombstone with the same key usually follows); null in every other record.").build())
            .field(REMOVED_AT, Timestamp.builder().optional()
                    .doc("When the connector confirmed the removal with Close; null unless removed is true.").build())
            .field(REMOVAL_REASON, optionalString("Why the user counts as removed: not_found (Close answered 404 "
                    + "for the id) or left_organization (the user exists, in no organization of the connector's "
                    + "credential); null unless removed is true."))
            .build();

    private static final Set<String> KNOWN_FIELDS = Set.of(ID, EMAIL, FIRST_NAME, LAST_NAME, IMAGE,
            GOOGLE_PROFILE_IMAGE_URL, LAST_USED_TIMEZONE, ORGANIZATIONS, DATE_CREATED, DATE_UPDATED, EMAIL_VERIFIED_AT);

    private static final List<String> TIMESTAMP_FIELDS = List.of(DATE_CREATED, EMAIL_VERIFIED_AT);
    private static final Set<String> WARNED_FIELDS = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final Logger log = LoggerFactory.getLogger(UserRecordMapper.class);

    private static final List<String> STRING_FIELDS = List.of(EMAIL, FIRST_NAME, LAST_NAME, IMAGE,
            GOOGLE_PROFILE_IMAGE_URL, LAST_USED_TIMEZONE);

    private final String topic;

    public UserRecordMapper(String topic) {
        this.topic = topic;
    }

    /** The record of one version of a user; its timestamp is {@code date_updated}. */
    public SourceRecord toRecord(CloseUser user, Map<String, ?> sourcePartition, Map<String, ?> sourceOffset) {
        return new SourceRecord(sourcePartition, sourceOffset, topic, null,
                KEY_SCHEMA, user.id(), VALUE_SCHEMA, toStruct(user), Timestamps.toMillis(user.updatedMicros()));
    }

    /**
     * The record that announces a removal: the user as Close last returned it when it still exists
     * elsewhere, else only its id and the version last announced; {@code removed} true. Its
     * timestamp is the moment of the removal.
     */
    public SourceRecord toRemovalRecord(String id, long lastVersionMicros, CloseUser current, long removedAtMicros,
                                        String reason, Map<String, ?> sourcePartition, Map<String, ?> sourceOffset) {
        Struct value;
        if (current != null && current.id().equals(id)) {
            value = toStruct(current);
        } else {
            value = new Struct(VALUE_SCHEMA).put(ID, id)
                    .put(DATE_UPDATED, new Date(Timestamps.toMillis(lastVersionMicros)));
        }
        value.put(REMOVED, true)
                .put(REMOVED_AT, new Date(Timestamps.toMillis(removedAtMicros)))
                .put(REMOVAL_REASON, reason);
        return new SourceRecord(sourcePartition, sourceOffset, topic, null,
                KEY_SCHEMA, id, VALUE_SCHEMA, value, Timestamps.toMillis(removedAtMicros));
    }

    /** The tombstone of a removed user: its key with a null value (and no value schema), so compaction forgets it. */
    public SourceRecord toTombstone(String id, long removedAtMicros, Map<String, ?> sourcePartition,
                                    Map<String, ?> sourceOffset) {
        return new SourceRecord(sourcePartition, sourceOffset, topic, null,
                KEY_SCHEMA, id, null, null, Timestamps.toMillis(removedAtMicros));
    }

    /**
     * Builds the value struct. A known field whose value has a type the schema does not expect
     * (Close changed it) is set to null and kept, as JSON text, in {@code extra} under its own
     * name, with a warning: nothing is dropped, and one odd user does not stop the connector.
     */
    public static Struct toStruct(CloseUser user) {
        JsonNode json = user.json();
        Struct struct = new Struct(VALUE_SCHEMA)
                .put(ID, user.id())
                .put(DATE_UPDATED, new Date(Timestamps.toMillis(user.updatedMicros())));
        Map<String, String> extra = extra(json);
        for (String field : STRING_FIELDS) {
            try {
                struct.put(field, optionalText(user, json, field));
            } catch (DataException e) {
                extra = keepRaw(extra, json, field, e);
            }
        }
        for (String field : TIMESTAMP_FIELDS) {
            try {
                struct.put(field, optionalTimestamp(user, json, field));
            } catch (DataException e) {
                extra = keepRaw(extra, json, field, e);
            }
        }
        try {
            struct.put(ORGANIZATIONS, organizations(user, json));
        } catch (DataException e) {
            extra = keepRaw(extra, json, ORGANIZATIONS, e);
        }
        struct.put(EXTRA, extra);
        return struct;
    }

    private static Map<String, String> keepRaw(Map<String, String> extra, JsonNode json, String field, DataException e) {
        if (WARNED_FIELDS.add(field)) {
            log.warn("{}; the value is kept as JSON text in extra.{} (this warning appears once per field)",
                    e.getMessage(), field);
        }
        Map<String, String> kept = extra == null ? new HashMap<>() : extra;
        kept.put(field, json.get(field).toString());
        return kept;
    }

    private static Schema optionalString(String doc) {
        return SchemaBuilder.string().optional().doc(doc).build();
    }

    private static String optionalText(CloseUser user, JsonNode json, String field) {
        JsonNode node = json.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw badField(user, field, "a string", node);
        }
        return node.textValue();
    }

    private static Date optionalTimestamp(CloseUser user, JsonNode json, String field) {
        String text = optionalText(user, json, field);
        if (text == null) {
            return null;
        }
        try {
            return new Date(Timestamps.toMillis(Timestamps.parseMicros(text)));
        } catch (IllegalArgumentException e) {
            throw new DataException("Close user " + user.id() + ": field '" + field + "' " + e.getMessage(), e);
        }
    }

    private static List<String> organizations(CloseUser user, JsonNode json) {
        JsonNode node = json.get(ORGANIZATIONS);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray()) {
            throw badField(user, ORGANIZATIONS, "an array of strings", node);
        }
        List<String> ids = new ArrayList<>(node.size());
        for (JsonNode element : node) {
            if (!element.isTextual()) {
                throw badField(user, ORGANIZATIONS, "an array of strings", node);
            }
            ids.add(element.textValue());
        }
        return ids;
    }

    private static Map<String, String> extra(JsonNode json) {
        Map<String, String> extra = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (!KNOWN_FIELDS.contains(field.getKey())) {
                if (extra == null) {
                    extra = new HashMap<>();
                }
                extra.put(field.getKey(), field.getValue().toString());
            }
        }
        return extra;
    }

    private static DataException badField(CloseUser user, String field, String expected, JsonNode node) {
        return new DataException("Close user " + user.id() + ": field '" + field + "' should be " + expected
                + " but is " + node.getNodeType().name().toLowerCase());
    }
}
