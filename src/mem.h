/* Guest RAM and the only sanctioned ways for devices to touch it.
 *
 * Every access checks the whole range against a RAM region (len <= size - off,
 * never off + len <= size) and fails with -EFAULT instead of handing out a
 * pointer past RAM (STYLE.md lesson 3). */
#ifndef TREVO_MEM_H
#define TREVO_MEM_H

#include "common.h"

#define GMEM_MAX_REGIONS 4

struct mem_region {
	uint64_t gpa;   /* guest-physical base */
	uint64_t size;  /* bytes */
	uint8_t *host;  /* host mapping of the whole region */
};

struct guest_mem {
	int nr_regions;
	struct mem_region region[GMEM_MAX_REGIONS];
	/* Called after devices write guest RAM (DMA), so that the software CPU
	 * can drop instructions it decoded from those bytes. NULL for KVM. */
	void (*on_dma_write)(void *opaque, uint64_t gpa, uint64_t len);
	void *on_dma_write_opaque;
};

/* Map size bytes of anonymous RAM at guest-physical gpa. -ENOMEM, -EINVAL. */
int gmem_add_region(struct guest_mem *m, uint64_t gpa, uint64_t size);
void gmem_free(struct guest_mem *m);

/* Host pointer for [gpa, gpa+len) when the whole range lies in one RAM
 * region, else NULL. */
void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy between guest RAM and a host buffer; the range may span regions
 * only if they are contiguous. 0 or -EFAULT (nothing copied). */
int gmem_read(const struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len);
int gmem_write(struct guest_mem *m, uint64_t gpa, const void *buf, uint64_t len);

/* Little-endian scalar helpers for device models (virtqueue rings etc.). */
int gmem_read16(const struct guest_mem *m, uint64_t gpa, uint16_t *v);
int gmem_read32(const struct guest_mem *m, uint64_t gpa, uint32_t *v);
int gmem_read64(const struct guest_mem *m, uint64_t gpa, uint64_t *v);
int gmem_write16(struct guest_mem *m, uint64_t gpa, uint16_t v);
int gmem_write32(struct guest_mem *m, uint64_t gpa, uint32_t v);

#endif
