#include "mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int gmem_add_region(struct guest_mem *m, uint64_t gpa, uint64_t size)
{
	void *p;

	if (m->nr_regions >= GMEM_MAX_REGIONS || size == 0 || gpa > UINT64_MAX - size)
		return -EINVAL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	m->region[m->nr_regions++] = (struct mem_region){ gpa, size, p };
	return 0;
}

void gmem_free(struct guest_mem *m)
{
	for (int i = 0; i < m->nr_regions; i++) {
		munmap(m->region[i].host, m->region[i].size);
		free((void *)m->dirty[i]);
		m->dirty[i] = NULL;
	}
	atomic_store(&m->logging, 0);
	m->nr_regions = 0;
}

static const struct mem_region *find_region(const struct guest_mem *m, uint64_t gpa)
{
	for (int i = 0; i < m->nr_regions; i++) {
		const struct mem_region *r = &m->region[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = find_region(m, gpa);
	uint64_t off;

	if (!r)
		return NULL;
	off = gpa - r->gpa;
	if (len > r->size - off)
		return NULL;
	return r->host + off;
}

/* Walk [gpa, gpa+len) region by region; fails before copying anything if any
 * byte is outside RAM. */
static int check_range(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	while (len) {
		const struct mem_region *r = find_region(m, gpa);
		uint64_t avail;
		if (!r)
			return -EFAULT;
		avail = r->size - (gpa - r->gpa);
		if (len <= avail)
			return 0;
		len -= avail;
		gpa += avail;
	}
	return 0;
}

/* Copy between [gpa, gpa+len) and buf, region by region; to_guest picks
 * the direction. Nothing is copied unless the whole range is RAM. */
static int copy_range(const struct guest_mem *m, uint64_t gpa, uint8_t *buf, uint64_t len,
		      bool to_guest)
{
	if (check_range(m, gpa, len))
		return -EFAULT;
	while (len) {
		const struct mem_region *r = find_region(m, gpa);
		uint64_t off = gpa - r->gpa, n = r->size - off;
		if (n > len)
			n = len;
		if (to_guest)
			memcpy(r->host + off, buf, n);
		else
			memcpy(buf, r->host + off, n);
		buf += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

int gmem_read(const struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len)
{
	return copy_range(m, gpa, buf, len, false);
}

int gmem_write(struct guest_mem *m, uint64_t gpa, const void *buf, uint64_t len)
{
	if (copy_range(m, gpa, (uint8_t *)buf, len, true))
		return -EFAULT;
	gmem_dma_written(m, gpa, len);
	return 0;
}

void gmem_dma_written(struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (!len)
		return;
	gmem_dirty_mark(m, gpa, len);
	if (m->on_dma_write)
		m->on_dma_write(m->on_dma_write_opaque, gpa, len);
}

static uint64_t bitmap_words(const struct mem_region *r)
{
	return (r->size / 4096 + 63) / 64;
}

int gmem_dirty_start(struct guest_mem *m)
{
	for (int i = 0; i < m->nr_regions; i++) {
		uint64_t n = bitmap_words(&m->region[i]);
		if (!m->dirty[i] && !(m->dirty[i] = calloc(n, 8)))
			return -ENOMEM;
		for (uint64_t w = 0; w < n; w++)
			atomic_store_explicit(&m->dirty[i][w], 0, memory_order_relaxed);
	}
	atomic_store(&m->logging, 1);
	return 0;
}

void gmem_dirty_stop(struct guest_mem *m)
{
	atomic_store(&m->logging, 0);
}

void gmem_dirty_mark(struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (!atomic_load_explicit(&m->logging, memory_order_relaxed) || !len)
		return;
	/* Page by page through whatever regions the range touches; bytes
	 * outside RAM were refused before they were written. */
	for (int i = 0; i < m->nr_regions; i++) {
		const struct mem_region *r = &m->region[i];
		uint64_t lo = gpa > r->gpa ? gpa : r->gpa, end = gpa + len, rend = r->gpa + r->size;
		if (!m->dirty[i] || end <= lo || lo >= rend)
			continue;
		if (end > rend || end < gpa)
			end = rend;
		for (uint64_t p = (lo - r->gpa) / 4096; p <= (end - 1 - r->gpa) / 4096; p++)
			gmem_dirty_page(m, i, p);
	}
}

uint64_t gmem_dirty_fetch(struct guest_mem *m, int r, uint64_t *out)
{
	uint64_t n, count = 0;

	if (r < 0 || r >= m->nr_regions || !m->dirty[r])
		return 0;
	n = bitmap_words(&m->region[r]);
	for (uint64_t w = 0; w < n; w++) {
		uint64_t v = atomic_load_explicit(&m->dirty[r][w], memory_order_relaxed);
		if (v)
			v = atomic_exchange_explicit(&m->dirty[r][w], 0, memory_order_acq_rel);
		out[w] |= v;
		count += (uint64_t)__builtin_popcountll(v);
	}
	return count;
}

int gmem_read16(const struct guest_mem *m, uint64_t gpa, uint16_t *v)
{
	return gmem_read(m, gpa, v, 2);
}

int gmem_read32(const struct guest_mem *m, uint64_t gpa, uint32_t *v)
{
	return gmem_read(m, gpa, v, 4);
}

int gmem_read64(const struct guest_mem *m, uint64_t gpa, uint64_t *v)
{
	return gmem_read(m, gpa, v, 8);
}

int gmem_write16(struct guest_mem *m, uint64_t gpa, uint16_t v)
{
	return gmem_write(m, gpa, &v, 2);
}

int gmem_write32(struct guest_mem *m, uint64_t gpa, uint32_t v)
{
	return gmem_write(m, gpa, &v, 4);
}
