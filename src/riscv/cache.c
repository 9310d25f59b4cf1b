/* Decoded-code cache (see cache.h). */
#include <stdlib.h>
#include <string.h>

#include "cache.h"

#define HASH_BITS 16
#define HASH_SIZE (1u << HASH_BITS)
/* Past this many decoded instructions the cache is emptied and refilled. */
#define CACHE_MAX_INSNS (4u << 20)

struct rv_block_cache {
	struct rv_cpu *m;
	struct rv_block *hash[HASH_SIZE];
	struct rv_block **page_head;   /* per RAM page: blocks starting there */
	uint64_t nr_pages;
	struct rv_block *dead;         /* dropped, freed by code_cache_reap */
	uint64_t nr_insns;
};

static inline unsigned hash_pa(uint64_t pa)
{
	return (unsigned)(((pa >> 1) * 0x9E3779B97F4A7C15ULL) >> (64 - HASH_BITS));
}

struct rv_block_cache *code_cache_create(struct rv_cpu *m)
{
	struct rv_block_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->m = m;
	c->nr_pages = m->ram_size >> 12;
	c->page_head = calloc(c->nr_pages, sizeof(*c->page_head));
	if (!c->page_head) {
		free(c);
		return NULL;
	}
	return c;
}

static void free_list(struct rv_block *b, bool by_page)
{
	while (b) {
		struct rv_block *next = by_page ? b->page_next : b->hash_next;
		free(b);
		b = next;
	}
}

void code_cache_reap(struct rv_block_cache *c)
{
	while (c->dead) {
		struct rv_block *next = c->dead->hash_next;
		free(c->dead);
		c->dead = next;
	}
}

void code_cache_destroy(struct rv_block_cache *c)
{
	if (!c)
		return;
	code_cache_reap(c);
	for (unsigned i = 0; i < HASH_SIZE; i++)
		free_list(c->hash[i], false);
	free(c->page_head);
	free(c);
}

struct rv_block *code_cache_lookup(struct rv_block_cache *c, uint64_t pa)
{
	struct rv_block *b;

	for (b = c->hash[hash_pa(pa)]; b; b = b->hash_next)
		if (b->pa == pa)
			return b;
	return NULL;
}

static void flush_jcaches(struct rv_cpu *m)
{
	for (int i = 0; i < m->nr_harts; i++)
		memset(m->harts[i]->jcache, 0, sizeof(m->harts[i]->jcache));
}

/* Drop every block (cache full); callers are between blocks. Blocks go to
 * the dead list since the caller may still be about to return into one. */
void code_cache_flush(struct rv_block_cache *c)
{
	struct rv_cpu *m = c->m;

	for (unsigned i = 0; i < HASH_SIZE; i++) {
		struct rv_block *b = c->hash[i];
		while (b) {
			struct rv_block *next = b->hash_next;
			b->hash_next = c->dead;
			c->dead = b;
			b = next;
		}
		c->hash[i] = NULL;
	}
	memset(c->page_head, 0, c->nr_pages * sizeof(*c->page_head));
	for (uint64_t p = 0; p < c->nr_pages; p++)
		m->page_flags[p] &= ~PAGE_CODE;
	c->nr_insns = 0;
	flush_jcaches(m);
}

static void unlink_hash(struct rv_block_cache *c, struct rv_block *b)
{
	struct rv_block **pp = &c->hash[hash_pa(b->pa)];

	while (*pp && *pp != b)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = b->hash_next;
}

void code_invalidate_page(struct rv_cpu *m, uint64_t page)
{
	struct rv_block_cache *c = m->blocks;
	struct rv_block *b;

	if (page >= c->nr_pages)
		return;
	b = c->page_head[page];
	while (b) {
		struct rv_block *next = b->page_next;
		unlink_hash(c, b);
		c->nr_insns -= b->n;
		b->hash_next = c->dead;
		c->dead = b;
		b = next;
	}
	c->page_head[page] = NULL;
	m->page_flags[page] &= ~PAGE_CODE;
	flush_jcaches(m);
}

struct rv_block *code_cache_build(struct rv_block_cache *c, uint64_t pa, const uint8_t *page,
				  const void *const *labels)
{
	struct rv_cpu *m = c->m;
	struct rv_insn tmp[BLOCK_MAX_INSNS + 1];
	unsigned off = pa & 0xfff, n = 0, bytes = 0;
	struct rv_block *b;
	bool in_ram = pa - m->ram_base < m->ram_size;

	if (c->nr_insns > CACHE_MAX_INSNS)
		code_cache_flush(c);
	while (n < BLOCK_MAX_INSNS && off + 2 <= 0x1000) {
		uint32_t raw = page[off] | (uint32_t)page[off + 1] << 8;
		if ((raw & 3) == 3) {
			if (off + 4 > 0x1000)
				break; /* crosses the page: executed on its own */
			raw |= (uint32_t)page[off + 2] << 16 | (uint32_t)page[off + 3] << 24;
		}
		rv_decode(raw, &tmp[n]);
		tmp[n].pc_off = bytes;
		tmp[n].idx = n;
		tmp[n].handler = labels[tmp[n].op];
		bytes += tmp[n].len;
		off += tmp[n].len;
		if (rv_op_ends_block(&tmp[n++]))
			break;
	}
	memset(&tmp[n], 0, sizeof(tmp[n]));
	tmp[n].op = OP_BLOCK_END;
	tmp[n].handler = labels[OP_BLOCK_END];
	tmp[n].pc_off = bytes;
	tmp[n].idx = n;

	b = malloc(sizeof(*b) + (n + 1) * sizeof(struct rv_insn));
	if (!b)
		return NULL;
	b->pa = pa;
	b->succ[0] = b->succ[1] = NULL;
	b->jit = b->jit_body = NULL;
	b->n = n;
	b->bytes = bytes;
	memcpy(b->insn, tmp, (n + 1) * sizeof(struct rv_insn));
	b->hash_next = c->hash[hash_pa(pa)];
	c->hash[hash_pa(pa)] = b;
	c->nr_insns += n;
	if (in_ram) {
		uint64_t pg = (pa - m->ram_base) >> 12;
		b->page_next = c->page_head[pg];
		c->page_head[pg] = b;
		if (!(m->page_flags[pg] & PAGE_CODE)) {
			m->page_flags[pg] |= PAGE_CODE;
			/* from now on stores to this page take the slow path */
			mmu_drop_write_mappings(m, pa >> 12);
		}
	} else {
		b->page_next = NULL;
	}
	return b;
}

void code_note_dma(void *machine, uint64_t gpa, uint64_t len)
{
	struct rv_cpu *m = machine;
	uint64_t first, last;

	if (!len)
		return;
	if (gpa - m->ram_base >= m->ram_size) {
		/* Outside main RAM (the reset ROM): no per-page tracking there,
		 * so whatever was decoded goes. */
		pthread_mutex_lock(&m->dma_lock);
		m->dma_overflow = true;
		atomic_store(&m->dma_pending, 1);
		pthread_mutex_unlock(&m->dma_lock);
		return;
	}
	first = (gpa - m->ram_base) >> 12;
	last = (gpa - m->ram_base + len - 1) >> 12;
	if (last >= m->ram_size >> 12)
		last = (m->ram_size >> 12) - 1;
	for (uint64_t p = first; p <= last; p++) {
		if (!(__atomic_load_n(&m->page_flags[p], __ATOMIC_RELAXED) & PAGE_CODE))
			continue;
		pthread_mutex_lock(&m->dma_lock);
		if (m->nr_dma_pages < (int)ARRAY_SIZE(m->dma_pages))
			m->dma_pages[m->nr_dma_pages++] = p;
		else
			m->dma_overflow = true;
		atomic_store(&m->dma_pending, 1);
		pthread_mutex_unlock(&m->dma_lock);
	}
}

void code_apply_dma(struct rv_cpu *m)
{
	pthread_mutex_lock(&m->dma_lock);
	if (m->dma_overflow)
		code_cache_flush(m->blocks);
	else
		for (int i = 0; i < m->nr_dma_pages; i++)
			code_invalidate_page(m, m->dma_pages[i]);
	m->nr_dma_pages = 0;
	m->dma_overflow = false;
	atomic_store(&m->dma_pending, 0);
	pthread_mutex_unlock(&m->dma_lock);
}
