/* Small things every Trevo file uses: types, error helpers, branch hints. */
#ifndef TREVO_COMMON_H
#define TREVO_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

#define TREVO_VERSION_MAJOR 0
#define TREVO_VERSION_MINOR 2
#define TREVO_VERSION_MICRO 0
#define TREVO_VERSION "0.2.0"

/* Exit status for a usage or input error (PRODUCT.md). */
#define EXIT_USAGE 2
/* Exit status when the host fails us (out of memory, a thread or a KVM
 * object that cannot be created): sysexits.h's EX_OSERR. */
#define EXIT_HOST 71

/* Print "trevo: <message>" on stderr and exit with EXIT_USAGE: bad input
 * at start-up. Nothing the guest controls may reach it. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* The same for a host failure, exiting with EXIT_HOST. */
void die_host(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Print "trevo: <message>" on stderr and go on. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug trace, printed only when TREVO_DEBUG is set in the environment. */
void debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse sizes such as 512M, 2G, 65536 (bytes). Returns -EINVAL on junk. */
int parse_size(const char *s, uint64_t *out);

/* Read a whole file into a malloc'd buffer. Returns -errno. */
int read_file(const char *path, uint8_t **buf, size_t *len);

/* The default guest's file NAME for ARCH ("riscv", "x86"): build/guest/ARCH
 * next to the trevo binary (build/trevo or build/san/trevo). NULL if absent.
 * The result stays valid for two further calls. */
const char *guest_default_file(const char *arch, const char *name);

/* Monotonic host time in nanoseconds. */
uint64_t host_ns(void);

#endif
