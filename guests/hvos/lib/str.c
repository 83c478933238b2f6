// String and memory helpers. The compiler may emit calls to memset and memcpy
// for struct copies even in a freestanding build, so these must exist; the
// Makefile passes -fno-tree-loop-distribute-patterns so that GCC does not turn
// the loops below back into calls to themselves.
#include "str.h"

void *memset(void *dst, int c, usize n)
{
    u8 *d = dst;
    // Word stores when aligned: zeroing a page is the allocator's main cost.
    if (((usize)d & 7) == 0 && (n & 7) == 0) {
        u64 v = (u8)c;
        v |= v << 8;
        v |= v << 16;
        v |= v << 32;
        u64 *w = dst;
        for (usize i = 0; i < n / 8; i++)
            w[i] = v;
        return dst;
    }
    for (usize i = 0; i < n; i++)
        d[i] = (u8)c;
    return dst;
}

void *memcpy(void *dst, const void *src, usize n)
{
    u8 *d = dst;
    const u8 *s = src;
    if ((((usize)d | (usize)s | n) & 7) == 0) {
        u64 *wd = dst;
        const u64 *ws = src;
        for (usize i = 0; i < n / 8; i++)
            wd[i] = ws[i];
        return dst;
    }
    for (usize i = 0; i < n; i++)
        d[i] = s[i];
    return dst;
}

void *memmove(void *dst, const void *src, usize n)
{
    u8 *d = dst;
    const u8 *s = src;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    while (n-- > 0)
        d[n] = s[n];
    return dst;
}

int memcmp(const void *a, const void *b, usize n)
{
    const u8 *x = a, *y = b;
    for (usize i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

usize strlen(const char *s)
{
    usize n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, usize n)
{
    while (n > 0 && *a && *a == *b)
        a++, b++, n--;
    return n == 0 ? 0 : (u8)*a - (u8)*b;
}

usize strlcpy(char *dst, const char *src, usize size)
{
    usize len = strlen(src);
    if (size > 0) {
        usize n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
    }
    return len;
}

int parse_u64(const char *s, u64 *out)
{
    u64 v = 0;
    if (*s == 0)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        u64 d = (u64)(*s - '0');
        if (v > (U64_MAX - d) / 10)
            return -1;           // would overflow
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
