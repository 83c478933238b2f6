// What user programs see of hvos: system calls and a few helpers.
#ifndef HVOS_USER_H
#define HVOS_USER_H
#include "../lib/types.h"
#include "../lib/str.h"
#include "../lib/fmt.h"
#include "../lib/abi.h"

// System calls (usys.S)
long write(int fd, const void *buf, u64 len);
long read(int fd, void *buf, u64 len);
void exit(int status) __attribute__((noreturn));
long spawn(const char *name, char *const argv[]);
long wait(long pid, int *status);
long getpid(void);
long yield(void);
long sleep(u64 ms);
long map(u64 va, u64 len);
long unmap(u64 va, u64 len);
u64  time_us(void);
long ps(struct procinfo *buf, long max);
void poweroff(void) __attribute__((noreturn));
long blkinfo(struct blkinfo *info);
long blkread(u64 sector, void *buf, u64 count);
long blkwrite(u64 sector, const void *buf, u64 count);
long blkflush(void);
long random(void *buf, u64 len);
long consput(u64 domid, const void *buf, u64 len);

// ulib.c
int printf(const char *fmt, ...);
// Argument i as a number in [min, max], or `def` if absent. On a bad value
// prints "<prog>: <what> ..." with the usage line and exits with status 2.
u64 arg_number(int argc, char **argv, int i, u64 def, u64 min, u64 max,
               const char *what, const char *usage);
void check_argc(int argc, char **argv, int max, const char *usage);
// A system call's error code as text: "no such device" for E_NODEV...
const char *errstr(long e);
// Timings in result lines: printf("... " TIME_FMT " ...\n", TIME_ARGS(us))
// prints " time=<ms>.<3 digits>ms". Everything from " time=" to the end of a
// line is timing-dependent, and the tests normalise it.
#define TIME_FMT " time=%lu.%03lums"
#define TIME_ARGS(us) (u64)(us) / 1000, (u64)(us) % 1000

#endif
