/* Tests of the Tidemark C ABI: every function and every error path, on all three backends.
 * Run under valgrind by build.sh (test-c); prints "C ABI tests: N checks, F failed". */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "tidemark.h"
#include "encode.h"

static int checks = 0, failures = 0;
#define CHECK(cond) do { checks++; if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define EXPECT(status, expr) do { int32_t s_ = (expr); checks++; if (s_ != (status)) { failures++; tm_error e_; tm_last_error(&e_); \
  fprintf(stderr, "FAIL %s:%d: %s returned %s, expected %s (%.*s)\n", __FILE__, __LINE__, #expr, tm_status_name(s_), tm_status_name(status), \
  (int)e_.message_len, (const char *)e_.message); } } while (0)
#define S(str) (const uint8_t *)(str), strlen(str)

static char root[256];

static int32_t last_code(void) { tm_error e; tm_last_error(&e); return e.code; }

static void open_journal(const char *name, uint32_t backend, tm_journal **j) {
  char path[512]; snprintf(path, sizeof path, "%s/%s", root, name);
  tm_options o; EXPECT(TM_OK, tm_options_init(&o));
  o.backend = backend; o.sync = TM_SYNC_NEVER;
  EXPECT(TM_OK, tm_journal_open(S(path), &o, j));
}

static tm_enc one_event(const char *payload) {
  tm_enc e = {0}; enc_u32(&e, 1); enc_event(&e, TM_TIMESTAMP_NOW, "", "", "", NULL, payload); return e;
}

static void test_info(void) {
  CHECK(tm_abi_version() == TM_ABI_VERSION);
  CHECK(strlen(tm_version()) > 0);
  int codes[] = {TM_OK, TM_CLOSED, TM_LOCKED, TM_SEQUENCE_CONFLICT, TM_INVALID_ARGUMENT, TM_CORRUPT, TM_UNSUPPORTED_FORMAT,
                 TM_STORAGE_FULL, TM_IO, TM_FAILED, TM_INVALID_HANDLE, TM_INTERNAL};
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) CHECK(strcmp(tm_status_name(codes[i]), "UNKNOWN") != 0);
  CHECK(strcmp(tm_status_name(TM_SEQUENCE_CONFLICT), "SEQUENCE_CONFLICT") == 0);
  CHECK(strcmp(tm_status_name(12345), "UNKNOWN") == 0);
  EXPECT(TM_INVALID_ARGUMENT, tm_last_error(NULL));
  int32_t statuses[32]; size_t nstat = 0;
  EXPECT(TM_OK, tm_error_statuses(statuses, 32, &nstat));
  CHECK(nstat == 9);
  for (size_t i = 0; i < nstat; i++) CHECK(statuses[i] != TM_OK && strcmp(tm_status_name(statuses[i]), "UNKNOWN") != 0);
  EXPECT(TM_INVALID_ARGUMENT, tm_error_statuses(statuses, 2, &nstat));
  CHECK(nstat == 9);
  EXPECT(TM_INVALID_ARGUMENT, tm_error_statuses(statuses, 32, NULL));
  EXPECT(TM_INVALID_ARGUMENT, tm_options_init(NULL));
  EXPECT(TM_INVALID_ARGUMENT, tm_snapshot_criteria_init(NULL));
}

static void test_open_errors(void) {
  tm_journal *j = (tm_journal *)1;
  tm_options o; tm_options_init(&o);
  char path[512]; snprintf(path, sizeof path, "%s/open-errors", root);
  o.struct_size = 8;
  EXPECT(TM_INVALID_ARGUMENT, tm_journal_open(S(path), &o, &j));
  CHECK(j == NULL);
  tm_options_init(&o); o.backend = 99;
  EXPECT(TM_INVALID_ARGUMENT, tm_journal_open(S(path), &o, &j));
  tm_options_init(&o); o.sync = 99;
  EXPECT(TM_INVALID_ARGUMENT, tm_journal_open(S(path), &o, &j));
  tm_options_init(&o); o.max_batch_events = 0;
  EXPECT(TM_INVALID_ARGUMENT, tm_journal_open(S(path), &o, &j));
  tm_error err; tm_last_error(&err);
  CHECK(err.code == TM_INVALID_ARGUMENT && err.message_len > 0);
  EXPECT(TM_INVALID_ARGUMENT, tm_journal_open(S(path), NULL, NULL));
  const uint8_t bad_utf8[] = {0xff, 0xfe, 0x2f};
  EXPECT(TM_INVALID_ARGUMENT, tm_journal_open(bad_utf8, 3, NULL, &j));
  EXPECT(TM_INVALID_ARGUMENT, tm_journal_open(NULL, 5, NULL, &j));
  /* A regular file where the directory should be: an I/O error. */
  char file[512]; snprintf(file, sizeof file, "%s/plain-file", root);
  FILE *f = fopen(file, "w"); fputs("x", f); fclose(f);
  EXPECT(TM_IO, tm_journal_open(S(file), NULL, &j));
  /* A FORMAT file from the future, and a malformed one. */
  char dir[512], fmt[600];
  snprintf(dir, sizeof dir, "%s/future", root); mkdir(dir, 0755);
  snprintf(fmt, sizeof fmt, "%s/FORMAT", dir); f = fopen(fmt, "w"); fputs("backend=lmdb\nformat=999\n", f); fclose(f);
  EXPECT(TM_UNSUPPORTED_FORMAT, tm_journal_open(S(dir), NULL, &j));
  snprintf(dir, sizeof dir, "%s/garbled", root); mkdir(dir, 0755);
  snprintf(fmt, sizeof fmt, "%s/FORMAT", dir); f = fopen(fmt, "w"); fputs("nonsense\n", f); fclose(f);
  EXPECT(TM_CORRUPT, tm_journal_open(S(dir), NULL, &j));
}

static void test_null_handles(void) {
  tm_journal *bogus = (tm_journal *)0x7777;
  tm_buffer *buf = NULL; uint64_t n; tm_receipt r; tm_metrics m; uint32_t d;
  tm_enc ev = one_event("x");
  tm_journal *handles[] = {NULL, bogus};
  for (int i = 0; i < 2; i++) {
    tm_journal *h = handles[i];
    EXPECT(TM_INVALID_HANDLE, tm_journal_close(h));
    EXPECT(TM_INVALID_HANDLE, tm_journal_free(h));
    EXPECT(TM_INVALID_HANDLE, tm_append(h, S("p"), ev.data, ev.len, &r));
    CHECK(last_code() == TM_INVALID_HANDLE);
    EXPECT(TM_INVALID_HANDLE, tm_write(h, ev.data, ev.len, &buf));
    CHECK(buf == NULL);
    EXPECT(TM_INVALID_HANDLE, tm_delete_to(h, S("p"), 1));
    EXPECT(TM_INVALID_HANDLE, tm_flush(h));
    EXPECT(TM_INVALID_HANDLE, tm_highest_sequence_nr(h, S("p"), &n));
    EXPECT(TM_INVALID_HANDLE, tm_next_global_offset(h, &n));
    EXPECT(TM_INVALID_HANDLE, tm_journal_check_options(h, NULL));
    EXPECT(TM_INVALID_HANDLE, tm_read(h, S("p"), 1, 10, 10, &buf));
    EXPECT(TM_INVALID_HANDLE, tm_events_by_tag(h, S("t"), 0, 10, &buf));
    EXPECT(TM_INVALID_HANDLE, tm_all_events(h, 0, 10, &buf));
    EXPECT(TM_INVALID_HANDLE, tm_persistence_ids(h, &buf));
    EXPECT(TM_INVALID_HANDLE, tm_metrics_get(h, &m));
    EXPECT(TM_INVALID_HANDLE, tm_metrics_prometheus(h, &buf));
    EXPECT(TM_INVALID_HANDLE, tm_snapshot_save(h, S("p"), 1, 0, NULL, 0, NULL, 0, NULL, 0));
    EXPECT(TM_INVALID_HANDLE, tm_snapshot_load(h, S("p"), NULL, &buf));
    EXPECT(TM_INVALID_HANDLE, tm_snapshot_list(h, S("p"), &buf));
    EXPECT(TM_INVALID_HANDLE, tm_snapshot_delete(h, S("p"), 1, &d));
    EXPECT(TM_INVALID_HANDLE, tm_snapshot_delete_matching(h, S("p"), NULL, &n));
    EXPECT(TM_INVALID_HANDLE, tm_snapshot_prune(h, S("p"), 1, &n));
    EXPECT(TM_INVALID_HANDLE, tm_snapshot_persistence_ids(h, &buf));
    tm_queue *q; EXPECT(TM_OK, tm_queue_new(&q));
    EXPECT(TM_INVALID_HANDLE, tm_append_async(h, q, 1, S("p"), ev.data, ev.len));
    EXPECT(TM_INVALID_HANDLE, tm_write_async(h, q, 1, ev.data, ev.len));
    EXPECT(TM_INVALID_HANDLE, tm_delete_to_async(h, q, 1, S("p"), 1));
    EXPECT(TM_INVALID_HANDLE, tm_flush_async(h, q, 1));
    EXPECT(TM_OK, tm_queue_free(q));
  }
  tm_queue *qs[] = {NULL, (tm_queue *)0x9999};
  tm_completion c[4]; size_t count = 7;
  for (int i = 0; i < 2; i++) {
    EXPECT(TM_INVALID_HANDLE, tm_queue_wait(qs[i], c, 4, 0, &count));
    CHECK(count == 0);
    EXPECT(TM_INVALID_HANDLE, tm_queue_shutdown(qs[i]));
    EXPECT(TM_INVALID_HANDLE, tm_queue_free(qs[i]));
  }
  EXPECT(TM_INVALID_HANDLE, tm_buffer_free(NULL));
  tm_buffer fake = {0};
  EXPECT(TM_INVALID_HANDLE, tm_buffer_free(&fake));
  enc_free(&ev);
}

static uint32_t page_count(tm_buffer *b) { return rd_u32(b->data); }

static void test_backend(const char *name, uint32_t backend) {
  tm_journal *j = NULL;
  open_journal(name, backend, &j);
  CHECK(j != NULL);
  tm_receipt r;

  /* append: two events in one atomic write */
  tm_enc ev = {0};
  const char *tags[] = {"green", "blue", NULL};
  enc_u32(&ev, 2);
  enc_event(&ev, 1700000000123ULL, "Added", "writer-1", "\x01\x02", tags, "payload-1");
  enc_event(&ev, TM_TIMESTAMP_NOW, "", "", "", NULL, "payload-2");
  EXPECT(TM_OK, tm_append(j, S("stream-a"), ev.data, ev.len, &r));
  CHECK(r.first_sequence_nr == 1 && r.last_sequence_nr == 2);
  EXPECT(TM_OK, tm_append(j, S("stream-a"), ev.data, ev.len, NULL));
  enc_free(&ev);

  /* append error paths */
  tm_enc one = one_event("x");
  const uint8_t bad_utf8[] = {'a', 0xc3, 0x28};
  EXPECT(TM_INVALID_ARGUMENT, tm_append(j, bad_utf8, 3, one.data, one.len, &r));
  EXPECT(TM_INVALID_ARGUMENT, tm_append(j, S(""), one.data, one.len, &r));
  EXPECT(TM_INVALID_ARGUMENT, tm_append(j, S("p"), one.data, one.len - 1, &r)); /* truncated */
  uint8_t zero[4] = {0};
  EXPECT(TM_INVALID_ARGUMENT, tm_append(j, S("p"), zero, 4, &r)); /* no events */
  uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
  EXPECT(TM_INVALID_ARGUMENT, tm_append(j, S("p"), huge, 4, &r)); /* absurd count */
  tm_enc trailing = one_event("x"); enc_u32(&trailing, 7);
  EXPECT(TM_INVALID_ARGUMENT, tm_append(j, S("p"), trailing.data, trailing.len, &r));
  enc_free(&trailing);
  tm_enc badtag = {0}; enc_u32(&badtag, 1); enc_u64(&badtag, 0); enc_str(&badtag, ""); enc_str(&badtag, ""); enc_str(&badtag, "");
  enc_u32(&badtag, 1); enc_blob(&badtag, "\xff", 1); enc_str(&badtag, "p");
  EXPECT(TM_INVALID_ARGUMENT, tm_append(j, S("p"), badtag.data, badtag.len, &r));
  enc_free(&badtag);
  EXPECT(TM_INVALID_ARGUMENT, tm_append(j, S("p"), NULL, 10, &r));

  /* next global offset: stream-a's four events took offsets 1..4 */
  uint64_t next_offset = 0;
  EXPECT(TM_OK, tm_next_global_offset(j, &next_offset));
  CHECK(next_offset == 5);
  EXPECT(TM_INVALID_ARGUMENT, tm_next_global_offset(j, NULL));

  /* check_options: the journal was opened with sync never (open_journal) */
  tm_options same; tm_options_init(&same); same.backend = backend; same.sync = TM_SYNC_NEVER;
  EXPECT(TM_OK, tm_journal_check_options(j, &same));
  same.sync = TM_SYNC_ALWAYS;
  EXPECT(TM_INVALID_ARGUMENT, tm_journal_check_options(j, &same));
  tm_error differs; tm_last_error(&differs);
  CHECK(differs.message_len > 0 && memmem(differs.message, differs.message_len, "sync = never, not always", 24) != NULL);
  EXPECT(TM_INVALID_ARGUMENT, tm_journal_check_options(j, NULL)); /* the defaults sync always */

  /* highest sequence nr */
  uint64_t hi = 0;
  EXPECT(TM_OK, tm_highest_sequence_nr(j, S("stream-a"), &hi));
  CHECK(hi == 4);
  EXPECT(TM_OK, tm_highest_sequence_nr(j, S("nobody"), &hi));
  CHECK(hi == 0);
  EXPECT(TM_INVALID_ARGUMENT, tm_highest_sequence_nr(j, S("stream-a"), NULL));
  EXPECT(TM_INVALID_ARGUMENT, tm_highest_sequence_nr(j, bad_utf8, 3, &hi));

  /* read a page and decode every field */
  tm_buffer *page = NULL;
  EXPECT(TM_OK, tm_read(j, S("stream-a"), 1, UINT64_MAX, 100, &page));
  CHECK(page != NULL && page_count(page) == 4);
  size_t pos = 4; tm_event_view v;
  EXPECT(TM_OK, tm_event_next(page->data, page->len, &pos, &v));
  CHECK(v.sequence_nr == 1 && v.timestamp == 1700000000123ULL);
  CHECK(v.persistence_id_len == 8 && memcmp(v.persistence_id, "stream-a", 8) == 0);
  CHECK(v.manifest_len == 5 && memcmp(v.manifest, "Added", 5) == 0);
  CHECK(v.writer_id_len == 8 && memcmp(v.writer_id, "writer-1", 8) == 0);
  CHECK(v.metadata_len == 2 && v.metadata[0] == 1 && v.metadata[1] == 2);
  CHECK(v.tag_count == 2 && rd_u32(v.tags) == 5 && memcmp(v.tags + 4, "green", 5) == 0);
  CHECK(v.payload_len == 9 && memcmp(v.payload, "payload-1", 9) == 0);
  uint64_t first_offset = v.global_offset;
  EXPECT(TM_OK, tm_event_next(page->data, page->len, &pos, &v));
  CHECK(v.sequence_nr == 2 && v.global_offset == first_offset + 1 && v.timestamp > 1700000000123ULL && v.tag_count == 0);
  EXPECT(TM_OK, tm_event_next(page->data, page->len, &pos, &v));
  EXPECT(TM_OK, tm_event_next(page->data, page->len, &pos, &v));
  CHECK(pos == page->len);
  EXPECT(TM_INVALID_ARGUMENT, tm_event_next(page->data, page->len, &pos, &v)); /* exhausted */
  size_t far = page->len + 10;
  EXPECT(TM_INVALID_ARGUMENT, tm_event_next(page->data, page->len, &far, &v));
  EXPECT(TM_INVALID_ARGUMENT, tm_event_next(page->data, page->len, NULL, &v));
  pos = 4;
  EXPECT(TM_INVALID_ARGUMENT, tm_event_next(page->data, page->len, &pos, NULL));
  EXPECT(TM_INVALID_ARGUMENT, tm_event_next(page->data, 20, &pos, &v)); /* truncated */
  EXPECT(TM_OK, tm_buffer_free(page));
  EXPECT(TM_INVALID_HANDLE, tm_buffer_free(page)); /* freed twice: refused */
  EXPECT(TM_OK, tm_read(j, S("stream-a"), 2, 3, 100, &page));
  CHECK(page_count(page) == 2);
  tm_buffer_free(page);
  EXPECT(TM_OK, tm_read(j, S("stream-a"), 1, 100, 1, &page));
  CHECK(page_count(page) == 1);
  tm_buffer_free(page);
  EXPECT(TM_INVALID_ARGUMENT, tm_read(j, S("stream-a"), 1, 100, 1, NULL));
  EXPECT(TM_INVALID_ARGUMENT, tm_read(j, bad_utf8, 3, 1, 100, 1, &page));
  CHECK(page == NULL);

  /* explicit atomic writes: one ok, one conflicting, one invalid */
  tm_enc w = {0};
  enc_u32(&w, 3);
  enc_str(&w, "stream-b"); enc_u64(&w, 1); enc_u32(&w, 1); enc_event(&w, TM_TIMESTAMP_NOW, "", "", "", tags, "b1");
  enc_str(&w, "stream-a"); enc_u64(&w, 2); enc_u32(&w, 1); enc_event(&w, TM_TIMESTAMP_NOW, "", "", "", NULL, "stale");
  enc_str(&w, "stream-c"); enc_u64(&w, 0); enc_u32(&w, 1); enc_event(&w, TM_TIMESTAMP_NOW, "", "", "", NULL, "zero");
  tm_buffer *results = NULL;
  EXPECT(TM_OK, tm_write(j, w.data, w.len, &results));
  CHECK(results && rd_u32(results->data) == 3);
  if (results) {
    const uint8_t *p = results->data + 4;
    CHECK((int32_t)rd_u32(p) == TM_OK && rd_u64(p + 8) == 1 && rd_u64(p + 16) == 1);
    p += 32 + rd_u32(p + 4);
    CHECK((int32_t)rd_u32(p) == TM_SEQUENCE_CONFLICT && rd_u64(p + 8) == 5 && rd_u64(p + 16) == 2 && rd_u32(p + 4) > 0);
    p += 32 + rd_u32(p + 4);
    CHECK((int32_t)rd_u32(p) == TM_INVALID_ARGUMENT);
    p += 32 + rd_u32(p + 4);
    CHECK(p == results->data + results->len);
    tm_buffer_free(results);
  }
  EXPECT(TM_INVALID_ARGUMENT, tm_write(j, w.data, w.len - 3, &results));
  EXPECT(TM_INVALID_ARGUMENT, tm_write(j, w.data, w.len, NULL));
  enc_free(&w);

  /* tags, all events, persistence ids */
  EXPECT(TM_OK, tm_events_by_tag(j, S("green"), 0, 100, &page));
  CHECK(page_count(page) == 3); /* two appends of stream-a + stream-b */
  tm_buffer_free(page);
  EXPECT(TM_OK, tm_events_by_tag(j, S("green"), first_offset + 1, 100, &page));
  CHECK(page_count(page) == 2);
  tm_buffer_free(page);
  EXPECT(TM_INVALID_ARGUMENT, tm_events_by_tag(j, S(""), 0, 100, &page));
  EXPECT(TM_INVALID_ARGUMENT, tm_events_by_tag(j, bad_utf8, 3, 0, 100, &page));
  EXPECT(TM_OK, tm_all_events(j, 0, 100, &page));
  CHECK(page_count(page) == 5);
  tm_buffer_free(page);
  EXPECT(TM_INVALID_ARGUMENT, tm_all_events(j, 0, 100, NULL));
  tm_buffer *ids = NULL;
  EXPECT(TM_OK, tm_persistence_ids(j, &ids));
  CHECK(rd_u32(ids->data) == 2 && rd_u32(ids->data + 4) == 8 && memcmp(ids->data + 8, "stream-a", 8) == 0);
  tm_buffer_free(ids);

  /* delete keeps the highest sequence number */
  EXPECT(TM_OK, tm_delete_to(j, S("stream-a"), 3));
  EXPECT(TM_OK, tm_read(j, S("stream-a"), 1, UINT64_MAX, 100, &page));
  CHECK(page_count(page) == 1);
  tm_buffer_free(page);
  EXPECT(TM_OK, tm_highest_sequence_nr(j, S("stream-a"), &hi));
  CHECK(hi == 4);
  EXPECT(TM_INVALID_ARGUMENT, tm_delete_to(j, bad_utf8, 3, 1));
  EXPECT(TM_OK, tm_flush(j));

  /* metrics */
  tm_metrics m;
  EXPECT(TM_OK, tm_metrics_get(j, &m));
  CHECK(m.events == 5 && m.sequence_conflicts == 1);
  EXPECT(TM_INVALID_ARGUMENT, tm_metrics_get(j, NULL));
  tm_buffer *text = NULL;
  EXPECT(TM_OK, tm_metrics_prometheus(j, &text));
  CHECK(text->len > 0 && memmem(text->data, text->len, "events", 6) != NULL);
  tm_buffer_free(text);

  /* snapshots */
  EXPECT(TM_OK, tm_snapshot_save(j, S("stream-a"), 2, 1000, S("State"), (const uint8_t *)"\x09", 1, S("state-2")));
  EXPECT(TM_OK, tm_snapshot_save(j, S("stream-a"), 4, 2000, S("State"), NULL, 0, S("state-4")));
  EXPECT(TM_OK, tm_snapshot_save(j, S("stream-b"), 1, 3000, NULL, 0, NULL, 0, NULL, 0));
  EXPECT(TM_INVALID_ARGUMENT, tm_snapshot_save(j, bad_utf8, 3, 1, 0, NULL, 0, NULL, 0, NULL, 0));
  EXPECT(TM_INVALID_ARGUMENT, tm_snapshot_save(j, S("stream-a"), 1, 0, bad_utf8, 3, NULL, 0, NULL, 0));
  tm_buffer *snap = NULL;
  EXPECT(TM_OK, tm_snapshot_load(j, S("stream-a"), NULL, &snap));
  CHECK(snap && rd_u64(snap->data) == 4 && rd_u64(snap->data + 8) == 2000);
  tm_buffer_free(snap);
  tm_snapshot_criteria c; EXPECT(TM_OK, tm_snapshot_criteria_init(&c));
  c.max_sequence_nr = 3;
  EXPECT(TM_OK, tm_snapshot_load(j, S("stream-a"), &c, &snap));
  CHECK(snap && rd_u64(snap->data) == 2);
  if (snap) { /* manifest, metadata, state */
    const uint8_t *p = snap->data + 16;
    CHECK(rd_u32(p) == 5 && memcmp(p + 4, "State", 5) == 0); p += 9;
    CHECK(rd_u32(p) == 1 && p[4] == 9); p += 5;
    CHECK(rd_u32(p) == 7 && memcmp(p + 4, "state-2", 7) == 0);
    tm_buffer_free(snap);
  }
  tm_snapshot_criteria_init(&c); c.max_timestamp = 999;
  EXPECT(TM_OK, tm_snapshot_load(j, S("stream-a"), &c, &snap));
  CHECK(snap == NULL);
  tm_snapshot_criteria_init(&c); c.min_timestamp = 1500;
  EXPECT(TM_OK, tm_snapshot_load(j, S("stream-a"), &c, &snap));
  CHECK(snap && rd_u64(snap->data) == 4);
  tm_buffer_free(snap);
  EXPECT(TM_INVALID_ARGUMENT, tm_snapshot_load(j, S(""), NULL, &snap));
  EXPECT(TM_INVALID_ARGUMENT, tm_snapshot_load(j, S("stream-a"), NULL, NULL));
  tm_buffer *list = NULL;
  EXPECT(TM_OK, tm_snapshot_list(j, S("stream-a"), &list));
  CHECK(rd_u32(list->data) == 2 && rd_u64(list->data + 4) == 2 && rd_u64(list->data + 20) == 4);
  tm_buffer_free(list);
  EXPECT(TM_INVALID_ARGUMENT, tm_snapshot_list(j, bad_utf8, 3, &list));
  EXPECT(TM_OK, tm_snapshot_persistence_ids(j, &ids));
  CHECK(rd_u32(ids->data) == 2);
  tm_buffer_free(ids);
  uint32_t deleted = 9;
  EXPECT(TM_OK, tm_snapshot_delete(j, S("stream-a"), 3, &deleted));
  CHECK(deleted == 0);
  EXPECT(TM_OK, tm_snapshot_delete(j, S("stream-a"), 4, &deleted));
  CHECK(deleted == 1);
  EXPECT(TM_INVALID_ARGUMENT, tm_snapshot_delete(j, bad_utf8, 3, 4, &deleted));
  EXPECT(TM_OK, tm_snapshot_save(j, S("stream-a"), 3, 1500, NULL, 0, NULL, 0, S("s3")));
  EXPECT(TM_OK, tm_snapshot_save(j, S("stream-a"), 4, 1600, NULL, 0, NULL, 0, S("s4")));
  uint64_t pruned = 0;
  EXPECT(TM_OK, tm_snapshot_prune(j, S("stream-a"), 2, &pruned));
  CHECK(pruned == 1);
  EXPECT(TM_INVALID_ARGUMENT, tm_snapshot_prune(j, bad_utf8, 3, 2, &pruned));
  tm_snapshot_criteria_init(&c); c.max_sequence_nr = 3;
  uint64_t removed = 0;
  EXPECT(TM_OK, tm_snapshot_delete_matching(j, S("stream-a"), &c, &removed));
  CHECK(removed == 1);
  EXPECT(TM_OK, tm_snapshot_delete_matching(j, S("stream-b"), NULL, NULL));
  EXPECT(TM_INVALID_ARGUMENT, tm_snapshot_delete_matching(j, bad_utf8, 3, NULL, NULL));
  EXPECT(TM_OK, tm_snapshot_list(j, S("stream-b"), &list));
  CHECK(rd_u32(list->data) == 0);
  tm_buffer_free(list);

  /* asynchronous operations through a completion queue */
  tm_queue *q = NULL;
  EXPECT(TM_OK, tm_queue_new(&q));
  EXPECT(TM_INVALID_ARGUMENT, tm_queue_new(NULL));
  tm_completion done[64]; size_t got = 99;
  EXPECT(TM_OK, tm_queue_wait(q, done, 64, 0, &got)); /* nothing yet: timeout */
  CHECK(got == 0);
  EXPECT(TM_OK, tm_queue_wait(q, done, 64, 20, &got));
  CHECK(got == 0);
  EXPECT(TM_INVALID_ARGUMENT, tm_queue_wait(q, NULL, 64, 0, &got));
  EXPECT(TM_INVALID_ARGUMENT, tm_queue_wait(q, done, 0, 0, &got));
  EXPECT(TM_INVALID_ARGUMENT, tm_queue_wait(q, done, 64, 0, NULL));
  for (uint64_t t = 1; t <= 20; t++) EXPECT(TM_OK, tm_append_async(j, q, t, S("async"), one.data, one.len));
  EXPECT(TM_OK, tm_append_async(j, q, 21, S(""), one.data, one.len)); /* fails through the queue */
  tm_enc cw = {0}; enc_u32(&cw, 2);
  enc_str(&cw, "async"); enc_u64(&cw, 1); enc_u32(&cw, 1); enc_event(&cw, TM_TIMESTAMP_NOW, "", "", "", NULL, "conflict");
  enc_str(&cw, "async-2"); enc_u64(&cw, 1); enc_u32(&cw, 1); enc_event(&cw, TM_TIMESTAMP_NOW, "", "", "", NULL, "ok");
  EXPECT(TM_OK, tm_write_async(j, q, 22, cw.data, cw.len));
  EXPECT(TM_OK, tm_delete_to_async(j, q, 23, S("async"), 5));
  EXPECT(TM_OK, tm_flush_async(j, q, 24));
  EXPECT(TM_INVALID_ARGUMENT, tm_append_async(j, q, 99, bad_utf8, 3, one.data, one.len));
  EXPECT(TM_INVALID_ARGUMENT, tm_append_async(j, q, 99, S("async"), one.data, 3));
  EXPECT(TM_INVALID_ARGUMENT, tm_write_async(j, q, 99, cw.data, 3));
  EXPECT(TM_INVALID_ARGUMENT, tm_delete_to_async(j, q, 99, bad_utf8, 3, 1));
  EXPECT(TM_INVALID_HANDLE, tm_append_async(j, NULL, 99, S("async"), one.data, one.len));
  EXPECT(TM_INVALID_HANDLE, tm_flush_async(j, (tm_queue *)0x4242, 99));
  enc_free(&cw);
  int seen[25] = {0}; size_t total = 0;
  while (total < 24) {
    EXPECT(TM_OK, tm_queue_wait(q, done, 5, -1, &got));
    CHECK(got >= 1 && got <= 5);
    for (size_t i = 0; i < got; i++) {
      tm_completion *d = &done[i];
      CHECK(d->token >= 1 && d->token <= 24 && !seen[d->token]);
      seen[d->token]++;
      if (d->token <= 20) {
        CHECK(d->status == TM_OK && d->buffer == NULL && d->receipt.first_sequence_nr >= 1 && d->receipt.first_sequence_nr <= 20);
      } else if (d->token == 21) {
        CHECK(d->status == TM_INVALID_ARGUMENT && d->buffer && d->buffer->len > 0);
      } else if (d->token == 22) {
        CHECK(d->status == TM_OK && d->buffer && rd_u32(d->buffer->data) == 2);
        if (d->buffer) {
          const uint8_t *p = d->buffer->data + 4;
          CHECK((int32_t)rd_u32(p) == TM_SEQUENCE_CONFLICT && rd_u64(p + 8) == 21 && rd_u64(p + 16) == 1);
          p += 32 + rd_u32(p + 4);
          CHECK((int32_t)rd_u32(p) == TM_OK);
        }
      } else {
        CHECK(d->status == TM_OK && d->buffer == NULL);
      }
      if (d->buffer) EXPECT(TM_OK, tm_buffer_free(d->buffer));
    }
    total += got;
  }
  EXPECT(TM_OK, tm_read(j, S("async"), 1, UINT64_MAX, 100, &page));
  CHECK(page_count(page) == 15); /* 20 appended, 5 deleted */
  tm_buffer_free(page);

  /* a second writer is locked out (persistent backends) */
  if (backend != TM_BACKEND_MEMORY) {
    tm_journal *second = NULL;
    char path[512]; snprintf(path, sizeof path, "%s/%s", root, name);
    tm_options o; tm_options_init(&o); o.backend = backend;
    EXPECT(TM_LOCKED, tm_journal_open(S(path), &o, &second));
    CHECK(second == NULL);
  }

  /* use after close: TM_CLOSED everywhere, also through the queue */
  EXPECT(TM_OK, tm_journal_close(j));
  EXPECT(TM_OK, tm_journal_close(j)); /* idempotent */
  EXPECT(TM_CLOSED, tm_append(j, S("stream-a"), one.data, one.len, &r));
  tm_error err; tm_last_error(&err);
  CHECK(err.code == TM_CLOSED && err.message_len > 0);
  EXPECT(TM_INVALID_ARGUMENT, tm_write(j, one.data, 0, &results)); /* an empty buffer is malformed */
  EXPECT(TM_CLOSED, tm_delete_to(j, S("stream-a"), 1));
  EXPECT(TM_CLOSED, tm_flush(j));
  EXPECT(TM_CLOSED, tm_highest_sequence_nr(j, S("stream-a"), &hi));
  EXPECT(TM_CLOSED, tm_read(j, S("stream-a"), 1, 10, 10, &page));
  EXPECT(TM_CLOSED, tm_events_by_tag(j, S("green"), 0, 10, &page));
  EXPECT(TM_CLOSED, tm_all_events(j, 0, 10, &page));
  EXPECT(TM_CLOSED, tm_persistence_ids(j, &ids));
  EXPECT(TM_CLOSED, tm_snapshot_save(j, S("stream-a"), 9, 0, NULL, 0, NULL, 0, NULL, 0));
  EXPECT(TM_CLOSED, tm_snapshot_load(j, S("stream-a"), NULL, &snap));
  EXPECT(TM_CLOSED, tm_snapshot_list(j, S("stream-a"), &list));
  EXPECT(TM_CLOSED, tm_snapshot_delete(j, S("stream-a"), 1, NULL));
  EXPECT(TM_CLOSED, tm_snapshot_delete_matching(j, S("stream-a"), NULL, NULL));
  EXPECT(TM_CLOSED, tm_snapshot_prune(j, S("stream-a"), 1, NULL));
  EXPECT(TM_CLOSED, tm_snapshot_persistence_ids(j, &ids));
  EXPECT(TM_OK, tm_metrics_get(j, &m)); /* metrics stay readable */
  EXPECT(TM_OK, tm_append_async(j, q, 30, S("async"), one.data, one.len));
  EXPECT(TM_OK, tm_flush_async(j, q, 31));
  EXPECT(TM_OK, tm_delete_to_async(j, q, 32, S("async"), 1));
  tm_enc w2 = {0}; enc_u32(&w2, 1); enc_str(&w2, "async"); enc_u64(&w2, 21); enc_u32(&w2, 1);
  enc_event(&w2, TM_TIMESTAMP_NOW, "", "", "", NULL, "late");
  EXPECT(TM_OK, tm_write_async(j, q, 33, w2.data, w2.len));
  EXPECT(TM_OK, tm_write(j, w2.data, w2.len, &results));
  CHECK((int32_t)rd_u32(results->data + 4) == TM_CLOSED);
  tm_buffer_free(results);
  enc_free(&w2);
  total = 0;
  while (total < 4) {
    EXPECT(TM_OK, tm_queue_wait(q, done, 64, -1, &got));
    for (size_t i = 0; i < got; i++) {
      if (done[i].token == 33) {
        CHECK(done[i].status == TM_OK && (int32_t)rd_u32(done[i].buffer->data + 4) == TM_CLOSED);
      } else {
        CHECK(done[i].status == TM_CLOSED);
      }
      if (done[i].buffer) tm_buffer_free(done[i].buffer);
    }
    total += got;
  }

  /* shut the queue down: pending completions are still delivered, then TM_CLOSED */
  EXPECT(TM_OK, tm_queue_shutdown(q));
  EXPECT(TM_CLOSED, tm_queue_wait(q, done, 64, -1, &got));
  CHECK(got == 0);
  EXPECT(TM_OK, tm_queue_free(q));
  EXPECT(TM_INVALID_HANDLE, tm_queue_free(q));
  EXPECT(TM_INVALID_HANDLE, tm_queue_wait(q, done, 64, 0, &got));

  /* free, then every use is refused */
  EXPECT(TM_OK, tm_journal_free(j));
  EXPECT(TM_INVALID_HANDLE, tm_journal_free(j));
  EXPECT(TM_INVALID_HANDLE, tm_journal_close(j));
  EXPECT(TM_INVALID_HANDLE, tm_append(j, S("stream-a"), one.data, one.len, &r));

  /* reopen: persistent backends kept everything */
  if (backend != TM_BACKEND_MEMORY) {
    open_journal(name, backend, &j);
    EXPECT(TM_OK, tm_highest_sequence_nr(j, S("stream-a"), &hi));
    CHECK(hi == 4);
    EXPECT(TM_OK, tm_read(j, S("async"), 1, UINT64_MAX, 100, &page));
    CHECK(page_count(page) == 15);
    tm_buffer_free(page);
    EXPECT(TM_OK, tm_snapshot_load(j, S("stream-a"), NULL, &snap));
    CHECK(snap && rd_u64(snap->data) == 4);
    if (snap) tm_buffer_free(snap);
    EXPECT(TM_OK, tm_journal_free(j));
  }
  enc_free(&one);
}

/* Freeing a queue with undelivered completions frees their buffers too (valgrind checks). */
static void test_queue_free_with_pending(void) {
  tm_journal *j; open_journal("pending", TM_BACKEND_MEMORY, &j);
  tm_queue *q; tm_queue_new(&q);
  EXPECT(TM_OK, tm_append_async(j, q, 1, S(""), (const uint8_t *)"\0\0\0\0", 4)); /* error completion with a message */
  EXPECT(TM_OK, tm_flush_async(j, q, 2));
  tm_flush(j);
  EXPECT(TM_OK, tm_queue_free(q));
  EXPECT(TM_OK, tm_journal_free(j));
}

int main(void) {
  snprintf(root, sizeof root, "/tmp/tidemark-c-test-%d", (int)getpid());
  mkdir(root, 0755);
  test_info();
  test_open_errors();
  test_null_handles();
  test_backend("lmdb", TM_BACKEND_LMDB);
  test_backend("files", TM_BACKEND_FILES);
  test_backend("memory", TM_BACKEND_MEMORY);
  test_queue_free_with_pending();
  char cmd[300]; snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
  printf("C ABI tests: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
