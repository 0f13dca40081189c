/* Helpers that build Tidelog's encoded event lists (see the header of tidelog.h). */
#ifndef TIDELOG_ENCODE_H
#define TIDELOG_ENCODE_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { uint8_t *data; size_t len, cap; } enc_buf;

static inline void enc_reserve(enc_buf *e, size_t n) {
  if (e->len + n <= e->cap) return;
  e->cap = (e->len + n) * 2 + 64;
  e->data = (uint8_t *)realloc(e->data, e->cap);
}
static inline void enc_u32(enc_buf *e, uint32_t v) { enc_reserve(e, 4); for (int i = 0; i < 4; i++) e->data[e->len++] = (uint8_t)(v >> (8 * i)); }
static inline void enc_u64(enc_buf *e, uint64_t v) { enc_reserve(e, 8); for (int i = 0; i < 8; i++) e->data[e->len++] = (uint8_t)(v >> (8 * i)); }
static inline void enc_blob(enc_buf *e, const void *p, size_t n) { enc_u32(e, (uint32_t)n); enc_reserve(e, n); if (n) memcpy(e->data + e->len, p, n); e->len += n; }
static inline void enc_str(enc_buf *e, const char *s) { enc_blob(e, s, strlen(s)); }
/* One event: tags is a NULL-terminated array (or NULL). */
static inline void enc_event(enc_buf *e, uint64_t timestamp, const char *manifest, const char *writer, const char *metadata,
                      const char **tags, const char *payload) {
  enc_u64(e, timestamp); enc_str(e, manifest); enc_str(e, writer); enc_str(e, metadata);
  uint32_t n = 0; while (tags && tags[n]) n++;
  enc_u32(e, n); for (uint32_t i = 0; i < n; i++) enc_str(e, tags[i]);
  enc_str(e, payload);
}
static inline void enc_free(enc_buf *e) { free(e->data); e->data = NULL; e->len = e->cap = 0; }
static inline uint32_t rd_u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint64_t rd_u64(const uint8_t *p) { return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }
#endif
