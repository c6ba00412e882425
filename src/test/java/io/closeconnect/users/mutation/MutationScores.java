package io.closeconnect.users.mutation;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * Prints PIT's results per class from its {@code mutations.xml}: mutants, killed, survived, not
 * covered, the score, and then every surviving mutant with its line. Run by
 * {@code mvn -B -Pmutation verify} after PIT (pom.xml, profile {@code mutation}).
 *
 * <p>The score is PIT's mutation coverage: detected mutants (killed, timed out, or crashing the
 * test run) over all mutants. Nested classes count under their top-level class.
 */
public final class MutationScores {

    /** One mutant as PIT reports it. */
    record Mutant(String className, String method, int line, String mutator, String description, String status,
                  boolean detected) {
    }

    /** The totals of one class. */
    record Score(String className, int mutants, int detected, int survived, int noCoverage) {
        /** Detected over all mutants, in percent (PIT's "mutation coverage"). */
        int percent() {
            return mutants == 0 ? 100 : (int) Math.floor(100.0 * detected / mutants);
        }
    }

    private MutationScores() {
    }

    public static void main(String[] args) throws Exception {
        Path xml = Path.of(args.length > 0 ? args[0] : "target/pit-reports/mutations.xml");
        if (!Files.exists(xml)) {
            throw new IllegalStateException(xml + " does not exist; run PIT first: mvn -B -Pmutation verify");
        }
        List<Mutant> mutants;
        try (InputStream in = Files.newInputStream(xml)) {
            mutants = read(in);
        }
        print(mutants, System.out);
    }

    static List<Mutant> read(InputStream in) throws IOException {
        Document document;
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            document = factory.newDocumentBuilder().parse(in);
        } catch (ParserConfigurationException | SAXException e) {
            throw new IOException("not a PIT mutations.xml: " + e.getMessage(), e);
        }
        List<Mutant> mutants = new ArrayList<>();
        NodeList nodes = document.getElementsByTagName("mutation");
        for (int i = 0; i < nodes.getLength(); i++) {
            Element mutation = (Element) nodes.item(i);
            String mutated = text(mutation, "mutatedClass");
            int nested = mutated.indexOf('$');
            mutants.add(new Mutant(nested < 0 ? mutated : mutated.substring(0, nested), text(mutation, "mutatedMethod"),
                    Integer.parseInt(text(mutation, "lineNumber")), simpleName(text(mutation, "mutator")),
                    text(mutation, "description"), mutation.getAttribute("status"),
                    Boolean.parseBoolean(mutation.getAttribute("detected"))));
        }
        return mutants;
    }

    /** The totals per class, by class name. */
    static List<Score> scores(List<Mutant> mutants) {
        Map<String, int[]> counts = new TreeMap<>();
        for (Mutant mutant : mutants) {
            int[] c = counts.computeIfAbsent(simpleName(mutant.className()), k -> new int[4]);
            c[0]++;
            if (mutant.detected()) {
                c[1]++;
            } else if (mutant.status().equals("NO_COVERAGE")) {
                c[3]++;
            } else {
                c[2]++;
            }
        }
        List<Score> scores = new ArrayList<>();
        counts.forEach((name, c) -> scores.add(new Score(name, c[0], c[1], c[2], c[3])));
        return scores;
    }

    static void print(List<Mutant> mutants, PrintStream out) {
        List<Score> scores = scores(mutants);
        out.println();
        out.println("PIT mutation scores per class (detected / mutants):");
        out.printf("  %-28s %7s %8s %8s %11s %6s%n", "class", "mutants", "detected", "survived", "no coverage", "score");
        int all = 0;
        int detected = 0;
        for (Score score : scores) {
            out.printf("  %-28s %7d %8d %8d %11d %5d%%%n", score.className(), score.mutants(), score.detected(),
                    score.survived(), score.noCoverage(), score.percent());
            all += score.mutants();
            detected += score.detected();
        }
        Score total = new Score("all", all, detected, 0, 0);
        out.printf("  %-28s %7d %8d %8s %11s %5d%%%n", "all", all, detected, "", "", total.percent());
        List<Mutant> undetected = mutants.stream().filter(m -> !m.detected())
                .sorted(java.util.Comparator.comparing(Mutant::className).thenComparingInt(Mutant::line)).toList();
        if (!undetected.isEmpty()) {
            out.println();
            out.println("Surviving (or not covered) mutants:");
            for (Mutant m : undetected) {
                out.printf("  %s:%d %s(): %s [%s%s]%n", simpleName(m.className()), m.line(), m.method(), m.description(),
                        m.mutator(), m.status().equals("SURVIVED") ? "" : ", " + m.status());
            }
        }
        out.println();
    }

    private static String text(Element parent, String tag) {
        NodeList nodes = parent.getElementsByTagName(tag);
        return nodes.getLength() == 0 ? "" : nodes.item(0).getTextContent().trim();
    }

    private static String simpleName(String qualified) {
        return qualified.substring(qualified.lastIndexOf('.') + 1);
    }
}
