package io.closeconnect.users;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;

/** Users with the same name may come back in either order; an edit to one of them is not lost. */
class TiedNamesTest {

    /** A list ordered by name where two users share a name; the DB returns the tie in either order. */
    static final class TieSource implements UserSource {
        long clock = 1_704_067_200_000_000L;
        final List<CloseUser> users = new ArrayList<>();
        int requests;
        int flipAtRequest = -1;

        CloseUser user(String id, long micros) {
            ObjectNode n = new ObjectMapper().createObjectNode();
            n.put("id", id);
            return new CloseUser(id, micros, n);
        }

        @Override
        public UserPage fetch(long skip, int limit) {
            requests++;
            clock += 1_000;
            if (requests == flipAtRequest) {
                // swap the two tied users (same last_name, first_name): a legal answer to ORDER BY name
                int x = indexOf("user_x");
                int y = indexOf("user_y");
                CloseUser ux = users.get(x);
                users.set(x, users.get(y));
                users.set(y, ux);
            }
            List<CloseUser> page = new ArrayList<>();
            for (long i = skip; i < Math.min(users.size(), skip + limit); i++) {
                page.add(users.get((int) i));
            }
            return new UserPage(page, skip + limit < users.size(), clock, limit);
        }

        int indexOf(String id) {
            for (int i = 0; i < users.size(); i++) {
                if (users.get(i).id().equals(id)) {
                    return i;
                }
            }
            throw new AssertionError(id);
        }

        void edit(String id) {
            clock += 1_000;
            int i = indexOf(id);
            users.set(i, user(id, clock));
        }
    }

    @Test
    void tiedNamesSwappingAcrossAPageBoundaryLoseAnUpdate() throws Exception {
        TieSource src = new TieSource();
        for (String id : List.of("user_a", "user_b", "user_x", "user_y", "user_c", "user_d")) {
            src.users.add(src.user(id, src.clock - 10_000_000));
        }
        UserSweep sweep = new UserSweep(src, 3, 0, SweepState.initial());
        Set<String> emitted = new HashSet<>();
        UserSweep.Step step;
        do {
            step = sweep.step();
            step.emits().forEach(e -> emitted.add(e.user().id() + "@" + e.user().updatedMicros()));
        } while (!step.completed());
        assertEquals(6, emitted.size());

        src.edit("user_y");                        // an edit before sweep 2 starts
        long yVersion = src.users.get(src.indexOf("user_y")).updatedMicros();
        src.flipAtRequest = src.requests + 2;      // the tie flips between page 1 and page 2 of sweep 2
        for (int s = 0; s < 2; s++) {
            do {
                step = sweep.step();
                step.emits().forEach(e -> emitted.add(e.user().id() + "@" + e.user().updatedMicros()));
            } while (!step.completed());
        }
        assertEquals(true, emitted.contains("user_y@" + yVersion), "user_y's edit was never emitted: " + emitted);
    }
}
