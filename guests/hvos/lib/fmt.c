// A small printf engine. No floating point: hvos has no F/D extension, and
// timings are printed as fixed-point integers by the callers.
#include "fmt.h"

struct spec {
    int width;
    int zero;   // pad with '0' instead of ' '
    int left;   // '-' flag
};

static int emit_padded(putc_fn put, void *ctx, const char *s, int len, struct spec *sp)
{
    int n = 0;
    int pad = sp->width > len ? sp->width - len : 0;
    if (!sp->left)
        for (; pad > 0; pad--, n++)
            put(ctx, sp->zero ? '0' : ' ');
    for (int i = 0; i < len; i++, n++)
        put(ctx, s[i]);
    for (; pad > 0; pad--, n++)
        put(ctx, ' ');
    return n;
}

static int emit_number(putc_fn put, void *ctx, u64 v, int base, int negative, struct spec *sp)
{
    char buf[24];
    int i = sizeof(buf);
    const char *digits = "0123456789abcdef";
    do {
        buf[--i] = digits[v % base];
        v /= base;
    } while (v);
    if (negative) {
        if (sp->zero && sp->width > 0) {
            // "-0042": the sign goes before the zero padding.
            put(ctx, '-');
            struct spec rest = *sp;
            rest.width--;
            return 1 + emit_padded(put, ctx, buf + i, sizeof(buf) - i, &rest);
        }
        buf[--i] = '-';
    }
    return emit_padded(put, ctx, buf + i, sizeof(buf) - i, sp);
}

int vformat(putc_fn put, void *ctx, const char *fmt, va_list ap)
{
    int n = 0;
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(ctx, *fmt);
            n++;
            continue;
        }
        struct spec sp = { 0, 0, 0 };
        fmt++;
        for (;; fmt++) {
            if (*fmt == '0')
                sp.zero = 1;
            else if (*fmt == '-')
                sp.left = 1;
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            sp.width = sp.width * 10 + (*fmt++ - '0');
        int longs = 0;
        while (*fmt == 'l')
            longs++, fmt++;
        switch (*fmt) {
        case 'd':
        case 'i': {
            i64 v = longs ? va_arg(ap, i64) : va_arg(ap, int);
            n += emit_number(put, ctx, v < 0 ? -(u64)v : (u64)v, 10, v < 0, &sp);
            break;
        }
        case 'u': {
            u64 v = longs ? va_arg(ap, u64) : va_arg(ap, unsigned int);
            n += emit_number(put, ctx, v, 10, 0, &sp);
            break;
        }
        case 'x': {
            u64 v = longs ? va_arg(ap, u64) : va_arg(ap, unsigned int);
            n += emit_number(put, ctx, v, 16, 0, &sp);
            break;
        }
        case 'p': {
            u64 v = (u64)va_arg(ap, void *);
            put(ctx, '0');
            put(ctx, 'x');
            n += 2 + emit_number(put, ctx, v, 16, 0, &sp);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int len = 0;
            while (s[len])
                len++;
            n += emit_padded(put, ctx, s, len, &sp);
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            n += emit_padded(put, ctx, &c, 1, &sp);
            break;
        }
        case '%':
            put(ctx, '%');
            n++;
            break;
        case 0:
            return n;     // format ends in a lone '%'
        default:
            put(ctx, '%');
            put(ctx, *fmt);
            n += 2;
            break;
        }
    }
    return n;
}

struct bufctx {
    char *buf;
    usize size;
    usize len;
};

static void buf_put(void *ctx, char c)
{
    struct bufctx *b = ctx;
    if (b->len + 1 < b->size)
        b->buf[b->len] = c;
    b->len++;
}

int snprintf(char *buf, usize size, const char *fmt, ...)
{
    struct bufctx b = { buf, size, 0 };
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(buf_put, &b, fmt, ap);
    va_end(ap);
    if (size > 0)
        buf[b.len < size ? b.len : size - 1] = 0;
    return n;
}
