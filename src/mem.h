/* Guest RAM and the only sanctioned ways for devices to touch it.
 *
 * Every access checks the whole range against a RAM region (len <= size - off,
 * never off + len <= size) and fails with -EFAULT instead of handing out a
 * pointer past RAM (STYLE.md lesson 3). */
#ifndef TREVO_MEM_H
#define TREVO_MEM_H

#include "common.h"

#include <stdatomic.h>

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
	/* Dirty log for live migration (src/migrate/migration.c): one bit per
	 * 4 KiB page of each region, set (atomic OR, any thread) by every
	 * write to guest RAM that the CPU engine does not log itself: device
	 * DMA, loaders, and the software CPU's stores while logging is on. The
	 * bitmaps live until gmem_free once allocated, so a late writer never
	 * touches freed memory. */
	_Atomic(uint64_t) *dirty[GMEM_MAX_REGIONS];
	_Atomic int logging;
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

/* Devices call this after writing guest RAM through a host pointer
 * (DMA): the page joins the dirty log and the CPU engine hears of it
 * (on_dma_write). gmem_write calls it itself. */
void gmem_dma_written(struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Dirty logging. start: allocate (first time) and clear the bitmaps,
 * then log; stop: no more logging. 0 or -ENOMEM. */
int gmem_dirty_start(struct guest_mem *m);
void gmem_dirty_stop(struct guest_mem *m);
/* Mark [gpa, gpa+len) dirty when logging (any thread; cheap when not). */
void gmem_dirty_mark(struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Page p of region r dirty: one relaxed load when it already is. */
static inline void gmem_dirty_page(struct guest_mem *m, int r, uint64_t p)
{
	_Atomic(uint64_t) *w = &m->dirty[r][p / 64];
	uint64_t bit = 1ULL << (p % 64);

	if (!(atomic_load_explicit(w, memory_order_relaxed) & bit))
		atomic_fetch_or_explicit(w, bit, memory_order_relaxed);
}
/* Move region r's dirty bits into out (bit p of word p/64; OR-ed into what
 * out holds) and clear them; returns how many were set. */
uint64_t gmem_dirty_fetch(struct guest_mem *m, int r, uint64_t *out);

/* Little-endian scalar helpers for device models (virtqueue rings etc.). */
int gmem_read16(const struct guest_mem *m, uint64_t gpa, uint16_t *v);
int gmem_read32(const struct guest_mem *m, uint64_t gpa, uint32_t *v);
int gmem_read64(const struct guest_mem *m, uint64_t gpa, uint64_t *v);
int gmem_write16(struct guest_mem *m, uint64_t gpa, uint16_t v);
int gmem_write32(struct guest_mem *m, uint64_t gpa, uint32_t v);

#endif
