package io.closeconnect.users;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One user as Close returned it: the id and {@code date_updated} the sync works with, and the
 * whole JSON object that the record mapping turns into a value.
 */
public record CloseUser(String id, long updatedMicros, ObjectNode json) {
}
