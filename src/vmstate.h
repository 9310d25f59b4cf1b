/* Guest-visible state of a device or vCPU as a byte stream, written and
 * read by one symmetric function (STYLE.md lesson 10, as bhyve's
 * snapshot callbacks): the same code path saves and loads, so the two can
 * never drift apart.
 *
 *     static int uart_state(void *opaque, struct vmstate *s)
 *     {
 *             struct uart *u = opaque;
 *             int ver = vms_version(s, 1);    // the version this code writes
 *             if (ver < 0)
 *                     return ver;
 *             vms_u8(s, &u->ier);
 *             ...
 *             return vms_error(s);
 *     }
 *
 * Saving appends little-endian fields to a growing buffer; loading reads
 * them back from a fixed buffer. A load that runs past the end, or a
 * version newer than the code knows, sets the error (-EINVAL) and fills
 * the remaining fields with zeroes, so a truncated or corrupt snapshot never
 * reads outside its buffer. Loaded values come from a file a user may have
 * tampered with: a state function checks them (queue sizes, indices) before
 * they are used, exactly as it would check guest register writes. */
#ifndef TREVO_VMSTATE_H
#define TREVO_VMSTATE_H

#include "common.h"

struct vmstate {
	bool loading;
	uint8_t *buf;
	size_t len;      /* bytes in buf (save: written so far) */
	size_t cap;      /* save: allocated */
	size_t pos;      /* load: next byte to read */
	int err;         /* first error, 0 if none */
};

void vms_init_save(struct vmstate *s);
void vms_init_load(struct vmstate *s, const void *buf, size_t len);
/* Frees the save buffer (nothing to free for load). */
void vms_free(struct vmstate *s);

/* The version this code writes. Saving: writes it and returns it. Loading:
 * returns the version found, or -EINVAL (and sets the error) when it is 0
 * or newer than current. */
int vms_version(struct vmstate *s, uint32_t current);

void vms_u8(struct vmstate *s, uint8_t *v);
void vms_u16(struct vmstate *s, uint16_t *v);
void vms_u32(struct vmstate *s, uint32_t *v);
void vms_u64(struct vmstate *s, uint64_t *v);
void vms_i32(struct vmstate *s, int32_t *v);
void vms_bool(struct vmstate *s, bool *v);
/* An int kept as 32 bits. */
void vms_int(struct vmstate *s, int *v);
void vms_bytes(struct vmstate *s, void *p, size_t n);
/* Loading: fails (error set) unless cond holds; use for range checks of
 * loaded values. Saving: no effect. Returns cond || !loading. */
bool vms_check(struct vmstate *s, bool cond, const char *what);

/* The first error (0 if none). */
static inline int vms_error(const struct vmstate *s)
{
	return s->err;
}

#endif
