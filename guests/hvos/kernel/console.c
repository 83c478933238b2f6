// The console line discipline: what turns bytes from the UART into lines for
// read(), and user output into bytes for the UART. With a virtio-console
// (virtio_console.c) the bytes come from and go to it instead; its output is
// buffered, and console_flush() sends it: at the end of each write(), each
// kprintf, and before the reader sleeps for input. A split console's frontend
// (split.c, consfront) takes the place of both once it is connected.
//
// Input bytes are buffered raw as they arrive (rx ring) and are edited into a
// line only when a program reads: echo, backspace and Ctrl-U happen at that
// moment, not on arrival. Why: hvlab delivers scripted input one line at a
// time while the shell waits, but QEMU with piped stdin delivers the whole
// script at once during boot. Echoing on arrival would print the script before
// the banner on QEMU; echoing on consumption prints each line right after the
// prompt that reads it, in both, so the transcripts are identical and read
// like a typed session. (Typed-ahead text appears when it is read.)
//
// Ctrl-C is the exception: it acts on arrival, killing the foreground
// process group (the program the shell is running) and discarding type-ahead,
// as Linux's ISIG does. With no foreground program it is buffered and, when
// read, cancels the line being edited.
// Ctrl-D on an empty line makes read() return 0 (end of input); after some
// text it ends the line without a newline.
#include "defs.h"
#include "param.h"
#include "proc.h"
#include "pvops.h"

#define CTRL(c) ((c) - '@')
#define KEY_BACKSPACE 0x08
#define KEY_DELETE    0x7f

static u8 rx[CONSOLE_RXBUF];
static u32 rx_r, rx_w;               // free-running; index with % CONSOLE_RXBUF

static char line[CONSOLE_LINE];      // the line being edited
static u32 line_len;
static char ready[CONSOLE_LINE];     // a finished line not yet fully read
static u32 ready_len, ready_off;
static int prev_cr;                  // swallow the '\n' of "\r\n"
static int fg_pgid;                  // foreground process group, 0: none

void console_init(void)
{
    rx_r = rx_w = 0;
}

static void out(int c)
{
    if (cons_front_active)
        cons_front_putc(c);
    else if (vcon_active)
        vcon_putc(c);
    else
        pv.console_putc(c);
}

// Output post-processing: '\n' becomes "\r\n" (ONLCR), as terminals expect.
void console_putc(int c)
{
    if (c == '\n')
        out('\r');
    out(c);
}

void console_flush(void)
{
    if (cons_front_active)
        cons_front_flush();
    else if (vcon_active)
        vcon_flush();
}

void console_drain(void)
{
    if (vcon_active)
        vcon_drain();
}

static void console_puts(const char *s)
{
    while (*s)
        console_putc(*s++);
}

void console_set_foreground(int pgid) { fg_pgid = pgid; }
int  console_foreground(void) { return fg_pgid; }
int  console_rx_room(void) { return CONSOLE_RXBUF - (rx_w - rx_r); }

// Interrupt context: one byte from the UART.
void console_rx(int c)
{
    if (c == CTRL('C') && fg_pgid) {
        console_puts("^C\n");
        console_flush();
        rx_r = rx_w;                 // drop type-ahead
        proc_kill_group(fg_pgid, STATUS_INTR);
        return;
    }
    if (console_rx_room() > 0)
        rx[rx_w++ % CONSOLE_RXBUF] = (u8)c;
    wakeup(&rx_r);
}

static void line_done(void)
{
    memcpy(ready, line, line_len);
    ready_len = line_len;
    ready_off = 0;
    line_len = 0;
}

// Edits input into `line` until a line is complete. Returns 0 when a line is
// ready, 1 for end of input, E_INTR if the reader was killed.
static int edit_line(void)
{
    for (;;) {
        while (rx_r == rx_w) {
            if (curproc->killed)
                return E_INTR;
            console_flush();             // the echo so far, before we wait
            sleep_on(&rx_r);
        }
        int c = rx[rx_r++ % CONSOLE_RXBUF];
        if (console_rx_room() >= CONSOLE_RXBUF / 2) {
            uart_rx_enable(1);
            vcon_rx_resume();
            cons_front_rx_resume();
        }

        if (c == '\n' && prev_cr) {
            prev_cr = 0;
            continue;
        }
        prev_cr = (c == '\r');
        switch (c) {
        case '\r':
        case '\n':
            console_putc('\n');
            line[line_len++] = '\n';      // room kept: see the default case
            line_done();
            return 0;
        case KEY_BACKSPACE:
        case KEY_DELETE:
            if (line_len > 0) {
                line_len--;
                console_puts("\b \b");
            }
            break;
        case CTRL('U'):
            for (; line_len > 0; line_len--)
                console_puts("\b \b");
            break;
        case CTRL('C'):
            console_puts("^C\n");
            line[0] = '\n';
            line_len = 1;
            line_done();
            return 0;
        case CTRL('D'):
            if (line_len == 0)
                return 1;
            line_done();
            return 0;
        default:
            // Printable ASCII only; a full line drops further characters,
            // keeping one byte for the newline.
            if (c >= ' ' && c < KEY_DELETE && line_len < CONSOLE_LINE - 1) {
                line[line_len++] = (char)c;
                console_putc(c);
            }
            break;
        }
    }
}

int console_read(u64 user_dst, u64 n)
{
    if (ready_off == ready_len) {
        int r = edit_line();
        console_flush();
        if (r != 0)
            return r == 1 ? 0 : r;
    }
    u64 count = ready_len - ready_off;
    if (count > n)
        count = n;
    if (copyout(user_dst, ready + ready_off, count) < 0)
        return E_FAULT;
    ready_off += count;
    return (int)count;
}

int console_write(u64 user_src, u64 n)
{
    char buf[256];
    u64 done = 0;
    while (done < n) {
        u64 chunk = n - done < sizeof(buf) ? n - done : sizeof(buf);
        if (copyin(buf, user_src + done, chunk) < 0) {
            console_flush();
            return done ? (int)done : E_FAULT;
        }
        for (u64 i = 0; i < chunk; i++)
            console_putc(buf[i]);
        done += chunk;
    }
    console_flush();
    return (int)done;
}
