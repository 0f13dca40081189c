package dev.tidelog;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Java side of the wire format specified in {@code core/docs/wire.md} (version 3),
 * implemented once in Rust by the crate {@code tidelog-ffi}: one buffer per batch or page,
 * little-endian. Each method names the section it follows.
 */
final class Wire {
    private static final byte[] EMPTY = new byte[0];
    /** Error codes by status: status {@code s} (1..) is {@code CODES[s - 1]} ("Status codes"). */
    private static final String[] CODES = NativeBridge.errorCodes();
    /** The flag bit of a retryable failure's status; the code is the low 16 bits ("Retryable flag"). */
    private static final int RETRYABLE = 1 << 16;

    /** The exception for a failure's status (its code and retryable flag) and message. */
    static TidelogException error(int status, String message, String persistenceId, long a, long b) {
        int s = status & (RETRYABLE - 1);
        String code = status > 0 && s >= 1 && s <= CODES.length ? CODES[s - 1] : "INTERNAL";
        return TidelogException.fromNative(code, message, persistenceId, a, b, status > 0 && (status & RETRYABLE) != 0);
    }

    private Wire() {}

    private static byte[] utf8(String s) {
        if (s.isEmpty()) {
            return EMPTY;
        }
        // getBytes turns a lone surrogate into '?', so "a\uD800" would name the stream "a?".
        for (int i = 0; i < s.length(); i++) {
            if (Character.isSurrogate(s.charAt(i))) {
                checkWellFormed(s, i);
                break;
            }
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Throws unless every surrogate of {@code s} from {@code from} on is half of a pair. */
    private static void checkWellFormed(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new InvalidArgumentException("a string holds a lone UTF-16 surrogate at index " + i
                        + ": persistence ids, tags, manifests and writer ids must be well-formed Unicode");
            }
        }
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

    /** "Append request": the persistence id, then an "Event list". */
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

    /** "Write list". */
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

    /** The length that marks a string equal to the previous event's in an "Event page". */
    private static final int SAME_AS_PREVIOUS = -1;

    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * Decodes an "Event page" out of a {@code byte[]} (little-endian reads straight from the
     * array, payloads copied out with {@code Arrays.copyOfRange}); a persistence id, manifest or
     * writer id the page repeats is the previous event's.
     */
    static final class PageDecoder {
        /** For a stream's pages: its persistence id, which every event of them carries (not decoded again). */
        private final String stream;
        private String lastPid;
        private String lastManifest;
        private String lastWriter;
        long lastSequenceNr;
        long lastGlobalOffset;
        /** Where the last {@link #decode} stopped: the end of its page. */
        int end;

        /** A decoder of pages of any events. */
        PageDecoder() {
            this(null);
        }

        /** A decoder of pages of {@code stream}'s events only ({@code null}: any events). */
        PageDecoder(String stream) {
            this.stream = stream;
        }

        /** Decodes {@code page}, handing each event to {@code sink}; returns the event count. */
        int decode(byte[] page, java.util.function.Consumer<Event> sink) {
            int n = decode(page, 0, sink);
            if (end != page.length) {
                throw malformed();
            }
            return n;
        }

        /**
         * Decodes the event page at {@code page[at..]}, handing each event to {@code sink}; returns
         * the event count and leaves {@link #end} after the page.
         */
        int decode(byte[] page, int at, java.util.function.Consumer<Event> sink) {
            return decode(page, at, null, sink);
        }

        /**
         * Decodes the event page at {@code page[at..]} into a new array (no call per event: the
         * small reads' path); leaves {@link #end} after the page.
         */
        Event[] decodeAll(byte[] page, int at) {
            Event[] events = new Event[(int) INT.get(page, at)];
            decode(page, at, events, null);
            return events;
        }

        /** Decodes into {@code into} (sized to the page's count) when not null, else to {@code sink}. */
        private int decode(byte[] page, int at, Event[] into, java.util.function.Consumer<Event> sink) {
            int p = at;
            int count = (int) INT.get(page, p);
            p += 4;
            // Repeats refer to the previous event of the same page only.
            lastPid = lastManifest = lastWriter = null;
            for (int i = 0; i < count; i++) {
                long seq = (long) LONG.get(page, p);
                long offset = (long) LONG.get(page, p + 8);
                long ts = (long) LONG.get(page, p + 16);
                p += 24;
                int n = (int) INT.get(page, p);
                p += 4;
                String pid;
                if (n == SAME_AS_PREVIOUS) {
                    pid = previous(stream != null ? stream : lastPid);
                } else {
                    pid = stream != null ? stream : string(page, p, n);
                    p += n;
                }
                lastPid = pid;
                n = (int) INT.get(page, p);
                p += 4;
                if (n == SAME_AS_PREVIOUS) {
                    n = 0;
                    lastManifest = previous(lastManifest);
                } else {
                    lastManifest = string(page, p, n);
                }
                p += n;
                n = (int) INT.get(page, p);
                p += 4;
                if (n == SAME_AS_PREVIOUS) {
                    n = 0;
                    lastWriter = previous(lastWriter);
                } else {
                    lastWriter = string(page, p, n);
                }
                p += n;
                n = (int) INT.get(page, p);
                byte[] metadata = n == 0 ? EMPTY : Arrays.copyOfRange(page, p + 4, p + 4 + n);
                p += 4 + n;
                int tagCount = (int) INT.get(page, p);
                p += 4;
                List<String> tags;
                if (tagCount == 0) {
                    tags = List.of();
                } else {
                    String[] t = new String[tagCount];
                    for (int j = 0; j < tagCount; j++) {
                        n = (int) INT.get(page, p);
                        t[j] = string(page, p + 4, n);
                        p += 4 + n;
                    }
                    tags = List.of(t);
                }
                n = (int) INT.get(page, p);
                byte[] payload = n == 0 ? EMPTY : Arrays.copyOfRange(page, p + 4, p + 4 + n);
                p += 4 + n;
                lastSequenceNr = seq;
                lastGlobalOffset = offset;
                Event event = new Event(pid, seq, offset, ts, lastManifest, lastWriter, tags, metadata, payload);
                if (into != null) {
                    into[i] = event;
                } else {
                    sink.accept(event);
                }
            }
            end = p;
            return count;
        }

        private static String string(byte[] page, int at, int n) {
            if (n < 0) {
                throw malformed();
            }
            return n == 0 ? "" : new String(page, at, n, StandardCharsets.UTF_8);
        }

        private static String previous(String value) {
            if (value == null) {
                throw malformed();
            }
            return value;
        }

        private static IllegalStateException malformed() {
            return new IllegalStateException("malformed page from the native library");
        }
    }

    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * Decodes a "Stream page": per event its stored body from the sequence number on
     * ({@code core/docs/format.md}, "Event body"), which the native side checked (CRC and field
     * lengths) before copying it. A manifest or writer id with the previous event's bytes is the
     * previous event's string (no new string per event of a stream).
     */
    static final class StreamPageDecoder {
        private final String stream;
        long lastSequenceNr;
        /** Where the last {@link #decode} stopped: the end of its page. */
        int end;

        /** A decoder of {@code stream}'s pages. */
        StreamPageDecoder(String stream) {
            this.stream = stream;
        }

        /**
         * Decodes the stream page at {@code page[0..]} into a new list (sized to it: the caller's
         * list, with no copy); leaves {@link #end} after the page.
         */
        ArrayList<Event> decode(byte[] page) {
            int count = (int) INT.get(page, 0);
            if (count < 0) {
                throw malformed();
            }
            ArrayList<Event> events = new ArrayList<>(count);
            int p = 4;
            String manifest = "";
            String writer = "";
            int manifestAt = 0;
            int manifestLength = 0;
            int writerAt = 0;
            int writerLength = 0;
            for (int i = 0; i < count; i++) {
                int n = (int) INT.get(page, p);
                p += 4;
                int bodyEnd = p + n;
                if (n < 32 || bodyEnd > page.length || bodyEnd < 0) {
                    throw malformed();
                }
                long seq = (long) LONG.get(page, p);
                long offset = (long) LONG.get(page, p + 8);
                long ts = (long) LONG.get(page, p + 16);
                // The four u16 lengths (manifest, writer id, metadata, tag count) in one read.
                long lengths = (long) LONG.get(page, p + 24);
                p += 32;
                if (lengths == 0 && manifestLength == 0 && writerLength == 0) {
                    // No manifest, writer id, metadata or tags: the rest is the payload (most events of a stream).
                    byte[] payload = p == bodyEnd ? EMPTY : Arrays.copyOfRange(page, p, bodyEnd);
                    p = bodyEnd;
                    events.add(new Event(stream, seq, offset, ts, "", "", List.of(), EMPTY, payload));
                    lastSequenceNr = seq;
                    continue;
                }
                int m = (int) lengths & 0xFFFF;
                int w = (int) (lengths >>> 16) & 0xFFFF;
                int d = (int) (lengths >>> 32) & 0xFFFF;
                int tagCount = (int) (lengths >>> 48);
                if (m != manifestLength || m != 0 && !Arrays.equals(page, p, p + m, page, manifestAt, manifestAt + m)) {
                    manifest = string(page, p, m);
                }
                manifestAt = p;
                manifestLength = m;
                p += m;
                if (w != writerLength || w != 0 && !Arrays.equals(page, p, p + w, page, writerAt, writerAt + w)) {
                    writer = string(page, p, w);
                }
                writerAt = p;
                writerLength = w;
                p += w;
                byte[] metadata = d == 0 ? EMPTY : Arrays.copyOfRange(page, p, p + d);
                p += d;
                List<String> tags;
                if (tagCount == 0) {
                    tags = List.of();
                } else {
                    String[] t = new String[tagCount];
                    for (int j = 0; j < tagCount; j++) {
                        int length = (short) SHORT.get(page, p) & 0xFFFF;
                        t[j] = string(page, p + 2, length);
                        p += 2 + length;
                    }
                    tags = List.of(t);
                }
                if (p > bodyEnd) {
                    throw malformed();
                }
                byte[] payload = p == bodyEnd ? EMPTY : Arrays.copyOfRange(page, p, bodyEnd);
                p = bodyEnd;
                events.add(new Event(stream, seq, offset, ts, manifest, writer, tags, metadata, payload));
                lastSequenceNr = seq;
            }
            end = p;
            return events;
        }

        private static String string(byte[] page, int at, int n) {
            return n == 0 ? "" : new String(page, at, n, StandardCharsets.UTF_8);
        }

        private static IllegalStateException malformed() {
            return new IllegalStateException("malformed stream page from the native library");
        }
    }

    /** "Result record": a receipt (status 0) or an error; for a sequence conflict a = expected, b = actual. */
    record Result(int status, long a, long b, String message) {
        boolean ok() {
            return status == 0;
        }

        WriteReceipt receipt() {
            return new WriteReceipt(a, b);
        }

        TidelogException error(String persistenceId) {
            return Wire.error(status, message, persistenceId, a, b);
        }
    }

    private static Result result(ByteBuffer b) {
        int status = b.getInt();
        int messageLength = b.getInt();
        long first = b.getLong();
        long second = b.getLong();
        b.getLong(); // c: the first global offset, not part of the Java receipt
        String message = new String(b.array(), b.position(), messageLength, StandardCharsets.UTF_8);
        b.position(b.position() + messageLength);
        return new Result(status, first, second, message);
    }

    private static Result[] results(ByteBuffer b) {
        Result[] results = new Result[b.getInt()];
        for (int i = 0; i < results.length; i++) {
            results[i] = result(b);
        }
        return results;
    }

    /** A "Result list". */
    static Result[] decodeResults(byte[] buf) {
        return results(ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN));
    }

    /** Receives a completion: a {@link Result}, or a {@code Result[]} for a write list. */
    interface CompletionSink {
        void accept(long token, Object result);
    }

    /** A "Completion batch": kind 0 carries a result record, kind 1 a result list. */
    static void decodeCompletions(byte[] batch, CompletionSink sink) {
        ByteBuffer b = ByteBuffer.wrap(batch).order(ByteOrder.LITTLE_ENDIAN);
        int count = b.getInt();
        for (int i = 0; i < count; i++) {
            long token = b.getLong();
            int kind = b.getInt();
            sink.accept(token, kind == 1 ? results(b) : result(b));
        }
    }

    /** Receives one subscription batch's outcome: its events, or the exception that ended it. */
    interface PageSink {
        void accept(long token, List<Event> events, TidelogException error);
    }

    /**
     * A "Subscription batch": per completion a token, a status, and an event page (status 0) or
     * a message.
     */
    static void decodePageCompletions(byte[] batch, PageSink sink) {
        ByteBuffer b = ByteBuffer.wrap(batch).order(ByteOrder.LITTLE_ENDIAN);
        int count = b.getInt();
        PageDecoder decoder = new PageDecoder();
        for (int i = 0; i < count; i++) {
            long token = b.getLong();
            int status = b.getInt();
            if (status == 0) {
                int length = b.getInt();
                int end = b.position() + length;
                List<Event> events = new ArrayList<>();
                decoder.decode(batch, b.position(), events::add);
                if (decoder.end != end) {
                    throw new IllegalStateException("malformed subscription batch from the native library");
                }
                b.position(end);
                sink.accept(token, events, null);
            } else {
                int n = b.getInt();
                String message = new String(batch, b.position(), n, StandardCharsets.UTF_8);
                b.position(b.position() + n);
                sink.accept(token, null, new Result(status, 0, 0, message).error(null));
            }
        }
    }

    /** "Snapshot to save": the persistence id, then a "Snapshot". */
    static byte[] encodeSnapshot(Snapshot s) {
        byte[] pid = utf8(s.persistenceId());
        byte[] manifest = utf8(s.manifest());
        ByteBuffer b = ByteBuffer.allocate(4 + pid.length + 16 + 4 + manifest.length + 4 + s.metadata().length + 4 + s.state().length)
                .order(ByteOrder.LITTLE_ENDIAN);
        put(b, pid);
        b.putLong(s.sequenceNr()).putLong(s.timestamp());
        put(b, manifest);
        put(b, s.metadata());
        put(b, s.state());
        return b.array();
    }

    /** "Snapshot". */
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
