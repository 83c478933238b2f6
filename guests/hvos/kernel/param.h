// Tunable limits.
#ifndef HVOS_PARAM_H
#define HVOS_PARAM_H

#define NPROC          32        // process table size
#define KSTACK_SIZE    8192      // per-process kernel stack
#define TICK_HZ        100       // scheduler time slice: 10 ms
#define CONSOLE_RXBUF  1024      // raw input bytes buffered before flow control
#define CONSOLE_LINE   256       // longest input line (longer input is dropped)
#define MAX_MAP_PAGES  16384     // one map() call: at most 64 MiB

#endif
