/* Host back end of a virtual disk: a raw image file. Synchronous calls, made
 * from a device's I/O thread (never from a vCPU). */
#ifndef TREVO_BLOCKFILE_H
#define TREVO_BLOCKFILE_H

#include "../common.h"

#include <sys/uio.h>

struct blockfile;

/* "FILE[,readonly]" (what a disk model gets from vm_create_user_devices,
 * if= and model= already taken out): *path is malloc'd (free it), and who
 * prefixes the one-line message on bad input (-EINVAL). */
int blockfile_parse_spec(const char *who, const char *spec, char **path, bool *readonly);

/* An NBD URI (nbd://, nbd+unix://) rather than a file name. */
bool blockfile_is_nbd(const char *path);
/* Open path (a file, or an NBD URI) read-write (or read-only). NULL and
 * *err = -errno on failure. */
struct blockfile *blockfile_open(const char *path, bool readonly, int *err);
void blockfile_close(struct blockfile *b);
uint64_t blockfile_size(const struct blockfile *b);
bool blockfile_readonly(const struct blockfile *b);
/* Whole transfers: 0 or -errno (short reads past the end count as -EIO). */
int blockfile_preadv(struct blockfile *b, const struct iovec *iov, int cnt, uint64_t off);
int blockfile_pwritev(struct blockfile *b, const struct iovec *iov, int cnt, uint64_t off);
int blockfile_flush(struct blockfile *b);
/* Deallocate (discard) or zero a range; both leave zeroes behind. */
int blockfile_discard(struct blockfile *b, uint64_t off, uint64_t len);
int blockfile_write_zeroes(struct blockfile *b, uint64_t off, uint64_t len);

#endif
