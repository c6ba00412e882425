package io.closeconnect.users;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Turns the body of a {@code GET /api/v1/user/} answer into a {@link UserPage}, or says what is wrong with it.
 *
 * <p>It streams the body with a {@link JsonParser}: only each user becomes a tree, never the page,
 * and bytes are parsed as they came, without first decoding them into a {@code String}.
 */
final class UserPageParser {

    private static final ObjectMapper JSON = new ObjectMapper();

    private UserPageParser() {
    }

    static UserPage parse(String body, long servedAtMicros, int limit) throws MalformedPageException {
        return parse(body.getBytes(StandardCharsets.UTF_8), servedAtMicros, limit);
    }

    /**
     * @param servedAtMicros when Close read the page (see {@link UserPage#servedAtMicros()})
     * @param limit          the {@code _limit} of the request that this body answers
     */
    static UserPage parse(byte[] body, long servedAtMicros, int limit) throws MalformedPageException {
        try (JsonParser parser = JSON.createParser(body)) {
            return parse(parser, servedAtMicros, limit);
        } catch (JsonProcessingException e) {
            throw new MalformedPageException("the body is not JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            // Parsing a byte array does no I/O; anything else Jackson reports is a malformed body.
            throw new MalformedPageException("the body is not JSON (" + e.getMessage() + ")");
        }
    }

    private static UserPage parse(JsonParser parser, long servedAtMicros, int limit)
            throws IOException, MalformedPageException {
        if (parser.nextToken() != JsonToken.START_OBJECT) {
            // An empty body, a scalar or an array; a body that is not JSON at all fails in nextToken().
            if (parser.currentToken() != null) {
                parser.skipChildren();
                drain(parser);
            }
            throw new MalformedPageException("the body is not a JSON object");
        }
        List<CloseUser> users = null;
        Boolean hasMore = null;
        boolean hasMoreSeen = false;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            JsonToken value = parser.nextToken();
            if ("data".equals(name)) {
                users = value == JsonToken.START_ARRAY ? readUsers(parser) : null;
                if (value != JsonToken.START_ARRAY) {
                    parser.skipChildren();
                }
            } else if ("has_more".equals(name)) {
                hasMoreSeen = true;
                hasMore = value == JsonToken.VALUE_TRUE ? Boolean.TRUE : value == JsonToken.VALUE_FALSE ? Boolean.FALSE : null;
                parser.skipChildren();
            } else {
                parser.skipChildren();
            }
        }
        // The end of the object; whatever follows it is ignored, as a tree parse would.
        if (users == null) {
            throw new MalformedPageException("the body has no 'data' array");
        }
        if (!hasMoreSeen || hasMore == null) {
            throw new MalformedPageException("the body has no boolean 'has_more'");
        }
        if (hasMore && users.isEmpty()) {
            throw new MalformedPageException("'has_more' is true on an empty page");
        }
        return new UserPage(users, hasMore, servedAtMicros, limit);
    }

    /** The body of {@code GET /api/v1/user/{id}/}: one user object. */
    static CloseUser parseUser(String body) throws MalformedPageException {
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new MalformedPageException("the body is not JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw new MalformedPageException("the body is not a JSON object");
        }
        return toUser(node);
    }

    /** Reads the elements of {@code data}; the parser is on its START_ARRAY. */
    private static List<CloseUser> readUsers(JsonParser parser) throws IOException, MalformedPageException {
        List<CloseUser> users = new ArrayList<>();
        JsonToken token;
        while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
            if (token != JsonToken.START_OBJECT) {
                throw new MalformedPageException("an element of 'data' is not an object");
            }
            users.add(toUser(JSON.readTree(parser)));
        }
        return users;
    }

    private static void drain(JsonParser parser) throws IOException {
        while (parser.nextToken() != null) {
            parser.skipChildren();
        }
    }

    private static CloseUser toUser(JsonNode node) throws MalformedPageException {
        JsonNode id = node.get("id");
        if (id == null || !id.isTextual() || id.textValue().isEmpty()) {
            throw new MalformedPageException("a user has no string 'id'");
        }
        String userId = id.textValue();
        JsonNode updated = node.get("date_updated");
        if (updated == null || !updated.isTextual()) {
            throw new MalformedPageException("user " + userId + " has no string 'date_updated'");
        }
        try {
            return new CloseUser(userId, Timestamps.parseMicros(updated.textValue()), (ObjectNode) node);
        } catch (IllegalArgumentException e) {
            throw new MalformedPageException("user " + userId + ": 'date_updated' " + e.getMessage());
        }
    }

    /** A 2xx answer whose body is not a page of users. */
    static final class MalformedPageException extends Exception {
        MalformedPageException(String message) {
            super(message);
        }
    }
}
