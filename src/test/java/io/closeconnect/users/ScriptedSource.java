package io.closeconnect.users;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A user list whose exact order a test sets between requests, for minimal cases: users are
 * created with a name, edited, removed (404) and reordered by hand; {@link #beforeRequest} runs
 * before each list request with its number (1 for the first).
 */
final class ScriptedSource implements UserSource {

    static final String ORGANIZATION = "orga_scripted";
    private static final ObjectMapper JSON = new ObjectMapper();

    long clock = 1_704_067_200_000_000L;
    private final List<CloseUser> users = new ArrayList<>();
    private final Map<String, CloseUser> removed = new HashMap<>();
    int requests;
    int lookups;
    IntConsumer beforeRequest = n -> { };

    /** Adds users at the end, each named after its id unless {@code tied} (then all share one name). */
    ScriptedSource add(boolean tied, String... ids) {
        for (String id : ids) {
            users.add(user(id, clock - 10_000_000, tied ? "Tie" : id));
        }
        return this;
    }

    private static CloseUser user(String id, long micros, String name) {
        ObjectNode node = JSON.createObjectNode();
        node.put("id", id);
        node.put("first_name", "Same");
        node.put("last_name", name);
        node.put("date_updated", Timestamps.format(micros));
        node.putArray("organizations").add(ORGANIZATION);
        return new CloseUser(id, micros, node);
    }

    /** Puts the users in exactly this order; the ids must be the listed ones. */
    void order(String... ids) {
        List<CloseUser> reordered = new ArrayList<>();
        for (String id : ids) {
            reordered.add(users.get(indexOf(id)));
        }
        if (reordered.size() != users.size()) {
            throw new AssertionError("order " + List.of(ids) + " does not name every user");
        }
        users.clear();
        users.addAll(reordered);
    }

    void edit(String id) {
        clock += 1_000;
        int i = indexOf(id);
        CloseUser old = users.get(i);
        users.set(i, user(id, clock, old.json().get("last_name").textValue()));
    }

    void remove(String id) {
        CloseUser user = users.remove(indexOf(id));
        removed.put(id, user);
    }

    /** Lists a removed user again, unchanged (same date_updated), at {@code index}. */
    void readd(String id, int index) {
        users.add(index, removed.remove(id));
    }

    long version(String id) {
        return users.get(indexOf(id)).updatedMicros();
    }

    List<String> ids() {
        List<String> ids = new ArrayList<>();
        users.forEach(u -> ids.add(u.id()));
        return ids;
    }

    int indexOf(String id) {
        for (int i = 0; i < users.size(); i++) {
            if (users.get(i).id().equals(id)) {
                return i;
            }
        }
        throw new AssertionError("no user " + id + " in " + ids());
    }

    @Override
    public UserPage fetch(long skip, int limit) {
        requests++;
        beforeRequest.accept(requests);
        clock += 1_000;
        List<CloseUser> page = new ArrayList<>();
        for (long i = skip; i < Math.min(users.size(), skip + limit); i++) {
            page.add(users.get((int) i));
        }
        return new UserPage(page, skip + limit < users.size(), clock, limit);
    }

    @Override
    public UserLookup lookUp(String id) {
        lookups++;
        for (CloseUser user : users) {
            if (user.id().equals(id)) {
                return UserLookup.found(user);
            }
        }
        return UserLookup.notFound("Empty query");
    }

    @Override
    public List<String> myOrganizations() {
        return List.of(ORGANIZATION);
    }
}
