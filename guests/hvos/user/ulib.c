// User-side helpers: printf over write(), and argument checking shared by
// the workloads.
#include "user.h"

struct outbuf {
    char buf[256];
    u64 len;
};

static void out_flush(struct outbuf *o)
{
    if (o->len)
        write(1, o->buf, o->len);
    o->len = 0;
}

static void out_put(void *ctx, char c)
{
    struct outbuf *o = ctx;
    if (o->len == sizeof(o->buf))
        out_flush(o);
    o->buf[o->len++] = c;
}

// One write() per call (for output up to 256 bytes), so lines from
// different processes do not interleave mid-line.
int printf(const char *fmt, ...)
{
    struct outbuf o;
    o.len = 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(out_put, &o, fmt, ap);
    va_end(ap);
    out_flush(&o);
    return n;
}

u64 arg_number(int argc, char **argv, int i, u64 def, u64 min, u64 max,
               const char *what, const char *usage)
{
    if (i >= argc)
        return def;
    u64 v;
    if (parse_u64(argv[i], &v) < 0) {
        printf("%s: bad number '%s' for %s\nusage: %s\n", argv[0], argv[i], what, usage);
        exit(2);
    }
    if (v < min || v > max) {
        printf("%s: %s must be between %lu and %lu\nusage: %s\n", argv[0], what, min, max, usage);
        exit(2);
    }
    return v;
}

void check_argc(int argc, char **argv, int max, const char *usage)
{
    if (argc > max) {
        printf("%s: too many arguments\nusage: %s\n", argv[0], usage);
        exit(2);
    }
}

const char *errstr(long e)
{
    static const char *const names[] = {
        [-E_FAULT] = "bad address", [-E_INVAL] = "invalid argument",
        [-E_NOENT] = "no such program", [-E_NOMEM] = "out of memory",
        [-E_AGAIN] = "too many processes", [-E_CHILD] = "no such child",
        [-E_INTR] = "interrupted", [-E_NOSYS] = "no such system call",
        [-E_NODEV] = "no such device", [-E_IO] = "I/O error",
        [-E_ROFS] = "read-only disk",
    };
    if (e < 0 && -e < (long)ARRAY_SIZE(names) && names[-e])
        return names[-e];
    return "unknown error";
}
