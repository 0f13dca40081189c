package dev.tidelog;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The byte layouts shared with {@code native/src/lib.rs}: one buffer per batch or page, little-endian. */
final class Wire {
    private static final byte[] EMPTY = new byte[0];

    private Wire() {}

    private static byte[] utf8(String s) {
        return s.isEmpty() ? EMPTY : s.getBytes(StandardCharsets.UTF_8);
    }

    /** Size of one encoded event; fills {@code strings} with its encoded strings, in order. */
    private static int eventSize(NewEvent e, List<byte[]> strings) {
        byte[] manifest = utf8(e.manifest());
        byte[] writer = utf8(e.writerId());
        strings.add(manifest);
        strings.add(writer);
        int size = 8 + 4 + manifest.length + 4 + writer.length + 4 + e.metadata().length + 4 + 4 + e.payload().length;
        for (String tag : e.tags()) {
            byte[] t = utf8(tag);
            strings.add(t);
            size += 4 + t.length;
        }
        return size;
    }

    private static void put(ByteBuffer b, byte[] bytes) {
        b.putInt(bytes.length).put(bytes);
    }

    private static void putEvents(ByteBuffer b, List<NewEvent> events, List<byte[]> strings, int[] next) {
        b.putInt(events.size());
        for (NewEvent e : events) {
            b.putLong(e.timestamp().isPresent() ? e.timestamp().getAsLong() : -1);
            put(b, strings.get(next[0]++));
            put(b, strings.get(next[0]++));
            put(b, e.metadata());
            b.putInt(e.tags().size());
            for (int i = 0; i < e.tags().size(); i++) {
                put(b, strings.get(next[0]++));
            }
            put(b, e.payload());
        }
    }

    /** An append request: the persistence id, then the events. */
    static byte[] encodeAppend(String persistenceId, List<NewEvent> events) {
        byte[] pid = utf8(persistenceId);
        List<byte[]> strings = new ArrayList<>(events.size() * 2);
        int size = 4 + pid.length + 4;
        for (NewEvent e : events) {
            size += eventSize(e, strings);
        }
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        put(b, pid);
        putEvents(b, events, strings, new int[1]);
        return b.array();
    }

    static byte[] encodeWrites(List<AtomicWrite> writes) {
        List<byte[]> strings = new ArrayList<>();
        int size = 4;
        List<byte[]> pids = new ArrayList<>(writes.size());
        for (AtomicWrite w : writes) {
            byte[] pid = utf8(w.persistenceId());
            pids.add(pid);
            size += 4 + pid.length + 8 + 4;
            for (NewEvent e : w.events()) {
                size += eventSize(e, strings);
            }
        }
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(writes.size());
        int[] next = new int[1];
        for (int i = 0; i < writes.size(); i++) {
            AtomicWrite w = writes.get(i);
            put(b, pids.get(i));
            b.putLong(w.firstSequenceNr());
            putEvents(b, w.events(), strings, next);
        }
        return b.array();
    }

    /** Decodes a page of events written by {@code PageEncoder}; repeated strings are shared. */
    static final class PageDecoder {
        private byte[] lastPidBytes = EMPTY;
        private String lastPid = "";
        private byte[] lastManifestBytes = EMPTY;
        private String lastManifest = "";
        private byte[] lastWriterBytes = EMPTY;
        private String lastWriter = "";
        long lastSequenceNr;
        long lastGlobalOffset;

        /** Decodes {@code page}, handing each event to {@code sink}; returns the event count. */
        int decode(byte[] page, java.util.function.Consumer<Event> sink) {
            ByteBuffer b = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
            int count = b.getInt();
            for (int i = 0; i < count; i++) {
                long seq = b.getLong();
                long offset = b.getLong();
                long ts = b.getLong();
                String pid = pid(b, page);
                String manifest = manifest(b, page);
                String writer = writer(b, page);
                byte[] metadata = bytes(b, page);
                int tagCount = b.getInt();
                List<String> tags;
                if (tagCount == 0) {
                    tags = List.of();
                } else {
                    String[] t = new String[tagCount];
                    for (int j = 0; j < tagCount; j++) {
                        int n = b.getInt();
                        t[j] = new String(page, b.position(), n, StandardCharsets.UTF_8);
                        b.position(b.position() + n);
                    }
                    tags = List.of(t);
                }
                byte[] payload = bytes(b, page);
                lastSequenceNr = seq;
                lastGlobalOffset = offset;
                sink.accept(new Event(pid, seq, offset, ts, manifest, writer, tags, metadata, payload));
            }
            return count;
        }

        private static byte[] bytes(ByteBuffer b, byte[] page) {
            int n = b.getInt();
            if (n == 0) {
                return EMPTY;
            }
            int at = b.position();
            b.position(at + n);
            return Arrays.copyOfRange(page, at, at + n);
        }

        private static boolean same(byte[] last, byte[] page, int at, int n) {
            return last.length == n && Arrays.equals(last, 0, n, page, at, at + n);
        }

        private String pid(ByteBuffer b, byte[] page) {
            int n = b.getInt();
            int at = b.position();
            b.position(at + n);
            if (!same(lastPidBytes, page, at, n)) {
                lastPidBytes = Arrays.copyOfRange(page, at, at + n);
                lastPid = new String(lastPidBytes, StandardCharsets.UTF_8);
            }
            return lastPid;
        }

        private String manifest(ByteBuffer b, byte[] page) {
            int n = b.getInt();
            int at = b.position();
            b.position(at + n);
            if (!same(lastManifestBytes, page, at, n)) {
                lastManifestBytes = Arrays.copyOfRange(page, at, at + n);
                lastManifest = new String(lastManifestBytes, StandardCharsets.UTF_8);
            }
            return lastManifest;
        }

        private String writer(ByteBuffer b, byte[] page) {
            int n = b.getInt();
            int at = b.position();
            b.position(at + n);
            if (!same(lastWriterBytes, page, at, n)) {
                lastWriterBytes = Arrays.copyOfRange(page, at, at + n);
                lastWriter = new String(lastWriterBytes, StandardCharsets.UTF_8);
            }
            return lastWriter;
        }
    }

    static Snapshot decodeSnapshot(String persistenceId, byte[] buf) {
        ByteBuffer b = ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN);
        long seq = b.getLong();
        long ts = b.getLong();
        byte[] manifest = new byte[b.getInt()];
        b.get(manifest);
        byte[] metadata = new byte[b.getInt()];
        b.get(metadata);
        byte[] state = new byte[b.getInt()];
        b.get(state);
        return new Snapshot(persistenceId, seq, ts, new String(manifest, StandardCharsets.UTF_8), metadata, state);
    }
}
