package io.closeconnect.users;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Turns the body of a {@code GET /api/v1/user/} answer into a {@link UserPage}, or says what is wrong with it. */
final class UserPageParser {

    private static final ObjectMapper JSON = new ObjectMapper();

    private UserPageParser() {
    }

    static UserPage parse(byte[] body, long servedAtMicros) throws MalformedPageException {
        return parse(new String(body, java.nio.charset.StandardCharsets.UTF_8), servedAtMicros);
    }

    static UserPage parse(String body, long servedAtMicros) throws MalformedPageException {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new MalformedPageException("the body is not JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject()) {
            throw new MalformedPageException("the body is not a JSON object");
        }
        JsonNode data = root.get("data");
        if (data == null || !data.isArray()) {
            throw new MalformedPageException("the body has no 'data' array");
        }
        JsonNode hasMore = root.get("has_more");
        if (hasMore == null || !hasMore.isBoolean()) {
            throw new MalformedPageException("the body has no boolean 'has_more'");
        }
        if (hasMore.booleanValue() && data.isEmpty()) {
            throw new MalformedPageException("'has_more' is true on an empty page");
        }
        List<CloseUser> users = new ArrayList<>(data.size());
        for (JsonNode node : data) {
            users.add(toUser(node));
        }
        return new UserPage(users, hasMore.booleanValue(), servedAtMicros);
    }

    private static CloseUser toUser(JsonNode node) throws MalformedPageException {
        if (!node.isObject()) {
            throw new MalformedPageException("an element of 'data' is not an object");
        }
        JsonNode id = node.get("id");
        if (id == null || !id.isTextual() || id.textValue().isEmpty()) {
            throw new MalformedPageException("a user has no string 'id'");
        }
        String userId = id.textValue();
        if (userId.indexOf(',') >= 0 || userId.indexOf('@') >= 0) {
            throw new MalformedPageException("user id '" + userId + "' contains ',' or '@'");
        }
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
