// printf-style formatting, shared by the kernel (kprintf) and user programs
// (printf). The caller supplies a function that emits one character.
//
// Supported: %d %i %u %x %p %s %c %%, the 'l' and 'll' length modifiers,
// a field width, '0' padding and '-' left alignment.
#ifndef HVOS_FMT_H
#define HVOS_FMT_H
#include "types.h"

typedef void (*putc_fn)(void *ctx, char c);

int vformat(putc_fn put, void *ctx, const char *fmt, va_list ap);
int snprintf(char *buf, usize size, const char *fmt, ...);

#endif
