/* Tests of the Tidelog C ABI: every function and every error path, on all three backends.
 * Run under valgrind by build.sh (test-c); prints "C ABI tests: N checks, F failed". */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "tidelog.h"
#include "encode.h"

static int checks = 0, failures = 0;
#define CHECK(cond) do { checks++; if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define EXPECT(status, expr) do { int32_t s_ = (expr); checks++; if (s_ != (status)) { failures++; tidelog_error e_; tidelog_last_error(&e_); \
  fprintf(stderr, "FAIL %s:%d: %s returned %s, expected %s (%.*s)\n", __FILE__, __LINE__, #expr, tidelog_status_name(s_), tidelog_status_name(status), \
  (int)e_.message_len, (const char *)e_.message); } } while (0)
#define S(str) (const uint8_t *)(str), strlen(str)

static char root[256];

static int32_t last_code(void) { tidelog_error e; tidelog_last_error(&e); return e.code; }

static void open_journal(const char *name, uint32_t backend, tidelog_journal **j) {
  char path[512]; snprintf(path, sizeof path, "%s/%s", root, name);
  tidelog_options o; EXPECT(TIDELOG_OK, tidelog_options_init(&o));
  o.backend = backend; o.sync = TIDELOG_SYNC_NEVER;
  EXPECT(TIDELOG_OK, tidelog_journal_open(S(path), &o, j));
}

static enc_buf one_event(const char *payload) {
  enc_buf e = {0}; enc_u32(&e, 1); enc_event(&e, TIDELOG_TIMESTAMP_NOW, "", "", "", NULL, payload); return e;
}

static void test_info(void) {
  CHECK(tidelog_abi_version() == TIDELOG_ABI_VERSION);
  CHECK(strlen(tidelog_version()) > 0);
  int codes[] = {TIDELOG_OK, TIDELOG_CLOSED, TIDELOG_LOCKED, TIDELOG_SEQUENCE_CONFLICT, TIDELOG_INVALID_ARGUMENT, TIDELOG_CORRUPT, TIDELOG_UNSUPPORTED_FORMAT,
                 TIDELOG_STORAGE_FULL, TIDELOG_IO, TIDELOG_FAILED, TIDELOG_INVALID_HANDLE, TIDELOG_INTERNAL};
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) CHECK(strcmp(tidelog_status_name(codes[i]), "UNKNOWN") != 0);
  CHECK(strcmp(tidelog_status_name(TIDELOG_SEQUENCE_CONFLICT), "SEQUENCE_CONFLICT") == 0);
  CHECK(strcmp(tidelog_status_name(12345), "UNKNOWN") == 0);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_last_error(NULL));
  int32_t statuses[32]; size_t nstat = 0;
  EXPECT(TIDELOG_OK, tidelog_error_statuses(statuses, 32, &nstat));
  CHECK(nstat == 9);
  for (size_t i = 0; i < nstat; i++) CHECK(statuses[i] != TIDELOG_OK && strcmp(tidelog_status_name(statuses[i]), "UNKNOWN") != 0);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_error_statuses(statuses, 2, &nstat));
  CHECK(nstat == 9);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_error_statuses(statuses, 32, NULL));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_options_init(NULL));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_snapshot_criteria_init(NULL));
}

static void test_open_errors(void) {
  tidelog_journal *j = (tidelog_journal *)1;
  tidelog_options o; tidelog_options_init(&o);
  char path[512]; snprintf(path, sizeof path, "%s/open-errors", root);
  o.struct_size = 8;
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_journal_open(S(path), &o, &j));
  CHECK(j == NULL);
  tidelog_options_init(&o); o.backend = 99;
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_journal_open(S(path), &o, &j));
  tidelog_options_init(&o); o.sync = 99;
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_journal_open(S(path), &o, &j));
  tidelog_options_init(&o); o.max_batch_events = 0;
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_journal_open(S(path), &o, &j));
  tidelog_error err; tidelog_last_error(&err);
  CHECK(err.code == TIDELOG_INVALID_ARGUMENT && err.message_len > 0);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_journal_open(S(path), NULL, NULL));
  const uint8_t bad_utf8[] = {0xff, 0xfe, 0x2f};
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_journal_open(bad_utf8, 3, NULL, &j));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_journal_open(NULL, 5, NULL, &j));
  /* A regular file where the directory should be: an I/O error. */
  char file[512]; snprintf(file, sizeof file, "%s/plain-file", root);
  FILE *f = fopen(file, "w"); fputs("x", f); fclose(f);
  EXPECT(TIDELOG_IO, tidelog_journal_open(S(file), NULL, &j));
  /* A FORMAT file from the future, and a malformed one. */
  char dir[512], fmt[600];
  snprintf(dir, sizeof dir, "%s/future", root); mkdir(dir, 0755);
  snprintf(fmt, sizeof fmt, "%s/FORMAT", dir); f = fopen(fmt, "w"); fputs("backend=lmdb\nformat=999\n", f); fclose(f);
  EXPECT(TIDELOG_UNSUPPORTED_FORMAT, tidelog_journal_open(S(dir), NULL, &j));
  snprintf(dir, sizeof dir, "%s/garbled", root); mkdir(dir, 0755);
  snprintf(fmt, sizeof fmt, "%s/FORMAT", dir); f = fopen(fmt, "w"); fputs("nonsense\n", f); fclose(f);
  EXPECT(TIDELOG_CORRUPT, tidelog_journal_open(S(dir), NULL, &j));
}

static void test_null_handles(void) {
  tidelog_journal *bogus = (tidelog_journal *)0x7777;
  tidelog_buffer *buf = NULL; uint64_t n; tidelog_receipt r; tidelog_metrics m; uint32_t d;
  enc_buf ev = one_event("x");
  tidelog_journal *handles[] = {NULL, bogus};
  for (int i = 0; i < 2; i++) {
    tidelog_journal *h = handles[i];
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_journal_close(h));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_journal_free(h));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_append(h, S("p"), ev.data, ev.len, &r));
    CHECK(last_code() == TIDELOG_INVALID_HANDLE);
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_write(h, ev.data, ev.len, &buf));
    CHECK(buf == NULL);
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_delete_to(h, S("p"), 1));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_flush(h));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_highest_sequence_nr(h, S("p"), &n));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_next_global_offset(h, &n));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_journal_check_options(h, NULL));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_read(h, S("p"), 1, 10, 10, &buf));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_events_by_tag(h, S("t"), 0, 10, &buf));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_all_events(h, 0, 10, &buf));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_persistence_ids(h, &buf));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_metrics_get(h, &m));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_metrics_prometheus(h, &buf));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_snapshot_save(h, S("p"), 1, 0, NULL, 0, NULL, 0, NULL, 0));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_snapshot_load(h, S("p"), NULL, &buf));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_snapshot_list(h, S("p"), &buf));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_snapshot_delete(h, S("p"), 1, &d));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_snapshot_delete_matching(h, S("p"), NULL, &n));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_snapshot_prune(h, S("p"), 1, &n));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_snapshot_persistence_ids(h, &buf));
    tidelog_queue *q; EXPECT(TIDELOG_OK, tidelog_queue_new(&q));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_append_async(h, q, 1, S("p"), ev.data, ev.len));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_write_async(h, q, 1, ev.data, ev.len));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_delete_to_async(h, q, 1, S("p"), 1));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_flush_async(h, q, 1));
    EXPECT(TIDELOG_OK, tidelog_queue_free(q));
  }
  tidelog_queue *qs[] = {NULL, (tidelog_queue *)0x9999};
  tidelog_completion c[4]; size_t count = 7;
  for (int i = 0; i < 2; i++) {
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_queue_wait(qs[i], c, 4, 0, &count));
    CHECK(count == 0);
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_queue_shutdown(qs[i]));
    EXPECT(TIDELOG_INVALID_HANDLE, tidelog_queue_free(qs[i]));
  }
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_buffer_free(NULL));
  tidelog_buffer fake = {0};
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_buffer_free(&fake));
  enc_free(&ev);
}

static uint32_t page_count(tidelog_buffer *b) { return rd_u32(b->data); }

static void test_backend(const char *name, uint32_t backend) {
  tidelog_journal *j = NULL;
  open_journal(name, backend, &j);
  CHECK(j != NULL);
  tidelog_receipt r;

  /* append: two events in one atomic write */
  enc_buf ev = {0};
  const char *tags[] = {"green", "blue", NULL};
  enc_u32(&ev, 2);
  enc_event(&ev, 1700000000123ULL, "Added", "writer-1", "\x01\x02", tags, "payload-1");
  enc_event(&ev, TIDELOG_TIMESTAMP_NOW, "", "", "", NULL, "payload-2");
  EXPECT(TIDELOG_OK, tidelog_append(j, S("stream-a"), ev.data, ev.len, &r));
  CHECK(r.first_sequence_nr == 1 && r.last_sequence_nr == 2);
  EXPECT(TIDELOG_OK, tidelog_append(j, S("stream-a"), ev.data, ev.len, NULL));
  enc_free(&ev);

  /* append error paths */
  enc_buf one = one_event("x");
  const uint8_t bad_utf8[] = {'a', 0xc3, 0x28};
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_append(j, bad_utf8, 3, one.data, one.len, &r));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_append(j, S(""), one.data, one.len, &r));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_append(j, S("p"), one.data, one.len - 1, &r)); /* truncated */
  uint8_t zero[4] = {0};
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_append(j, S("p"), zero, 4, &r)); /* no events */
  uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_append(j, S("p"), huge, 4, &r)); /* absurd count */
  enc_buf trailing = one_event("x"); enc_u32(&trailing, 7);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_append(j, S("p"), trailing.data, trailing.len, &r));
  enc_free(&trailing);
  enc_buf badtag = {0}; enc_u32(&badtag, 1); enc_u64(&badtag, 0); enc_str(&badtag, ""); enc_str(&badtag, ""); enc_str(&badtag, "");
  enc_u32(&badtag, 1); enc_blob(&badtag, "\xff", 1); enc_str(&badtag, "p");
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_append(j, S("p"), badtag.data, badtag.len, &r));
  enc_free(&badtag);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_append(j, S("p"), NULL, 10, &r));

  /* next global offset: stream-a's four events took offsets 1..4 */
  uint64_t next_offset = 0;
  EXPECT(TIDELOG_OK, tidelog_next_global_offset(j, &next_offset));
  CHECK(next_offset == 5);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_next_global_offset(j, NULL));

  /* check_options: the journal was opened with sync never (open_journal) */
  tidelog_options same; tidelog_options_init(&same); same.backend = backend; same.sync = TIDELOG_SYNC_NEVER;
  EXPECT(TIDELOG_OK, tidelog_journal_check_options(j, &same));
  same.sync = TIDELOG_SYNC_ALWAYS;
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_journal_check_options(j, &same));
  tidelog_error differs; tidelog_last_error(&differs);
  CHECK(differs.message_len > 0 && memmem(differs.message, differs.message_len, "sync = never, not always", 24) != NULL);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_journal_check_options(j, NULL)); /* the defaults sync always */

  /* highest sequence nr */
  uint64_t hi = 0;
  EXPECT(TIDELOG_OK, tidelog_highest_sequence_nr(j, S("stream-a"), &hi));
  CHECK(hi == 4);
  EXPECT(TIDELOG_OK, tidelog_highest_sequence_nr(j, S("nobody"), &hi));
  CHECK(hi == 0);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_highest_sequence_nr(j, S("stream-a"), NULL));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_highest_sequence_nr(j, bad_utf8, 3, &hi));

  /* read a page and decode every field */
  tidelog_buffer *page = NULL;
  EXPECT(TIDELOG_OK, tidelog_read(j, S("stream-a"), 1, UINT64_MAX, 100, &page));
  CHECK(page != NULL && page_count(page) == 4);
  size_t pos = 4; tidelog_event_view v;
  EXPECT(TIDELOG_OK, tidelog_event_next(page->data, page->len, &pos, &v));
  CHECK(v.sequence_nr == 1 && v.timestamp == 1700000000123ULL);
  CHECK(v.persistence_id_len == 8 && memcmp(v.persistence_id, "stream-a", 8) == 0);
  CHECK(v.manifest_len == 5 && memcmp(v.manifest, "Added", 5) == 0);
  CHECK(v.writer_id_len == 8 && memcmp(v.writer_id, "writer-1", 8) == 0);
  CHECK(v.metadata_len == 2 && v.metadata[0] == 1 && v.metadata[1] == 2);
  CHECK(v.tag_count == 2 && rd_u32(v.tags) == 5 && memcmp(v.tags + 4, "green", 5) == 0);
  CHECK(v.payload_len == 9 && memcmp(v.payload, "payload-1", 9) == 0);
  uint64_t first_offset = v.global_offset;
  EXPECT(TIDELOG_OK, tidelog_event_next(page->data, page->len, &pos, &v));
  CHECK(v.sequence_nr == 2 && v.global_offset == first_offset + 1 && v.timestamp > 1700000000123ULL && v.tag_count == 0);
  EXPECT(TIDELOG_OK, tidelog_event_next(page->data, page->len, &pos, &v));
  EXPECT(TIDELOG_OK, tidelog_event_next(page->data, page->len, &pos, &v));
  CHECK(pos == page->len);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_event_next(page->data, page->len, &pos, &v)); /* exhausted */
  size_t far = page->len + 10;
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_event_next(page->data, page->len, &far, &v));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_event_next(page->data, page->len, NULL, &v));
  pos = 4;
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_event_next(page->data, page->len, &pos, NULL));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_event_next(page->data, 20, &pos, &v)); /* truncated */
  EXPECT(TIDELOG_OK, tidelog_buffer_free(page));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_buffer_free(page)); /* freed twice: refused */
  EXPECT(TIDELOG_OK, tidelog_read(j, S("stream-a"), 2, 3, 100, &page));
  CHECK(page_count(page) == 2);
  tidelog_buffer_free(page);
  EXPECT(TIDELOG_OK, tidelog_read(j, S("stream-a"), 1, 100, 1, &page));
  CHECK(page_count(page) == 1);
  tidelog_buffer_free(page);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_read(j, S("stream-a"), 1, 100, 1, NULL));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_read(j, bad_utf8, 3, 1, 100, 1, &page));
  CHECK(page == NULL);

  /* explicit atomic writes: one ok, one conflicting, one invalid */
  enc_buf w = {0};
  enc_u32(&w, 3);
  enc_str(&w, "stream-b"); enc_u64(&w, 1); enc_u32(&w, 1); enc_event(&w, TIDELOG_TIMESTAMP_NOW, "", "", "", tags, "b1");
  enc_str(&w, "stream-a"); enc_u64(&w, 2); enc_u32(&w, 1); enc_event(&w, TIDELOG_TIMESTAMP_NOW, "", "", "", NULL, "stale");
  enc_str(&w, "stream-c"); enc_u64(&w, 0); enc_u32(&w, 1); enc_event(&w, TIDELOG_TIMESTAMP_NOW, "", "", "", NULL, "zero");
  tidelog_buffer *results = NULL;
  EXPECT(TIDELOG_OK, tidelog_write(j, w.data, w.len, &results));
  CHECK(results && rd_u32(results->data) == 3);
  if (results) {
    const uint8_t *p = results->data + 4;
    CHECK((int32_t)rd_u32(p) == TIDELOG_OK && rd_u64(p + 8) == 1 && rd_u64(p + 16) == 1);
    p += 32 + rd_u32(p + 4);
    CHECK((int32_t)rd_u32(p) == TIDELOG_SEQUENCE_CONFLICT && rd_u64(p + 8) == 5 && rd_u64(p + 16) == 2 && rd_u32(p + 4) > 0);
    p += 32 + rd_u32(p + 4);
    CHECK((int32_t)rd_u32(p) == TIDELOG_INVALID_ARGUMENT);
    p += 32 + rd_u32(p + 4);
    CHECK(p == results->data + results->len);
    tidelog_buffer_free(results);
  }
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_write(j, w.data, w.len - 3, &results));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_write(j, w.data, w.len, NULL));
  enc_free(&w);

  /* tags, all events, persistence ids */
  EXPECT(TIDELOG_OK, tidelog_events_by_tag(j, S("green"), 0, 100, &page));
  CHECK(page_count(page) == 3); /* two appends of stream-a + stream-b */
  tidelog_buffer_free(page);
  EXPECT(TIDELOG_OK, tidelog_events_by_tag(j, S("green"), first_offset + 1, 100, &page));
  CHECK(page_count(page) == 2);
  tidelog_buffer_free(page);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_events_by_tag(j, S(""), 0, 100, &page));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_events_by_tag(j, bad_utf8, 3, 0, 100, &page));
  EXPECT(TIDELOG_OK, tidelog_all_events(j, 0, 100, &page));
  CHECK(page_count(page) == 5);
  tidelog_buffer_free(page);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_all_events(j, 0, 100, NULL));
  tidelog_buffer *ids = NULL;
  EXPECT(TIDELOG_OK, tidelog_persistence_ids(j, &ids));
  CHECK(rd_u32(ids->data) == 2 && rd_u32(ids->data + 4) == 8 && memcmp(ids->data + 8, "stream-a", 8) == 0);
  tidelog_buffer_free(ids);

  /* delete keeps the highest sequence number */
  EXPECT(TIDELOG_OK, tidelog_delete_to(j, S("stream-a"), 3));
  EXPECT(TIDELOG_OK, tidelog_read(j, S("stream-a"), 1, UINT64_MAX, 100, &page));
  CHECK(page_count(page) == 1);
  tidelog_buffer_free(page);
  EXPECT(TIDELOG_OK, tidelog_highest_sequence_nr(j, S("stream-a"), &hi));
  CHECK(hi == 4);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_delete_to(j, bad_utf8, 3, 1));
  EXPECT(TIDELOG_OK, tidelog_flush(j));

  /* metrics */
  tidelog_metrics m;
  EXPECT(TIDELOG_OK, tidelog_metrics_get(j, &m));
  CHECK(m.events == 5 && m.sequence_conflicts == 1);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_metrics_get(j, NULL));
  tidelog_buffer *text = NULL;
  EXPECT(TIDELOG_OK, tidelog_metrics_prometheus(j, &text));
  CHECK(text->len > 0 && memmem(text->data, text->len, "events", 6) != NULL);
  tidelog_buffer_free(text);

  /* snapshots */
  EXPECT(TIDELOG_OK, tidelog_snapshot_save(j, S("stream-a"), 2, 1000, S("State"), (const uint8_t *)"\x09", 1, S("state-2")));
  EXPECT(TIDELOG_OK, tidelog_snapshot_save(j, S("stream-a"), 4, 2000, S("State"), NULL, 0, S("state-4")));
  EXPECT(TIDELOG_OK, tidelog_snapshot_save(j, S("stream-b"), 1, 3000, NULL, 0, NULL, 0, NULL, 0));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_snapshot_save(j, bad_utf8, 3, 1, 0, NULL, 0, NULL, 0, NULL, 0));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_snapshot_save(j, S("stream-a"), 1, 0, bad_utf8, 3, NULL, 0, NULL, 0));
  tidelog_buffer *snap = NULL;
  EXPECT(TIDELOG_OK, tidelog_snapshot_load(j, S("stream-a"), NULL, &snap));
  CHECK(snap && rd_u64(snap->data) == 4 && rd_u64(snap->data + 8) == 2000);
  tidelog_buffer_free(snap);
  tidelog_snapshot_criteria c; EXPECT(TIDELOG_OK, tidelog_snapshot_criteria_init(&c));
  c.max_sequence_nr = 3;
  EXPECT(TIDELOG_OK, tidelog_snapshot_load(j, S("stream-a"), &c, &snap));
  CHECK(snap && rd_u64(snap->data) == 2);
  if (snap) { /* manifest, metadata, state */
    const uint8_t *p = snap->data + 16;
    CHECK(rd_u32(p) == 5 && memcmp(p + 4, "State", 5) == 0); p += 9;
    CHECK(rd_u32(p) == 1 && p[4] == 9); p += 5;
    CHECK(rd_u32(p) == 7 && memcmp(p + 4, "state-2", 7) == 0);
    tidelog_buffer_free(snap);
  }
  tidelog_snapshot_criteria_init(&c); c.max_timestamp = 999;
  EXPECT(TIDELOG_OK, tidelog_snapshot_load(j, S("stream-a"), &c, &snap));
  CHECK(snap == NULL);
  tidelog_snapshot_criteria_init(&c); c.min_timestamp = 1500;
  EXPECT(TIDELOG_OK, tidelog_snapshot_load(j, S("stream-a"), &c, &snap));
  CHECK(snap && rd_u64(snap->data) == 4);
  tidelog_buffer_free(snap);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_snapshot_load(j, S(""), NULL, &snap));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_snapshot_load(j, S("stream-a"), NULL, NULL));
  tidelog_buffer *list = NULL;
  EXPECT(TIDELOG_OK, tidelog_snapshot_list(j, S("stream-a"), &list));
  CHECK(rd_u32(list->data) == 2 && rd_u64(list->data + 4) == 2 && rd_u64(list->data + 20) == 4);
  tidelog_buffer_free(list);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_snapshot_list(j, bad_utf8, 3, &list));
  EXPECT(TIDELOG_OK, tidelog_snapshot_persistence_ids(j, &ids));
  CHECK(rd_u32(ids->data) == 2);
  tidelog_buffer_free(ids);
  uint32_t deleted = 9;
  EXPECT(TIDELOG_OK, tidelog_snapshot_delete(j, S("stream-a"), 3, &deleted));
  CHECK(deleted == 0);
  EXPECT(TIDELOG_OK, tidelog_snapshot_delete(j, S("stream-a"), 4, &deleted));
  CHECK(deleted == 1);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_snapshot_delete(j, bad_utf8, 3, 4, &deleted));
  EXPECT(TIDELOG_OK, tidelog_snapshot_save(j, S("stream-a"), 3, 1500, NULL, 0, NULL, 0, S("s3")));
  EXPECT(TIDELOG_OK, tidelog_snapshot_save(j, S("stream-a"), 4, 1600, NULL, 0, NULL, 0, S("s4")));
  uint64_t pruned = 0;
  EXPECT(TIDELOG_OK, tidelog_snapshot_prune(j, S("stream-a"), 2, &pruned));
  CHECK(pruned == 1);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_snapshot_prune(j, bad_utf8, 3, 2, &pruned));
  tidelog_snapshot_criteria_init(&c); c.max_sequence_nr = 3;
  uint64_t removed = 0;
  EXPECT(TIDELOG_OK, tidelog_snapshot_delete_matching(j, S("stream-a"), &c, &removed));
  CHECK(removed == 1);
  EXPECT(TIDELOG_OK, tidelog_snapshot_delete_matching(j, S("stream-b"), NULL, NULL));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_snapshot_delete_matching(j, bad_utf8, 3, NULL, NULL));
  EXPECT(TIDELOG_OK, tidelog_snapshot_list(j, S("stream-b"), &list));
  CHECK(rd_u32(list->data) == 0);
  tidelog_buffer_free(list);

  /* asynchronous operations through a completion queue */
  tidelog_queue *q = NULL;
  EXPECT(TIDELOG_OK, tidelog_queue_new(&q));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_queue_new(NULL));
  tidelog_completion done[64]; size_t got = 99;
  EXPECT(TIDELOG_OK, tidelog_queue_wait(q, done, 64, 0, &got)); /* nothing yet: timeout */
  CHECK(got == 0);
  EXPECT(TIDELOG_OK, tidelog_queue_wait(q, done, 64, 20, &got));
  CHECK(got == 0);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_queue_wait(q, NULL, 64, 0, &got));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_queue_wait(q, done, 0, 0, &got));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_queue_wait(q, done, 64, 0, NULL));
  for (uint64_t t = 1; t <= 20; t++) EXPECT(TIDELOG_OK, tidelog_append_async(j, q, t, S("async"), one.data, one.len));
  EXPECT(TIDELOG_OK, tidelog_append_async(j, q, 21, S(""), one.data, one.len)); /* fails through the queue */
  enc_buf cw = {0}; enc_u32(&cw, 2);
  enc_str(&cw, "async"); enc_u64(&cw, 1); enc_u32(&cw, 1); enc_event(&cw, TIDELOG_TIMESTAMP_NOW, "", "", "", NULL, "conflict");
  enc_str(&cw, "async-2"); enc_u64(&cw, 1); enc_u32(&cw, 1); enc_event(&cw, TIDELOG_TIMESTAMP_NOW, "", "", "", NULL, "ok");
  EXPECT(TIDELOG_OK, tidelog_write_async(j, q, 22, cw.data, cw.len));
  EXPECT(TIDELOG_OK, tidelog_delete_to_async(j, q, 23, S("async"), 5));
  EXPECT(TIDELOG_OK, tidelog_flush_async(j, q, 24));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_append_async(j, q, 99, bad_utf8, 3, one.data, one.len));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_append_async(j, q, 99, S("async"), one.data, 3));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_write_async(j, q, 99, cw.data, 3));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_delete_to_async(j, q, 99, bad_utf8, 3, 1));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_append_async(j, NULL, 99, S("async"), one.data, one.len));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_flush_async(j, (tidelog_queue *)0x4242, 99));
  enc_free(&cw);
  int seen[25] = {0}; size_t total = 0;
  while (total < 24) {
    EXPECT(TIDELOG_OK, tidelog_queue_wait(q, done, 5, -1, &got));
    CHECK(got >= 1 && got <= 5);
    for (size_t i = 0; i < got; i++) {
      tidelog_completion *d = &done[i];
      CHECK(d->token >= 1 && d->token <= 24 && !seen[d->token]);
      seen[d->token]++;
      if (d->token <= 20) {
        CHECK(d->status == TIDELOG_OK && d->buffer == NULL && d->receipt.first_sequence_nr >= 1 && d->receipt.first_sequence_nr <= 20);
      } else if (d->token == 21) {
        CHECK(d->status == TIDELOG_INVALID_ARGUMENT && d->buffer && d->buffer->len > 0);
      } else if (d->token == 22) {
        CHECK(d->status == TIDELOG_OK && d->buffer && rd_u32(d->buffer->data) == 2);
        if (d->buffer) {
          const uint8_t *p = d->buffer->data + 4;
          CHECK((int32_t)rd_u32(p) == TIDELOG_SEQUENCE_CONFLICT && rd_u64(p + 8) == 21 && rd_u64(p + 16) == 1);
          p += 32 + rd_u32(p + 4);
          CHECK((int32_t)rd_u32(p) == TIDELOG_OK);
        }
      } else {
        CHECK(d->status == TIDELOG_OK && d->buffer == NULL);
      }
      if (d->buffer) EXPECT(TIDELOG_OK, tidelog_buffer_free(d->buffer));
    }
    total += got;
  }
  EXPECT(TIDELOG_OK, tidelog_read(j, S("async"), 1, UINT64_MAX, 100, &page));
  CHECK(page_count(page) == 15); /* 20 appended, 5 deleted */
  tidelog_buffer_free(page);

  /* a second writer is locked out (persistent backends) */
  if (backend != TIDELOG_BACKEND_MEMORY) {
    tidelog_journal *second = NULL;
    char path[512]; snprintf(path, sizeof path, "%s/%s", root, name);
    tidelog_options o; tidelog_options_init(&o); o.backend = backend;
    EXPECT(TIDELOG_LOCKED, tidelog_journal_open(S(path), &o, &second));
    CHECK(second == NULL);
  }

  /* use after close: TIDELOG_CLOSED everywhere, also through the queue */
  EXPECT(TIDELOG_OK, tidelog_journal_close(j));
  EXPECT(TIDELOG_OK, tidelog_journal_close(j)); /* idempotent */
  EXPECT(TIDELOG_CLOSED, tidelog_append(j, S("stream-a"), one.data, one.len, &r));
  tidelog_error err; tidelog_last_error(&err);
  CHECK(err.code == TIDELOG_CLOSED && err.message_len > 0);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_write(j, one.data, 0, &results)); /* an empty buffer is malformed */
  EXPECT(TIDELOG_CLOSED, tidelog_delete_to(j, S("stream-a"), 1));
  EXPECT(TIDELOG_CLOSED, tidelog_flush(j));
  EXPECT(TIDELOG_CLOSED, tidelog_highest_sequence_nr(j, S("stream-a"), &hi));
  EXPECT(TIDELOG_CLOSED, tidelog_read(j, S("stream-a"), 1, 10, 10, &page));
  EXPECT(TIDELOG_CLOSED, tidelog_events_by_tag(j, S("green"), 0, 10, &page));
  EXPECT(TIDELOG_CLOSED, tidelog_all_events(j, 0, 10, &page));
  EXPECT(TIDELOG_CLOSED, tidelog_persistence_ids(j, &ids));
  EXPECT(TIDELOG_CLOSED, tidelog_snapshot_save(j, S("stream-a"), 9, 0, NULL, 0, NULL, 0, NULL, 0));
  EXPECT(TIDELOG_CLOSED, tidelog_snapshot_load(j, S("stream-a"), NULL, &snap));
  EXPECT(TIDELOG_CLOSED, tidelog_snapshot_list(j, S("stream-a"), &list));
  EXPECT(TIDELOG_CLOSED, tidelog_snapshot_delete(j, S("stream-a"), 1, NULL));
  EXPECT(TIDELOG_CLOSED, tidelog_snapshot_delete_matching(j, S("stream-a"), NULL, NULL));
  EXPECT(TIDELOG_CLOSED, tidelog_snapshot_prune(j, S("stream-a"), 1, NULL));
  EXPECT(TIDELOG_CLOSED, tidelog_snapshot_persistence_ids(j, &ids));
  EXPECT(TIDELOG_OK, tidelog_metrics_get(j, &m)); /* metrics stay readable */
  EXPECT(TIDELOG_OK, tidelog_append_async(j, q, 30, S("async"), one.data, one.len));
  EXPECT(TIDELOG_OK, tidelog_flush_async(j, q, 31));
  EXPECT(TIDELOG_OK, tidelog_delete_to_async(j, q, 32, S("async"), 1));
  enc_buf w2 = {0}; enc_u32(&w2, 1); enc_str(&w2, "async"); enc_u64(&w2, 21); enc_u32(&w2, 1);
  enc_event(&w2, TIDELOG_TIMESTAMP_NOW, "", "", "", NULL, "late");
  EXPECT(TIDELOG_OK, tidelog_write_async(j, q, 33, w2.data, w2.len));
  EXPECT(TIDELOG_OK, tidelog_write(j, w2.data, w2.len, &results));
  CHECK((int32_t)rd_u32(results->data + 4) == TIDELOG_CLOSED);
  tidelog_buffer_free(results);
  enc_free(&w2);
  total = 0;
  while (total < 4) {
    EXPECT(TIDELOG_OK, tidelog_queue_wait(q, done, 64, -1, &got));
    for (size_t i = 0; i < got; i++) {
      if (done[i].token == 33) {
        CHECK(done[i].status == TIDELOG_OK && (int32_t)rd_u32(done[i].buffer->data + 4) == TIDELOG_CLOSED);
      } else {
        CHECK(done[i].status == TIDELOG_CLOSED);
      }
      if (done[i].buffer) tidelog_buffer_free(done[i].buffer);
    }
    total += got;
  }

  /* shut the queue down: pending completions are still delivered, then TIDELOG_CLOSED */
  EXPECT(TIDELOG_OK, tidelog_queue_shutdown(q));
  EXPECT(TIDELOG_CLOSED, tidelog_queue_wait(q, done, 64, -1, &got));
  CHECK(got == 0);
  EXPECT(TIDELOG_OK, tidelog_queue_free(q));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_queue_free(q));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_queue_wait(q, done, 64, 0, &got));

  /* free, then every use is refused */
  EXPECT(TIDELOG_OK, tidelog_journal_free(j));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_journal_free(j));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_journal_close(j));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_append(j, S("stream-a"), one.data, one.len, &r));

  /* reopen: persistent backends kept everything */
  if (backend != TIDELOG_BACKEND_MEMORY) {
    open_journal(name, backend, &j);
    EXPECT(TIDELOG_OK, tidelog_highest_sequence_nr(j, S("stream-a"), &hi));
    CHECK(hi == 4);
    EXPECT(TIDELOG_OK, tidelog_read(j, S("async"), 1, UINT64_MAX, 100, &page));
    CHECK(page_count(page) == 15);
    tidelog_buffer_free(page);
    EXPECT(TIDELOG_OK, tidelog_snapshot_load(j, S("stream-a"), NULL, &snap));
    CHECK(snap && rd_u64(snap->data) == 4);
    if (snap) tidelog_buffer_free(snap);
    EXPECT(TIDELOG_OK, tidelog_journal_free(j));
  }
  enc_free(&one);
}

/* Freeing a queue with undelivered completions frees their buffers too (valgrind checks). */
static void test_queue_free_with_pending(void) {
  tidelog_journal *j; open_journal("pending", TIDELOG_BACKEND_MEMORY, &j);
  tidelog_queue *q; tidelog_queue_new(&q);
  EXPECT(TIDELOG_OK, tidelog_append_async(j, q, 1, S(""), (const uint8_t *)"\0\0\0\0", 4)); /* error completion with a message */
  EXPECT(TIDELOG_OK, tidelog_flush_async(j, q, 2));
  tidelog_flush(j);
  EXPECT(TIDELOG_OK, tidelog_queue_free(q));
  EXPECT(TIDELOG_OK, tidelog_journal_free(j));
}

/* Subscriptions: catch-up then live (blocking and through the page queue), every scope, cancel, free,
 * journal close, and the error paths. */
static void test_subscriptions(const char *name, uint32_t backend) {
  tidelog_journal *j; open_journal(name, backend, &j);
  enc_buf ev = {0}; const char *tags[] = {"t", NULL};
  enc_u32(&ev, 2);
  enc_event(&ev, TIDELOG_TIMESTAMP_NOW, "", "", "", tags, "a");
  enc_event(&ev, TIDELOG_TIMESTAMP_NOW, "", "", "", NULL, "b");
  EXPECT(TIDELOG_OK, tidelog_append(j, S("s"), ev.data, ev.len, NULL));

  /* catch-up, blocking: all, tag, stream */
  tidelog_subscription *all, *tag, *stream; tidelog_buffer *page = NULL; uint64_t pos = 0;
  EXPECT(TIDELOG_OK, tidelog_subscribe(j, TIDELOG_SCOPE_ALL, NULL, 0, 0, &all));
  EXPECT(TIDELOG_OK, tidelog_subscribe(j, TIDELOG_SCOPE_TAG, S("t"), 0, &tag));
  EXPECT(TIDELOG_OK, tidelog_subscribe(j, TIDELOG_SCOPE_STREAM, S("s"), 2, &stream));
  EXPECT(TIDELOG_OK, tidelog_subscription_next(all, 1, -1, &page));
  CHECK(page_count(page) == 1); tidelog_buffer_free(page);
  EXPECT(TIDELOG_OK, tidelog_subscription_position(all, &pos));
  CHECK(pos == 2);
  EXPECT(TIDELOG_OK, tidelog_subscription_next(all, 10, -1, &page));
  CHECK(page_count(page) == 1); tidelog_buffer_free(page);
  EXPECT(TIDELOG_OK, tidelog_subscription_next(all, 10, 0, &page)); /* nothing now */
  CHECK(page_count(page) == 0); tidelog_buffer_free(page);
  EXPECT(TIDELOG_OK, tidelog_subscription_next(all, 10, 5, &page)); /* nothing within 5 ms */
  CHECK(page_count(page) == 0); tidelog_buffer_free(page);
  EXPECT(TIDELOG_OK, tidelog_subscription_next(tag, 10, -1, &page));
  CHECK(page_count(page) == 1); tidelog_buffer_free(page);
  EXPECT(TIDELOG_OK, tidelog_subscription_next(stream, 10, -1, &page));
  CHECK(page_count(page) == 1 && rd_u64(page->data + 4) == 2); tidelog_buffer_free(page); /* from sequence nr 2 */

  /* live through the page queue: a parked request completes after the next commit */
  tidelog_page_queue *pq; EXPECT(TIDELOG_OK, tidelog_page_queue_new(&pq));
  tidelog_buffer *batch = (tidelog_buffer *)1;
  EXPECT(TIDELOG_OK, tidelog_subscription_request(all, pq, 41, 10));
  EXPECT(TIDELOG_OK, tidelog_page_queue_wait(pq, 16, 0, &batch));
  CHECK(batch == NULL); /* nothing committed yet */
  EXPECT(TIDELOG_OK, tidelog_subscription_request(all, pq, 42, 10)); /* busy: completes with INVALID_ARGUMENT */
  EXPECT(TIDELOG_OK, tidelog_append(j, S("s"), ev.data, ev.len, NULL));
  int seen41 = 0, seen42 = 0;
  while (!(seen41 && seen42)) {
    EXPECT(TIDELOG_OK, tidelog_page_queue_wait(pq, 16, -1, &batch));
    if (!batch) break;
    uint32_t n = rd_u32(batch->data); size_t at = 4;
    for (uint32_t i = 0; i < n; i++) {
      uint64_t token = rd_u64(batch->data + at); int32_t st = (int32_t)rd_u32(batch->data + at + 8); at += 12;
      if (token == 41) { seen41 = 1; CHECK(st == TIDELOG_OK && rd_u32(batch->data + at + 4) == 2); } /* bytes holding a page of 2 */
      if (token == 42) { seen42 = 1; CHECK(st == TIDELOG_INVALID_ARGUMENT); }
      at += 4 + rd_u32(batch->data + at); /* page or message: both length-prefixed */
    }
    tidelog_buffer_free(batch);
  }
  CHECK(seen41 && seen42);

  /* cancel completes a parked request with CLOSED; later calls fail with CLOSED */
  EXPECT(TIDELOG_OK, tidelog_subscription_request(all, pq, 43, 10));
  EXPECT(TIDELOG_OK, tidelog_subscription_cancel(all));
  EXPECT(TIDELOG_OK, tidelog_subscription_cancel(all)); /* idempotent */
  EXPECT(TIDELOG_OK, tidelog_page_queue_wait(pq, 16, -1, &batch));
  CHECK(batch && rd_u32(batch->data) == 1 && rd_u64(batch->data + 4) == 43 && (int32_t)rd_u32(batch->data + 12) == TIDELOG_CLOSED);
  if (batch) tidelog_buffer_free(batch);
  EXPECT(TIDELOG_CLOSED, tidelog_subscription_next(all, 10, -1, &page));
  CHECK(page == NULL);
  EXPECT(TIDELOG_OK, tidelog_subscription_free(all));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_subscription_free(all));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_subscription_next(all, 10, 0, &page));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_subscription_request(all, pq, 44, 10));

  /* error paths */
  tidelog_subscription *bad = (tidelog_subscription *)1;
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_subscribe(j, 3, NULL, 0, 0, &bad));
  CHECK(bad == NULL);
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_subscribe(j, TIDELOG_SCOPE_TAG, S(""), 0, &bad));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_subscribe(j, TIDELOG_SCOPE_ALL, NULL, 0, 0, NULL));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_subscribe(NULL, TIDELOG_SCOPE_ALL, NULL, 0, 0, &bad));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_subscription_request(tag, NULL, 1, 1));
  EXPECT(TIDELOG_INVALID_ARGUMENT, tidelog_page_queue_wait(pq, 0, 0, &batch));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_subscription_position(NULL, &pos));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_subscription_cancel(NULL));

  /* closing the journal ends the others: a parked request completes with CLOSED */
  EXPECT(TIDELOG_OK, tidelog_subscription_next(tag, 10, -1, &page)); /* the second write's tagged event: caught up after it */
  CHECK(page_count(page) == 1); tidelog_buffer_free(page);
  EXPECT(TIDELOG_OK, tidelog_subscription_request(tag, pq, 45, 10));
  EXPECT(TIDELOG_OK, tidelog_journal_close(j));
  EXPECT(TIDELOG_OK, tidelog_page_queue_wait(pq, 16, -1, &batch));
  CHECK(batch && rd_u64(batch->data + 4) == 45 && (int32_t)rd_u32(batch->data + 12) == TIDELOG_CLOSED);
  if (batch) tidelog_buffer_free(batch);
  EXPECT(TIDELOG_CLOSED, tidelog_subscription_next(stream, 10, -1, &page));
  EXPECT(TIDELOG_CLOSED, tidelog_subscribe(j, TIDELOG_SCOPE_ALL, NULL, 0, 0, &bad));

  /* a request left in the queue is freed with it (valgrind checks) */
  EXPECT(TIDELOG_OK, tidelog_subscription_request(stream, pq, 46, 10));
  EXPECT(TIDELOG_OK, tidelog_page_queue_shutdown(pq));
  EXPECT(TIDELOG_OK, tidelog_page_queue_free(pq));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_page_queue_free(pq));
  EXPECT(TIDELOG_INVALID_HANDLE, tidelog_page_queue_wait(pq, 16, 0, &batch));
  EXPECT(TIDELOG_OK, tidelog_subscription_free(tag));
  EXPECT(TIDELOG_OK, tidelog_subscription_free(stream));
  EXPECT(TIDELOG_OK, tidelog_journal_free(j));
  enc_free(&ev);
}

int main(void) {
  snprintf(root, sizeof root, "/tmp/tidelog-c-test-%d", (int)getpid());
  mkdir(root, 0755);
  test_info();
  test_open_errors();
  test_null_handles();
  test_backend("lmdb", TIDELOG_BACKEND_LMDB);
  test_backend("files", TIDELOG_BACKEND_FILES);
  test_backend("memory", TIDELOG_BACKEND_MEMORY);
  test_queue_free_with_pending();
  test_subscriptions("subs-lmdb", TIDELOG_BACKEND_LMDB);
  test_subscriptions("subs-files", TIDELOG_BACKEND_FILES);
  test_subscriptions("subs-memory", TIDELOG_BACKEND_MEMORY);
  char cmd[300]; snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
  printf("C ABI tests: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
