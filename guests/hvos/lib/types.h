// Fixed-width types shared by the kernel and user programs.
// hvos is freestanding: no libc headers, so we name our own.
#ifndef HVOS_TYPES_H
#define HVOS_TYPES_H

typedef unsigned char      u8;
typedef unsigned short     u16;
typedef unsigned int       u32;
typedef unsigned long      u64;
typedef signed char        i8;
typedef short              i16;
typedef int                i32;
typedef long               i64;
typedef unsigned long      usize;

#define NULL ((void *)0)
#define U64_MAX (~0UL)

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type)   __builtin_va_arg(ap, type)
#define va_end(ap)         __builtin_va_end(ap)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
