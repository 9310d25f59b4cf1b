#include "mem.h"

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
	for (int i = 0; i < m->nr_regions; i++)
		munmap(m->region[i].host, m->region[i].size);
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
	if (m->on_dma_write && len)
		m->on_dma_write(m->on_dma_write_opaque, gpa, len);
	return 0;
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
