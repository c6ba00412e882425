package io.closeconnect.users.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.junit.jupiter.api.Test;

import io.closeconnect.users.CloseUsersConfig;

/** The README's configuration reference matches the ConfigDef, key for key. */
class ConfigReferenceTest {

    @Test
    void readmeReferenceMatchesTheConfigDef() throws IOException {
        String readme = Files.readString(Paths.get("README.md"), StandardCharsets.UTF_8);
        assertEquals(ConfigReference.render(CloseUsersConfig.CONFIG_DEF), ConfigReference.currentSection(readme),
                "README.md's configuration reference no longer matches CloseUsersConfig. Regenerate it with: "
                        + ConfigReference.REGENERATE);
    }

    @Test
    void everyKeyOfTheConfigDefIsDocumented() {
        String rendered = ConfigReference.render(CloseUsersConfig.CONFIG_DEF);
        for (String name : CloseUsersConfig.CONFIG_DEF.names()) {
            assertTrue(rendered.contains("| `" + name + "` |"), name + " is missing from the reference");
        }
    }

    @Test
    void rendersGroupsDefaultsValidatorsAndEscapesPipes() {
        ConfigDef def = new ConfigDef()
                .define("b.key", Type.INT, 5, ConfigDef.Range.between(1, 9), Importance.LOW, "Second | piped.",
                        "Group A", 2, ConfigDef.Width.SHORT, "B")
                .define("a.key", Type.PASSWORD, ConfigDef.NO_DEFAULT_VALUE, Importance.HIGH, "First.",
                        "Group A", 1, ConfigDef.Width.SHORT, "A")
                .define("c.key", Type.STRING, "", Importance.MEDIUM, "Loose.");
        String rendered = ConfigReference.render(def);
        assertTrue(rendered.indexOf("`a.key`") < rendered.indexOf("`b.key`"), "order within the group");
        assertTrue(rendered.contains("| `a.key` | password | (required) | any | high | First. |"), rendered);
        assertTrue(rendered.contains("| `b.key` | int | `5` | [1,...,9] | low | Second \\| piped. |"), rendered);
        assertTrue(rendered.contains("### Other"), rendered);
        assertTrue(rendered.contains("| `c.key` | string | \"\" | any | medium | Loose. |"), rendered);
    }

    @Test
    void replacesOnlyTheTextBetweenTheMarkers() {
        String readme = "intro\n" + ConfigReference.BEGIN + "\nold\n" + ConfigReference.END + "\noutro\n";
        String updated = ConfigReference.replaceSection(readme, "\nnew\n");
        assertEquals("intro\n" + ConfigReference.BEGIN + "\nnew\n" + ConfigReference.END + "\noutro\n", updated);
    }
}
