// Small string and memory helpers, shared by the kernel and user programs.
#ifndef HVOS_STR_H
#define HVOS_STR_H
#include "types.h"

void *memset(void *dst, int c, usize n);
void *memcpy(void *dst, const void *src, usize n);
void *memmove(void *dst, const void *src, usize n);
int   memcmp(const void *a, const void *b, usize n);
usize strlen(const char *s);
int   strcmp(const char *a, const char *b);
int   strncmp(const char *a, const char *b, usize n);
// Copies at most size-1 bytes and always terminates (when size > 0).
usize strlcpy(char *dst, const char *src, usize size);

// Strict decimal parse: digits only, no sign, no overflow. 0 on success, -1 otherwise.
int parse_u64(const char *s, u64 *out);

#endif
