/* Tidelog from C: open a journal, append two events, read them back, snapshot.
 *   cc example.c -I../include -L<dir of libtidelog_c.so> -ltidelog_c -o example && ./example /tmp/journal */
#include <stdio.h>
#include <string.h>
#include "tidelog.h"
#include "../tests/encode.h"

static int check(int32_t status, const char *what) {
  if (status == TIDELOG_OK) return 0;
  tidelog_error err; tidelog_last_error(&err);
  fprintf(stderr, "%s failed: %s: %.*s\n", what, tidelog_status_name(status), (int)err.message_len, (const char *)err.message);
  return 1;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "example-journal";
  printf("Tidelog C ABI %u, library %s\n", tidelog_abi_version(), tidelog_version());
  tidelog_options opts; tidelog_options_init(&opts);
  opts.backend = TIDELOG_BACKEND_LMDB;
  tidelog_journal *j = NULL;
  if (check(tidelog_journal_open((const uint8_t *)path, strlen(path), &opts, &j), "open")) return 1;

  /* Two events in one atomic write: one FFI crossing. */
  enc_buf events = {0};
  const char *tags[] = {"cart", NULL};
  enc_u32(&events, 2);
  enc_event(&events, TIDELOG_TIMESTAMP_NOW, "ItemAdded", "", "", tags, "apple");
  enc_event(&events, TIDELOG_TIMESTAMP_NOW, "ItemAdded", "", "", tags, "pear");
  tidelog_receipt receipt;
  const char *pid = "cart-7";
  if (check(tidelog_append(j, (const uint8_t *)pid, strlen(pid), events.data, events.len, &receipt), "append")) return 1;
  enc_free(&events);
  printf("appended sequence numbers %llu..%llu\n", (unsigned long long)receipt.first_sequence_nr, (unsigned long long)receipt.last_sequence_nr);

  /* Read the whole stream back as one page. */
  tidelog_buffer *page = NULL;
  if (check(tidelog_read(j, (const uint8_t *)pid, strlen(pid), 1, UINT64_MAX, 1000, &page), "read")) return 1;
  uint32_t count = rd_u32(page->data);
  size_t pos = 4;
  for (uint32_t i = 0; i < count; i++) {
    tidelog_event_view ev;
    if (check(tidelog_event_next(page->data, page->len, &pos, &ev), "decode")) return 1;
    printf("  #%llu %.*s: %.*s\n", (unsigned long long)ev.sequence_nr, (int)ev.manifest_len, (const char *)ev.manifest,
           (int)ev.payload_len, (const char *)ev.payload);
  }
  tidelog_buffer_free(page);

  const char *state = "2 items";
  if (check(tidelog_snapshot_save(j, (const uint8_t *)pid, strlen(pid), receipt.last_sequence_nr, 0, (const uint8_t *)"Cart", 4, NULL, 0,
                             (const uint8_t *)state, strlen(state)), "snapshot")) return 1;
  return check(tidelog_journal_free(j), "close");
}
