/*
 * hvbox.c: every program of hvlab's Linux initramfs in one static binary,
 * linked under several names (initramfs.list); argv[0] picks the program, as
 * busybox does. Output is deterministic: no times, no pids, no addresses, so
 * a session's console can be compared byte for byte with a golden file on
 * QEMU and on hvlab (docs/linux.md).
 *
 *   init        mounts /proc, /sys, /dev; quietens the kernel console; runs sh
 *   sh          a prompt with backspace editing; builtins and /bin programs
 *   echo cat ls uname true poweroff
 *   forkwait mmapchurn pagewalk nullsys pipeping   the lab's workloads
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define PAGE_SIZE 4096UL
#define LINE_MAX_LEN 256
#define MAX_ARGS 16

/* Console log level 1: only KERN_EMERG (level 0) messages, such as
 * "reboot: Power down", still reach the console once init runs, so kernel
 * messages (e.g. "random: crng init done") cannot land inside the session
 * at a time-dependent place. syslog(2), SYSLOG_ACTION_CONSOLE_LEVEL. */
#define SYSLOG_ACTION_CONSOLE_LEVEL 8
#define QUIET_CONSOLE_LEVEL 1

static const char PROMPT[] = "hvlab# ";

/* ---- small output helpers (write(2) straight to the fd: no stdio buffer
 * is left behind when a child calls _exit or the machine powers off) ---- */

static void put(int fd, const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void out(const char *s) { put(1, s); }

static void err2(const char *who, const char *what) {
    put(2, who);
    put(2, ": ");
    put(2, what);
    put(2, "\n");
}

/* "who: what: strerror(errno)" */
static void perr(const char *who, const char *what) {
    char buf[160];
    snprintf(buf, sizeof buf, "%s: %s", what, strerror(errno));
    err2(who, buf);
}

/* Parses a decimal count argument; refuses junk, zero and overflow. */
static int parse_count(const char *who, const char *s, unsigned long max, unsigned long *v) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n == 0 || n > max || s[0] == '-') {
        char buf[96];
        snprintf(buf, sizeof buf, "bad count '%s' (1..%lu)", s, max);
        err2(who, buf);
        return -1;
    }
    *v = n;
    return 0;
}

/* Reads the count argument of a workload: argv[1], or dflt when absent. */
static int count_arg(const char *who, int argc, char **argv, int i, unsigned long dflt,
                     unsigned long max, unsigned long *v) {
    if (argc <= i) {
        *v = dflt;
        return 0;
    }
    return parse_count(who, argv[i], max, v);
}

/* ---- the workloads ---- */

/* forkwait N: fork, exec a trivial program, wait; N times (Adams and Agesen,
 * ASPLOS 2006). Each round builds and tears down a whole address space, which
 * is what shadow paging pays for with exits. */
static int cmd_forkwait(int argc, char **argv) {
    unsigned long n;
    if (count_arg("forkwait", argc, argv, 1, 100, 1000000, &n)) return 2;
    for (unsigned long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perr("forkwait", "fork");
            return 1;
        }
        if (pid == 0) {
            char *args[] = { "true", NULL };
            char *env[] = { NULL };
            execve("/bin/true", args, env);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid) {
            perr("forkwait", "waitpid");
            return 1;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            err2("forkwait", "child failed");
            return 1;
        }
    }
    printf("forkwait: %lu fork+exec+wait rounds ok\n", n);
    return 0;
}

#define CHURN_PAGES 8

/* mmapchurn N: N rounds of mmap a few anonymous pages, write every page,
 * munmap. Each round is page faults on fresh pages and a TLB shootdown. */
static int cmd_mmapchurn(int argc, char **argv) {
    unsigned long n;
    if (count_arg("mmapchurn", argc, argv, 1, 100, 10000000, &n)) return 2;
    uint64_t sum = 0;
    for (unsigned long r = 0; r < n; r++) {
        size_t len = CHURN_PAGES * PAGE_SIZE;
        volatile uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perr("mmapchurn", "mmap");
            return 1;
        }
        for (unsigned long pg = 0; pg < CHURN_PAGES; pg++) {
            volatile uint64_t *w = p + pg * (PAGE_SIZE / sizeof(uint64_t));
            if (*w != 0) {
                err2("mmapchurn", "fresh page not zero");
                return 1;
            }
            *w = r * CHURN_PAGES + pg + 1;
        }
        for (unsigned long pg = 0; pg < CHURN_PAGES; pg++)
            sum += p[pg * (PAGE_SIZE / sizeof(uint64_t))];
        if (munmap((void *)p, len) != 0) {
            perr("mmapchurn", "munmap");
            return 1;
        }
    }
    printf("mmapchurn: %lu rounds of %d pages, checksum %llu\n", n, CHURN_PAGES,
           (unsigned long long)sum);
    return 0;
}

/* xorshift64 (Marsaglia 2003) with a fixed seed: the same touches every run. */
static uint64_t xorshift64(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* pagewalk N PAGES: first touch all PAGES pages (the faults are not the point),
 * then N touches at pseudo-random pages. With 16 MiB (4096 pages) against a TLB
 * of a few dozen to a few thousand entries nearly every touch misses the TLB
 * and costs a walk: 3 references native, 15 for a 2-D Sv39 over Sv39x4 walk. */
static int cmd_pagewalk(int argc, char **argv) {
    unsigned long n, pages;
    if (count_arg("pagewalk", argc, argv, 1, 10000, 100000000, &n)) return 2;
    if (count_arg("pagewalk", argc, argv, 2, 4096, 65536, &pages)) return 2;
    size_t len = pages * PAGE_SIZE;
    volatile uint64_t *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        perr("pagewalk", "mmap");
        return 1;
    }
    const unsigned long words = PAGE_SIZE / sizeof(uint64_t);
    for (unsigned long pg = 0; pg < pages; pg++) buf[pg * words] = pg;
    uint64_t seed = 0x9E3779B97F4A7C15ULL, sum = 0;
    for (unsigned long i = 0; i < n; i++) {
        uint64_t r = xorshift64(&seed);
        unsigned long pg = (unsigned long)(r % pages);
        unsigned long word = (unsigned long)((r >> 32) % words);
        volatile uint64_t *w = &buf[pg * words + word];
        *w += i;
        sum += *w;
    }
    munmap((void *)buf, len);
    printf("pagewalk: %lu touches over %lu pages, checksum %llu\n", n, pages,
           (unsigned long long)sum);
    return 0;
}

/* nullsys N: N getppid calls through syscall(2), so glibc cannot answer
 * from a cache: each is one ecall trap into the kernel and one sret back. */
static int cmd_nullsys(int argc, char **argv) {
    unsigned long n;
    if (count_arg("nullsys", argc, argv, 1, 10000, 1000000000, &n)) return 2;
    long first = syscall(SYS_getppid);
    for (unsigned long i = 1; i < n; i++) {
        if (syscall(SYS_getppid) != first) {
            err2("nullsys", "getppid changed");
            return 1;
        }
    }
    printf("nullsys: %lu getppid calls ok\n", n);
    return 0;
}

/* pipeping N: a byte goes to a child through one pipe and comes back, plus
 * one, through another; N round trips, each two context switches. */
static int cmd_pipeping(int argc, char **argv) {
    unsigned long n;
    if (count_arg("pipeping", argc, argv, 1, 1000, 100000000, &n)) return 2;
    int to_child[2], to_parent[2];
    if (pipe(to_child) != 0 || pipe(to_parent) != 0) {
        perr("pipeping", "pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perr("pipeping", "fork");
        return 1;
    }
    if (pid == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        unsigned char b;
        while (read(to_child[0], &b, 1) == 1) {
            b++;
            if (write(to_parent[1], &b, 1) != 1) _exit(1);
        }
        _exit(0);
    }
    close(to_child[0]);
    close(to_parent[1]);
    int ok = 1;
    for (unsigned long i = 0; i < n && ok; i++) {
        unsigned char sent = (unsigned char)i, got;
        if (write(to_child[1], &sent, 1) != 1 || read(to_parent[0], &got, 1) != 1 ||
            got != (unsigned char)(sent + 1))
            ok = 0;
    }
    close(to_child[1]);
    int status;
    waitpid(pid, &status, 0);
    close(to_parent[0]);
    if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        err2("pipeping", "round trip failed");
        return 1;
    }
    printf("pipeping: %lu round trips ok\n", n);
    return 0;
}

/* ---- small utilities ---- */

static int cmd_true(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return 0;
}

static int cmd_echo(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (i > 1) out(" ");
        out(argv[i]);
    }
    out("\n");
    return 0;
}

static int cat_fd(int fd) {
    char buf[1024];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) {
        if (write(1, buf, (size_t)r) != r) return -1;
    }
    return r < 0 ? -1 : 0;
}

static int cmd_cat(int argc, char **argv) {
    if (argc < 2) return cat_fd(0) ? 1 : 0;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0 || cat_fd(fd) != 0) {
            perr("cat", argv[i]);
            status = 1;
        }
        if (fd >= 0) close(fd);
    }
    return status;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define LS_MAX 256

/* Lists one directory, sorted (readdir order is the filesystem's business),
 * directories marked with a slash. */
static int ls_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        perr("ls", path);
        return 1;
    }
    char *names[LS_MAX];
    int n = 0;
    struct dirent *e;
    int status = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == LS_MAX) {
            err2("ls", "too many entries, list cut");
            status = 1;
            break;
        }
        size_t len = strlen(e->d_name);
        char *s = malloc(len + 2);
        if (!s) break;
        memcpy(s, e->d_name, len + 1);
        if (e->d_type == DT_DIR) {
            s[len] = '/';
            s[len + 1] = '\0';
        }
        names[n++] = s;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_name);
    for (int i = 0; i < n; i++) {
        out(names[i]);
        out("\n");
        free(names[i]);
    }
    return status;
}

static int cmd_ls(int argc, char **argv) {
    if (argc < 2) return ls_dir(".");
    int status = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perr("ls", argv[i]);
            status = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (argc > 2) {
                out(argv[i]);
                out(":\n");
            }
            status |= ls_dir(argv[i]);
        } else {
            out(argv[i]);
            out("\n");
        }
    }
    return status;
}

static int cmd_uname(int argc, char **argv) {
    struct utsname u;
    if (uname(&u) != 0) {
        perr("uname", "uname");
        return 1;
    }
    int all = argc > 1 && strcmp(argv[1], "-a") == 0;
    if (argc > 1 && !all) {
        err2("uname", "usage: uname [-a]");
        return 2;
    }
    if (all)
        printf("%s %s %s %s %s\n", u.sysname, u.nodename, u.release, u.version, u.machine);
    else
        printf("%s\n", u.sysname);
    return 0;
}

/* Powers the machine off: reboot(2) with LINUX_REBOOT_CMD_POWER_OFF. The
 * kernel's pm_power_off is the SBI SRST call when the firmware offers it
 * (arch/riscv/kernel/sbi.c), so the machine stops with a clean status. */
static int cmd_poweroff(int argc, char **argv) {
    (void)argc;
    (void)argv;
    sync();
    reboot(RB_POWER_OFF);
    perr("poweroff", "reboot");
    return 1;
}

/* ---- the shell ---- */

struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
};

static int cmd_help(int argc, char **argv);
static int cmd_cd(int argc, char **argv);

/* Builtins run inside the shell; everything else is a program in /bin. */
static const struct command builtins[] = {
    { "help", cmd_help, "this list" },
    { "cd", cmd_cd, "cd DIR: change directory" },
    { "poweroff", cmd_poweroff, "power the machine off (SBI SRST)" },
};

static const struct command programs[] = {
    { "echo", cmd_echo, "echo ARGS..." },
    { "cat", cmd_cat, "cat [FILE...]" },
    { "ls", cmd_ls, "ls [DIR...]" },
    { "uname", cmd_uname, "uname [-a]" },
    { "true", cmd_true, "exit with status 0" },
    { "forkwait", cmd_forkwait, "forkwait N: fork+exec+wait N times" },
    { "mmapchurn", cmd_mmapchurn, "mmapchurn N: mmap, touch, munmap 8 pages, N rounds" },
    { "pagewalk", cmd_pagewalk, "pagewalk N [PAGES]: N random touches over PAGES pages" },
    { "nullsys", cmd_nullsys, "nullsys N: N getppid system calls" },
    { "pipeping", cmd_pipeping, "pipeping N: N pipe round trips between two processes" },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int cmd_help(int argc, char **argv) {
    (void)argc;
    (void)argv;
    out("builtins:\n");
    for (size_t i = 0; i < COUNT(builtins); i++) printf("  %-10s %s\n", builtins[i].name, builtins[i].help);
    printf("programs in /bin:\n");
    for (size_t i = 0; i < COUNT(programs); i++) printf("  %-10s %s\n", programs[i].name, programs[i].help);
    fflush(stdout);
    return 0;
}

static int cmd_cd(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/";
    if (chdir(dir) != 0) {
        perr("cd", dir);
        return 1;
    }
    return 0;
}

/* Terminal set-up: no canonical mode and no echo, so the shell itself echoes
 * and edits (the same on ttyS0 and hvc0); output post-processing stays on, so
 * "\n" still reaches the terminal as "\r\n". */
static int raw_console(struct termios *saved) {
    if (tcgetattr(0, saved) != 0) return 0;
    struct termios t = *saved;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHONL | ISIG | IEXTEN);
    t.c_iflag &= ~(tcflag_t)(ICRNL | INLCR | IGNCR | IXON);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(0, TCSANOW, &t);
    return 1;
}

#define CH_BS 0x08
#define CH_DEL 0x7f
#define CH_CTRL_U 0x15
#define CH_CTRL_C 0x03
#define CH_CTRL_D 0x04

/* Reads one line with echo and editing. Returns its length, or -1 at end of
 * input. A CR ends the line, and a LF straight after it is swallowed, so
 * "\r", "\n" and "\r\n" each end exactly one line. */
static int read_line(char *line, int max, int echo) {
    static int after_cr;
    int len = 0;
    for (;;) {
        unsigned char c;
        ssize_t r = read(0, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return len > 0 ? len : -1;
        if (c == '\n' && after_cr) {
            after_cr = 0;
            continue;
        }
        after_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            if (echo) out("\n");
            line[len] = '\0';
            return len;
        }
        if (c == CH_BS || c == CH_DEL) {
            if (len > 0) {
                len--;
                if (echo) out("\b \b");
            }
        } else if (c == CH_CTRL_U) {
            while (len > 0) {
                len--;
                if (echo) out("\b \b");
            }
        } else if (c == CH_CTRL_C) {
            if (echo) out("^C\n");
            len = 0;
            line[0] = '\0';
            return 0;
        } else if (c == CH_CTRL_D) {
            if (len == 0) return -1;
        } else if (c >= 0x20 && c < 0x7f && len < max - 1) {
            line[len++] = (char)c;
            if (echo) {
                char s[2] = { (char)c, 0 };
                out(s);
            }
        }
    }
}

static int split_args(char *line, char **argv) {
    int argc = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ' || *p == '\t') *p++ = '\0';
        if (!*p) break;
        if (argc == MAX_ARGS) return -1;
        argv[argc++] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
    }
    argv[argc] = NULL;
    return argc;
}

static void run_program(int argc, char **argv, struct termios *saved, int have_tty) {
    char path[LINE_MAX_LEN + 8];
    if (strchr(argv[0], '/'))
        snprintf(path, sizeof path, "%s", argv[0]);
    else
        snprintf(path, sizeof path, "/bin/%s", argv[0]);
    if (access(path, X_OK) != 0) {
        err2(argv[0], "not found (try help)");
        return;
    }
    (void)argc;
    /* The program gets the terminal as a normal program expects it. */
    if (have_tty) tcsetattr(0, TCSANOW, saved);
    pid_t pid = fork();
    if (pid < 0) {
        perr("sh", "fork");
    } else if (pid == 0) {
        char *env[] = { "PATH=/bin", "HOME=/", "TERM=vt100", NULL };
        execve(path, argv, env);
        perr(argv[0], "exec");
        _exit(127);
    } else {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
            char buf[64];
            snprintf(buf, sizeof buf, "exit status %d", WEXITSTATUS(status));
            err2(argv[0], buf);
        } else if (WIFSIGNALED(status)) {
            char buf[64];
            snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(status));
            err2(argv[0], buf);
        }
    }
    if (have_tty) {
        struct termios dummy;
        raw_console(&dummy);
    }
}

static int cmd_sh(int argc, char **argv) {
    (void)argc;
    (void)argv;
    struct termios saved;
    int have_tty = raw_console(&saved);
    char line[LINE_MAX_LEN];
    char *args[MAX_ARGS + 1];
    for (;;) {
        out(PROMPT);
        int len = read_line(line, sizeof line, have_tty);
        if (len < 0) break;
        int n = split_args(line, args);
        if (n < 0) {
            err2("sh", "too many arguments");
            continue;
        }
        if (n == 0) continue;
        if (strcmp(args[0], "exit") == 0) break;
        const struct command *b = NULL;
        for (size_t i = 0; i < COUNT(builtins); i++)
            if (strcmp(args[0], builtins[i].name) == 0) b = &builtins[i];
        if (b)
            b->fn(n, args);
        else
            run_program(n, args, &saved, have_tty);
    }
    if (have_tty) tcsetattr(0, TCSANOW, &saved);
    return 0;
}

/* ---- init ---- */

static void mount_or_warn(const char *src, const char *dir, const char *type) {
    mkdir(dir, 0755);
    if (mount(src, dir, type, 0, NULL) != 0 && errno != EBUSY) perr("init", dir);
}

/* PID 1: sets up the filesystems and the console, then runs the shell again
 * whenever it exits, reaping every orphan meanwhile (PID 1 must not exit:
 * the kernel panics when it does). */
static int cmd_init(int argc, char **argv) {
    (void)argc;
    (void)argv;
    klogctl(SYSLOG_ACTION_CONSOLE_LEVEL, NULL, QUIET_CONSOLE_LEVEL);
    mount_or_warn("proc", "/proc", "proc");
    mount_or_warn("sysfs", "/sys", "sysfs");
    mount_or_warn("devtmpfs", "/dev", "devtmpfs");
    mount_or_warn("tmpfs", "/tmp", "tmpfs");
    /* /dev/console is the console the kernel chose (console= on the command
     * line, else the device tree's stdout-path): ttyS0 or hvc0 alike. */
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2) close(fd);
    }
    out("hvlab init: /proc /sys /dev /tmp mounted\n");
    out("hvlab init: type help for commands, poweroff to stop\n");
    for (;;) {
        pid_t sh = fork();
        if (sh < 0) {
            perr("init", "fork");
            sleep(1);
            continue;
        }
        if (sh == 0) {
            char *args[] = { "sh", NULL };
            char *env[] = { "PATH=/bin", "HOME=/", "TERM=vt100", NULL };
            execve("/bin/sh", args, env);
            perr("init", "exec /bin/sh");
            _exit(127);
        }
        pid_t w;
        int status;
        while ((w = wait(&status)) != sh) {
            if (w < 0 && errno != EINTR) break;
        }
        out("hvlab init: shell exited, starting a new one\n");
    }
}

static const struct command all[] = {
    { "init", cmd_init, NULL },
    { "sh", cmd_sh, NULL },
    { "poweroff", cmd_poweroff, NULL },
};

int main(int argc, char **argv) {
    const char *name = argc > 0 ? argv[0] : "sh";
    const char *slash = strrchr(name, '/');
    if (slash) name = slash + 1;
    /* The kernel runs /init with argv[0] "/init". */
    for (size_t i = 0; i < COUNT(all); i++)
        if (strcmp(name, all[i].name) == 0) return all[i].fn(argc, argv);
    for (size_t i = 0; i < COUNT(programs); i++) {
        if (strcmp(name, programs[i].name) == 0) {
            int r = programs[i].fn(argc, argv);
            fflush(stdout);
            return r;
        }
    }
    err2(name, "unknown program name for hvbox");
    return 127;
}
