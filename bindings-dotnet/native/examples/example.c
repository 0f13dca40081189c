/* Tidemark from C: open a journal, append two events, read them back, snapshot.
 *   cc example.c -I../include -L<dir of libtidemark_c.so> -ltidemark_c -o example && ./example /tmp/journal */
#include <stdio.h>
#include <string.h>
#include "tidemark.h"
#include "../tests/encode.h"

static int check(int32_t status, const char *what) {
  if (status == TM_OK) return 0;
  tm_error err; tm_last_error(&err);
  fprintf(stderr, "%s failed: %s: %.*s\n", what, tm_status_name(status), (int)err.message_len, (const char *)err.message);
  return 1;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "example-journal";
  printf("Tidemark C ABI %u, library %s\n", tm_abi_version(), tm_version());
  tm_options opts; tm_options_init(&opts);
  opts.backend = TM_BACKEND_LMDB;
  tm_journal *j = NULL;
  if (check(tm_journal_open((const uint8_t *)path, strlen(path), &opts, &j), "open")) return 1;

  /* Two events in one atomic write: one FFI crossing. */
  tm_enc events = {0};
  const char *tags[] = {"cart", NULL};
  enc_u32(&events, 2);
  enc_event(&events, TM_TIMESTAMP_NOW, "ItemAdded", "", "", tags, "apple");
  enc_event(&events, TM_TIMESTAMP_NOW, "ItemAdded", "", "", tags, "pear");
  tm_receipt receipt;
  const char *pid = "cart-7";
  if (check(tm_append(j, (const uint8_t *)pid, strlen(pid), events.data, events.len, &receipt), "append")) return 1;
  enc_free(&events);
  printf("appended sequence numbers %llu..%llu\n", (unsigned long long)receipt.first_sequence_nr, (unsigned long long)receipt.last_sequence_nr);

  /* Read the whole stream back as one page. */
  tm_buffer *page = NULL;
  if (check(tm_read(j, (const uint8_t *)pid, strlen(pid), 1, UINT64_MAX, 1000, &page), "read")) return 1;
  uint32_t count = rd_u32(page->data);
  size_t pos = 4;
  for (uint32_t i = 0; i < count; i++) {
    tm_event_view ev;
    if (check(tm_event_next(page->data, page->len, &pos, &ev), "decode")) return 1;
    printf("  #%llu %.*s: %.*s\n", (unsigned long long)ev.sequence_nr, (int)ev.manifest_len, (const char *)ev.manifest,
           (int)ev.payload_len, (const char *)ev.payload);
  }
  tm_buffer_free(page);

  const char *state = "2 items";
  if (check(tm_snapshot_save(j, (const uint8_t *)pid, strlen(pid), receipt.last_sequence_nr, 0, (const uint8_t *)"Cart", 4, NULL, 0,
                             (const uint8_t *)state, strlen(state)), "snapshot")) return 1;
  return check(tm_journal_free(j), "close");
}
