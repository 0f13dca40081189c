/* The same no-sync one-event append as Bench.cs, called from C: the baseline that shows what the .NET glue adds.
 *   bench/dotnet/run.sh builds and runs it. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "tidelog.h"
#include "../../bindings-dotnet/native/tests/encode.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  const char *root = argc > 1 ? argv[1] : "/tmp/tidelog-c-bench";
  long n = argc > 2 ? atol(argv[2]) : 200000;
  const char *names[] = {"lmdb", "files", "memory"};
  uint32_t backends[] = {TIDELOG_BACKEND_LMDB, TIDELOG_BACKEND_FILES, TIDELOG_BACKEND_MEMORY};
  char payload[101]; memset(payload, 'x', 100); payload[100] = 0;
  enc_buf ev = {0}; enc_u32(&ev, 1); enc_event(&ev, TIDELOG_TIMESTAMP_NOW, "", "", "", NULL, payload);
  for (int b = 0; b < 3; b++) {
    char path[512]; snprintf(path, sizeof path, "%s/c-%s", root, names[b]);
    tidelog_options o; tidelog_options_init(&o); o.backend = backends[b]; o.sync = TIDELOG_SYNC_NEVER;
    tidelog_journal *j;
    if (tidelog_journal_open((const uint8_t *)path, strlen(path), &o, &j) != TIDELOG_OK) { fprintf(stderr, "open failed\n"); return 1; }
    for (int i = 0; i < 1000; i++) tidelog_append(j, (const uint8_t *)"warmup", 6, ev.data, ev.len, NULL);
    double t0 = now();
    for (long i = 0; i < n; i++) tidelog_append(j, (const uint8_t *)"bench", 5, ev.data, ev.len, NULL);
    double dt = now() - t0;
    printf("C tidelog_append %-6s (no sync, 1 event)                %9ld ops  %10.0f ns/op  %12.0f ops/s\n", names[b], n, dt * 1e9 / n, n / dt);
    tidelog_journal_free(j);
  }
  enc_free(&ev);
  return 0;
}
