// sh: the hvos shell, process 1. Reads a line, splits it into words, runs a
// builtin or spawns the program of that name and waits for it.
#include "user.h"

#define LINE_MAX 256

struct builtin {
    const char *name;
    void (*run)(int argc, char **argv);
};

static void cmd_help(int argc, char **argv);
static void cmd_echo(int argc, char **argv);
static void cmd_ps(int argc, char **argv);
static void cmd_uptime(int argc, char **argv);
static void cmd_poweroff(int argc, char **argv);

static const struct builtin builtins[] = {
    { "help", cmd_help },
    { "echo", cmd_echo },
    { "ps", cmd_ps },
    { "uptime", cmd_uptime },
    { "poweroff", cmd_poweroff },
};

static const char *const help_text =
    "Commands (N = a decimal number; [..] = optional, default in parentheses):\n"
    "  help                     list the commands\n"
    "  echo [WORD...]           print the words\n"
    "  ps                       list the processes\n"
    "  uptime                   time since boot\n"
    "  poweroff                 shut the machine down (SBI SRST)\n"
    "  bench                    run the standard workload set, one line each\n"
    "  compute [N]              CPU-bound integer mix, N iterations (1000000)\n"
    "  memwalk [PAGES [ROUNDS]] touch PAGES pages in a fixed random order, ROUNDS times (256 16)\n"
    "  ptchurn [PAGES [ROUNDS]] map, touch and unmap PAGES pages, ROUNDS times (16 64)\n"
    "  spawn [N]                create and reap N processes (100)\n"
    "  syscall [N]              N null system calls (100000)\n"
    "  ctxsw [N]                two processes yield to each other N times each (10000)\n"
    "  io [KIB]                 write KIB KiB of text to the console (4)\n"
    "  sleep [MS]               sleep MS milliseconds (100)\n"
    "  fault [KIND]             fault on purpose: store load exec illegal priv kernel badptr (store)\n"
    "  true                     do nothing, successfully\n";

// Listed only on a machine that has the device, so the help of a machine
// without them reads as before they existed.
static const char *const help_blk =
    "  blk                      the block device: driver, size, id\n"
    "  blk read SECTOR [COUNT]  hex dump of COUNT sectors (1)\n"
    "  blk write SECTOR WORD... write the words, zero-padded, to one sector\n"
    "  disk [KIB]               read KIB KiB from sector 0, 4 KiB a request, checksum it (1024)\n";
static const char *const help_rng =
    "  rng [N]                  N random bytes from the entropy device (16)\n";
static const char *const help_keys =
    "Keys: Ctrl-C stops the running program; Ctrl-D on an empty line ends the shell.\n";

static void cmd_help(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct blkinfo bi;
    write(1, help_text, strlen(help_text));
    if (blkinfo(&bi) == 0)
        write(1, help_blk, strlen(help_blk));
    if (random(NULL, 0) == 0)
        write(1, help_rng, strlen(help_rng));
    write(1, help_keys, strlen(help_keys));
}

static void cmd_echo(int argc, char **argv)
{
    char out[LINE_MAX + 1];
    u64 n = 0;
    for (int i = 1; i < argc; i++) {
        if (i > 1)
            out[n++] = ' ';
        u64 len = strlen(argv[i]);
        memcpy(out + n, argv[i], len);
        n += len;
    }
    out[n++] = '\n';
    write(1, out, n);
}

static void cmd_ps(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct procinfo info[32];
    long n = ps(info, 32);
    printf("  PID  PPID STATE     PAGES NAME\n");
    for (long i = 0; i < n; i++)
        printf("%5d %5d %-9s %5lu %s\n", info[i].pid, info[i].ppid, info[i].state,
               info[i].pages, info[i].name);
}

static void cmd_uptime(int argc, char **argv)
{
    (void)argc, (void)argv;
    u64 us = time_us();
    printf("uptime:" TIME_FMT "\n", TIME_ARGS(us));
}

static void cmd_poweroff(int argc, char **argv)
{
    (void)argc, (void)argv;
    poweroff();
}

// Split line into words at spaces; returns the count, or -1 if too many.
static int split(char *line, char **argv)
{
    int argc = 0;
    char *s = line;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            *s++ = 0;
        if (*s == 0)
            break;
        if (argc == MAXARGS)
            return -1;
        argv[argc++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
    argv[argc] = NULL;
    return argc;
}

static void run(int argc, char **argv)
{
    for (u64 i = 0; i < ARRAY_SIZE(builtins); i++) {
        if (strcmp(argv[0], builtins[i].name) == 0) {
            builtins[i].run(argc, argv);
            return;
        }
    }
    long pid = spawn(argv[0], argv);
    if (pid == E_NOENT) {
        printf("sh: unknown command '%s' (type 'help')\n", argv[0]);
        return;
    }
    if (pid < 0) {
        printf("sh: cannot start '%s' (error %ld)\n", argv[0], pid);
        return;
    }
    int status;
    wait(pid, &status);
    // A fault was reported by the kernel, Ctrl-C echoed "^C"; nothing to add.
}

int main(void)
{
    static char line[LINE_MAX + 1];
    char *argv[MAXARGS + 1];
    printf("\nWelcome to hvos. Type 'help' for the list of commands.\n");
    for (;;) {
        printf("hvos$ ");
        long n = read(0, line, LINE_MAX);
        if (n == 0) {
            printf("\n");
            return 0;               // Ctrl-D: end of input
        }
        if (n < 0)
            continue;
        line[n] = 0;
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = 0;
        int argc = split(line, argv);
        if (argc < 0) {
            printf("sh: too many arguments (at most %d words)\n", MAXARGS);
            continue;
        }
        if (argc > 0)
            run(argc, argv);
    }
}
