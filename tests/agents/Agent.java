// The JVM agent of the cross-language matrix (see tests/run.py); same commands as the Rust agent.
import dev.tidelog.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;

public final class Agent {
    public static void main(String[] args) throws Exception {
        String cmd = args[0];
        Path path = Path.of(args[1]);
        Backend backend = Backend.valueOf(args[2].toUpperCase(Locale.ROOT));
        String extra = args.length > 3 ? args[3] : null;
        if (cmd.equals("lock")) {
            try (Journal j = Tidelog.open(path, Options.builder().backend(backend).build())) {
                System.out.println("OPENED");
            } catch (LockedException e) {
                System.out.println("LOCKED");
            }
            return;
        }
        try (Journal j = Tidelog.open(path, Options.builder().backend(backend).readOnly(cmd.equals("read")).build())) {
            switch (cmd) {
                case "write" -> write(j, fixture(extra));
                case "verify" -> verify(j, fixture(extra));
                case "crash" -> crash(j);
                case "acks" -> acks(j, Path.of(extra));
                case "read" -> readLive(j);
                default -> throw new IllegalArgumentException("unknown command " + cmd);
            }
        } catch (AssertionError e) {
            System.err.println(e.getMessage());
            System.exit(1);
        }
    }

    static byte[] crashPayload(String pid, long seq) {
        return (pid + ":" + seq + ":").repeat((int) (1 + seq % 40)).getBytes(StandardCharsets.UTF_8);
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    static byte[] b64(Object s) {
        return Base64.getDecoder().decode((String) s);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> fixture(String file) throws Exception {
        return (Map<String, Object>) new Json(Files.readString(Path.of(file))).value();
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Map<String, Object> m, String key) {
        return (List<Map<String, Object>>) m.get(key);
    }

    static byte[] payload(Map<String, Object> p) {
        byte[] unit = b64(p.get("base64"));
        int repeat = p.containsKey("repeat") ? ((Number) p.get("repeat")).intValue() : 1;
        byte[] out = new byte[unit.length * repeat];
        for (int i = 0; i < repeat; i++) System.arraycopy(unit, 0, out, i * unit.length, unit.length);
        return out;
    }

    @SuppressWarnings("unchecked")
    static List<String> strings(Object o) {
        return (List<String>) o;
    }

    @SuppressWarnings("unchecked")
    static void write(Journal j, Map<String, Object> fx) {
        for (var a : list(fx, "appends")) {
            List<NewEvent> events = new ArrayList<>();
            for (var e : (List<Map<String, Object>>) a.get("events")) {
                events.add(NewEvent.of(payload((Map<String, Object>) e.get("payload"))).withManifest((String) e.get("manifest"))
                        .withWriterId((String) e.get("writer_id")).withTags(strings(e.get("tags")))
                        .withTimestamp(((Number) e.get("timestamp")).longValue()).withMetadata(b64(e.get("metadata"))));
            }
            j.append((String) a.get("persistence_id"), events);
        }
        for (var d : list(fx, "deletions")) j.deleteTo((String) d.get("persistence_id"), ((Number) d.get("to")).longValue());
        for (var s : list(fx, "snapshots")) {
            j.snapshots().save(new Snapshot((String) s.get("persistence_id"), ((Number) s.get("sequence_nr")).longValue(),
                    ((Number) s.get("timestamp")).longValue(), (String) s.get("manifest"), b64(s.get("metadata")), b64(s.get("state"))));
        }
    }

    record Expected(String pid, long seq, long offset, long ts, String manifest, String writerId, List<String> tags, byte[] metadata, byte[] payload) {
        boolean matches(Event e) {
            return e.persistenceId().equals(pid) && e.sequenceNr() == seq && e.globalOffset() == offset && e.timestamp() == ts
                    && e.manifest().equals(manifest) && e.writerId().equals(writerId) && e.tags().equals(tags)
                    && Arrays.equals(e.metadata(), metadata) && Arrays.equals(e.payload(), payload);
        }
    }

    @SuppressWarnings("unchecked")
    static List<Expected> expected(Map<String, Object> fx) {
        Map<String, Long> highest = new HashMap<>();
        Map<String, Long> deleted = new HashMap<>();
        for (var d : list(fx, "deletions")) deleted.put((String) d.get("persistence_id"), ((Number) d.get("to")).longValue());
        long offset = 0;
        List<Expected> out = new ArrayList<>();
        for (var a : list(fx, "appends")) {
            String pid = (String) a.get("persistence_id");
            for (var e : (List<Map<String, Object>>) a.get("events")) {
                offset++;
                long seq = highest.merge(pid, 1L, Long::sum);
                if (seq <= deleted.getOrDefault(pid, 0L)) continue;
                out.add(new Expected(pid, seq, offset, ((Number) e.get("timestamp")).longValue(), (String) e.get("manifest"),
                        (String) e.get("writer_id"), strings(e.get("tags")), b64(e.get("metadata")), payload((Map<String, Object>) e.get("payload"))));
            }
        }
        return out;
    }

    static void same(List<Event> got, List<Expected> want, String what) {
        check(got.size() == want.size(), what + ": " + got.size() + " events, expected " + want.size());
        for (int i = 0; i < got.size(); i++) check(want.get(i).matches(got.get(i)), what + ": event " + i + " differs");
    }

    @SuppressWarnings("unchecked")
    static void verify(Journal j, Map<String, Object> fx) {
        List<Expected> want = expected(fx);
        same(j.allEvents(0, Long.MAX_VALUE), want, "allEvents");
        TreeSet<String> ids = new TreeSet<>();
        for (var a : list(fx, "appends")) ids.add((String) a.get("persistence_id"));
        check(j.persistenceIds().equals(new ArrayList<>(ids)), "persistence ids differ");
        for (String pid : ids) {
            same(j.read(pid), want.stream().filter(e -> e.pid().equals(pid)).toList(), "read(" + pid + ")");
            long appended = list(fx, "appends").stream().filter(a -> a.get("persistence_id").equals(pid))
                    .mapToLong(a -> ((List<Object>) a.get("events")).size()).sum();
            check(j.highestSequenceNr(pid) == appended, "highest of " + pid);
        }
        same(j.eventsByTag("orders", 0, Long.MAX_VALUE), want.stream().filter(e -> e.tags().contains("orders")).toList(), "eventsByTag");
        for (var s : list(fx, "snapshots")) {
            String pid = (String) s.get("persistence_id");
            var latest = list(fx, "snapshots").stream().filter(x -> x.get("persistence_id").equals(pid))
                    .max(Comparator.comparingLong(x -> ((Number) x.get("sequence_nr")).longValue())).orElseThrow();
            long seq = ((Number) s.get("sequence_nr")).longValue();
            long ts = ((Number) s.get("timestamp")).longValue();
            checkSnapshot(j.snapshots().loadLatest(pid), latest);
            checkSnapshot(j.snapshots().load(pid, SnapshotCriteria.latest().withMaxSequenceNr(seq).withMinTimestamp(ts)), s);
        }
    }

    static void checkSnapshot(Optional<Snapshot> got, Map<String, Object> want) {
        check(got.isPresent(), "snapshot missing");
        Snapshot s = got.get();
        check(s.sequenceNr() == ((Number) want.get("sequence_nr")).longValue() && s.timestamp() == ((Number) want.get("timestamp")).longValue()
                && s.manifest().equals(want.get("manifest")) && Arrays.equals(s.metadata(), b64(want.get("metadata")))
                && Arrays.equals(s.state(), b64(want.get("state"))), "snapshot of " + s.persistenceId() + " differs");
    }

    static void crash(Journal j) {
        for (long i = 0; ; i++) {
            String pid = "crash-jvm-" + (i % 3);
            long next = j.highestSequenceNr(pid) + 1;
            List<NewEvent> events = new ArrayList<>();
            for (long s = next; s < next + 1 + i % 3; s++) events.add(NewEvent.of(crashPayload(pid, s)));
            WriteReceipt r = j.append(pid, events);
            System.out.println("ack " + pid + " " + r.lastSequenceNr());
            System.out.flush();
        }
    }

    static void acks(Journal j, Path ackFile) throws Exception {
        Map<String, Long> acked = new HashMap<>();
        for (String line : Files.readAllLines(ackFile)) {
            String[] p = line.trim().split("\\s+");
            if (p.length == 3 && p[0].equals("ack")) acked.merge(p[1], Long.parseLong(p[2]), Math::max);
        }
        for (var entry : acked.entrySet()) {
            String pid = entry.getKey();
            List<Event> events = j.read(pid);
            check(events.size() >= entry.getValue(), pid + ": " + events.size() + " events, " + entry.getValue() + " acknowledged");
            for (int i = 0; i < events.size(); i++) {
                Event e = events.get(i);
                check(e.sequenceNr() == i + 1 && Arrays.equals(e.payload(), crashPayload(pid, e.sequenceNr())), pid + ": event " + e.sequenceNr() + " damaged");
            }
        }
    }

    static void readLive(Journal j) {
        long total = 0;
        for (String pid : j.persistenceIds()) {
            List<Event> events = j.read(pid);
            for (int i = 0; i < events.size(); i++) {
                Event e = events.get(i);
                check(e.sequenceNr() == events.get(0).sequenceNr() + i && Arrays.equals(e.payload(), crashPayload(pid, e.sequenceNr())), pid + ": inconsistent");
            }
            total += events.size();
        }
        check(total > 0, "a reader beside the writer saw no events");
        System.out.println("read " + total);
    }

    /** A small JSON reader for the fixture (the JDK has none). */
    static final class Json {
        private final String s;
        private int i;

        Json(String s) {
            this.s = s;
        }

        Object value() {
            skip();
            char c = s.charAt(i);
            if (c == '{') {
                Map<String, Object> m = new LinkedHashMap<>();
                i++;
                skip();
                if (s.charAt(i) == '}') { i++; return m; }
                while (true) {
                    skip();
                    String k = string();
                    skip();
                    i++; // ':'
                    m.put(k, value());
                    skip();
                    if (s.charAt(i++) == '}') return m;
                }
            }
            if (c == '[') {
                List<Object> l = new ArrayList<>();
                i++;
                skip();
                if (s.charAt(i) == ']') { i++; return l; }
                while (true) {
                    l.add(value());
                    skip();
                    if (s.charAt(i++) == ']') return l;
                }
            }
            if (c == '"') return string();
            int start = i;
            while (i < s.length() && "-+.eE0123456789truefalsn".indexOf(s.charAt(i)) >= 0) i++;
            String t = s.substring(start, i);
            return switch (t) {
                case "true" -> true;
                case "false" -> false;
                case "null" -> null;
                default -> t.contains(".") ? (Object) Double.parseDouble(t) : (Object) Long.parseLong(t);
            };
        }

        private String string() {
            StringBuilder b = new StringBuilder();
            i++; // opening quote
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c == '\\') {
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n' -> b.append('\n');
                        case 't' -> b.append('\t');
                        case 'u' -> { b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; }
                        default -> b.append(e);
                    }
                } else {
                    b.append(c);
                }
            }
        }

        private void skip() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        }
    }
}
