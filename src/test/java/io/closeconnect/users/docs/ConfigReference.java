package io.closeconnect.users.docs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.ConfigKey;

import io.closeconnect.users.CloseUsersConfig;

/**
 * The README's configuration reference, generated from {@link CloseUsersConfig#CONFIG_DEF}: one
 * table per group, keys in their order within the group. {@link #main} rewrites the part of
 * README.md between the markers; {@code ConfigReferenceTest} fails when that part is stale.
 *
 * <p>Regenerate with {@value #REGENERATE}.
 */
public final class ConfigReference {

    public static final String BEGIN = "<!-- config-reference:begin (generated from CloseUsersConfig; do not edit) -->";
    public static final String END = "<!-- config-reference:end -->";
    public static final String REGENERATE = "mvn -q -B test-compile exec:java@config-reference";

    private ConfigReference() {
    }

    /** Rewrites the reference in the README given as the first argument (default README.md). */
    public static void main(String[] args) throws IOException {
        Path readme = Paths.get(args.length > 0 ? args[0] : "README.md");
        String text = Files.readString(readme, StandardCharsets.UTF_8);
        String updated = replaceSection(text, render(CloseUsersConfig.CONFIG_DEF));
        if (!updated.equals(text)) {
            Files.writeString(readme, updated, StandardCharsets.UTF_8);
            System.out.println("Updated the configuration reference in " + readme);
        } else {
            System.out.println("The configuration reference in " + readme + " is up to date");
        }
    }

    /** The text between the markers, or an exception naming the missing marker. */
    public static String currentSection(String readme) {
        int begin = readme.indexOf(BEGIN);
        int end = readme.indexOf(END);
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("README.md must contain the markers " + BEGIN + " and " + END
                    + " around the configuration reference");
        }
        return readme.substring(begin + BEGIN.length(), end);
    }

    static String replaceSection(String readme, String section) {
        currentSection(readme);
        int begin = readme.indexOf(BEGIN) + BEGIN.length();
        int end = readme.indexOf(END);
        return readme.substring(0, begin) + section + readme.substring(end);
    }

    /** The Markdown between the markers, starting and ending with a newline. */
    public static String render(ConfigDef def) {
        Map<String, List<ConfigKey>> byGroup = new LinkedHashMap<>();
        for (String group : def.groups()) {
            byGroup.put(group, new ArrayList<>());
        }
        List<ConfigKey> ungrouped = new ArrayList<>();
        for (ConfigKey key : def.configKeys().values()) {
            if (key.group == null) {
                ungrouped.add(key);
            } else {
                byGroup.computeIfAbsent(key.group, g -> new ArrayList<>()).add(key);
            }
        }
        if (!ungrouped.isEmpty()) {
            byGroup.put("Other", ungrouped);
        }
        StringBuilder out = new StringBuilder("\n");
        for (Map.Entry<String, List<ConfigKey>> group : byGroup.entrySet()) {
            List<ConfigKey> keys = group.getValue();
            keys.sort(Comparator.comparingInt((ConfigKey k) -> k.orderInGroup).thenComparing(k -> k.name));
            out.append("\n### ").append(group.getKey()).append("\n\n");
            out.append("| Key | Type | Default | Valid values | Importance | Description |\n");
            out.append("|---|---|---|---|---|---|\n");
            for (ConfigKey key : keys) {
                out.append("| `").append(key.name).append("` | ")
                        .append(key.type.name().toLowerCase(Locale.ROOT)).append(" | ")
                        .append(defaultOf(key)).append(" | ")
                        .append(key.validator == null ? "any" : cell(key.validator.toString())).append(" | ")
                        .append(key.importance.name().toLowerCase(Locale.ROOT)).append(" | ")
                        .append(cell(key.documentation)).append(" |\n");
            }
        }
        return out.append("\n").toString();
    }

    private static String defaultOf(ConfigKey key) {
        if (!key.hasDefault()) {
            return "(required)";
        }
        if (key.defaultValue == null) {
            return "null";
        }
        if (key.type == ConfigDef.Type.PASSWORD) {
            return "[hidden]";
        }
        String text = ConfigDef.convertToString(key.defaultValue, key.type);
        return text.isEmpty() ? "\"\"" : "`" + text + "`";
    }

    private static String cell(String text) {
        return text == null ? "" : text.replace("|", "\\|").replace("\r", "").replace("\n", " ").trim();
    }
}
