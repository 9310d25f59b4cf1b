/* Decoded-code cache (see cache.h).
 *
 * Threads: every hart thread looks blocks up, builds and drops them, so the
 * hash, the page lists, the dead list and the page flags' PAGE_CODE bit
 * change under rv_cpu.code_lock. A hart keeps blocks it found (its jcache,
 * the successor links, the block it is in) without the lock, so a dropped
 * block is freed only once no hart can be inside it, by epochs: each drop
 * bumps rv_cpu.code_gen and stamps the dropped blocks with it; a hart
 * records the generation it entered hart_run with (active_gen) and empties
 * its jcache when the generation moved (hart_attend); a block dropped at
 * generation g is freed once every hart is outside hart_run or entered it
 * at generation g or later. */
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

static void lock(struct rv_block_cache *c)
{
	pthread_mutex_lock(&c->m->code_lock);
}

static void unlock(struct rv_block_cache *c)
{
	pthread_mutex_unlock(&c->m->code_lock);
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
	struct rv_cpu *m = c->m;
	struct rv_block **pp;
	uint64_t oldest = UINT64_MAX;

	if (!__atomic_load_n(&c->dead, __ATOMIC_RELAXED))
		return;
	lock(c);
	for (int i = 0; i < m->nr_harts; i++) {
		uint64_t g = atomic_load(&m->hthread[i].active_gen);
		if (g < oldest)
			oldest = g;
	}
	pp = &c->dead;
	while (*pp) {
		struct rv_block *b = *pp;
		if (b->dead_gen <= oldest) {
			*pp = b->hash_next;
			free(b);
		} else {
			pp = &b->hash_next;
		}
	}
	unlock(c);
}

/* Blocks were dropped: a new generation, and every hart told to empty its
 * jcache before its next block. Under code_lock. */
static uint64_t new_generation(struct rv_cpu *m)
{
	uint64_t gen = atomic_fetch_add(&m->code_gen, 1) + 1;

	for (int i = 0; i < m->nr_harts; i++)
		atomic_store(&m->harts[i]->attention, 1);
	return gen;
}

void code_cache_destroy(struct rv_block_cache *c)
{
	if (!c)
		return;
	free_list(c->dead, false);
	for (unsigned i = 0; i < HASH_SIZE; i++)
		free_list(c->hash[i], false);
	free(c->page_head);
	free(c);
}

static struct rv_block *lookup_locked(struct rv_block_cache *c, uint64_t pa)
{
	struct rv_block *b;

	for (b = c->hash[hash_pa(pa)]; b; b = b->hash_next)
		if (b->pa == pa)
			return b;
	return NULL;
}

struct rv_block *code_cache_lookup(struct rv_block_cache *c, uint64_t pa)
{
	struct rv_block *b;

	lock(c);
	b = lookup_locked(c, pa);
	unlock(c);
	return b;
}

/* Drop every block (cache full); callers are between blocks. Blocks go to
 * the dead list since harts may still be about to return into one. */
static void flush_locked(struct rv_block_cache *c)
{
	struct rv_cpu *m = c->m;
	uint64_t gen = new_generation(m);

	for (unsigned i = 0; i < HASH_SIZE; i++) {
		struct rv_block *b = c->hash[i];
		while (b) {
			struct rv_block *next = b->hash_next;
			b->dead_gen = gen;
			b->hash_next = c->dead;
			c->dead = b;
			b = next;
		}
		c->hash[i] = NULL;
	}
	memset(c->page_head, 0, c->nr_pages * sizeof(*c->page_head));
	for (uint64_t p = 0; p < c->nr_pages; p++)
		__atomic_fetch_and(&m->page_flags[p], (uint8_t)~PAGE_CODE, __ATOMIC_RELAXED);
	c->nr_insns = 0;
}

void code_cache_flush(struct rv_block_cache *c)
{
	lock(c);
	flush_locked(c);
	unlock(c);
}

void code_cache_forget_jit(struct rv_block_cache *c, int hart)
{
	/* Only the hashed blocks: a dropped one is never looked up again,
	 * and the hart emptied its jcache. Slots of other harts are not
	 * touched, so their threads' lock-free reads of theirs do not race. */
	lock(c);
	for (unsigned i = 0; i < HASH_SIZE; i++)
		for (struct rv_block *b = c->hash[i]; b; b = b->hash_next)
			if (b->jit)
				b->jit[hart].entry = b->jit[hart].body = NULL;
	unlock(c);
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
	uint64_t gen;

	if (page >= c->nr_pages)
		return;
	lock(c);
	b = c->page_head[page];
	if (!b) {
		/* another hart dropped them first (or a build ran out of memory) */
		__atomic_fetch_and(&m->page_flags[page], (uint8_t)~PAGE_CODE, __ATOMIC_RELAXED);
		unlock(c);
		return;
	}
	gen = new_generation(m);
	while (b) {
		struct rv_block *next = b->page_next;
		unlink_hash(c, b);
		c->nr_insns -= b->n;
		b->dead_gen = gen;
		b->hash_next = c->dead;
		c->dead = b;
		b = next;
	}
	c->page_head[page] = NULL;
	__atomic_fetch_and(&m->page_flags[page], (uint8_t)~PAGE_CODE, __ATOMIC_RELAXED);
	unlock(c);
}

/* REQ_WRITE_DROP, on the hart's own thread: its write mappings of pages
 * that now hold code go. A store through one of them may have landed after
 * the other hart decoded the page and before this request was seen; the
 * page's blocks are dropped then. A FENCE.I on any hart waits until every
 * hart has done this for the requests posted so far (hart_fence_i), so it
 * finds the new bytes (Zifencei, chapter 3: after its FENCE.I a hart's
 * fetches see the stores to instruction memory it has observed, also
 * other harts'). */
void code_drop_write_mappings(struct hart *h)
{
	struct rv_cpu *m = h->cpu;

	for (unsigned j = 0; j < TLB_SIZE; j++) {
		struct rv_tlb_entry *e = &h->tlb_w[j];
		uint64_t page;

		if (e->vpn == TLB_INVALID)
			continue;
		page = e->pa_page - (m->ram_base >> 12);
		if (page >= m->ram_size >> 12 ||
		    !(__atomic_load_n(&m->page_flags[page], __ATOMIC_RELAXED) & PAGE_CODE))
			continue;
		e->vpn = TLB_INVALID;
		code_invalidate_page(m, page);
	}
}

struct rv_block *code_cache_build(struct rv_block_cache *c, uint64_t pa, const uint8_t *page,
				  const void *const *labels)
{
	struct rv_cpu *m = c->m;
	struct rv_insn tmp[BLOCK_MAX_INSNS + 1];
	unsigned off = pa & 0xfff, n = 0, bytes = 0;
	struct rv_block *b;
	size_t slots;
	bool in_ram = pa - m->ram_base < m->ram_size;
	uint64_t pg = in_ram ? (pa - m->ram_base) >> 12 : 0;

	lock(c);
	b = lookup_locked(c, pa);   /* another hart may have built it */
	if (b) {
		unlock(c);
		return b;
	}
	if (c->nr_insns > CACHE_MAX_INSNS)
		flush_locked(c);
	if (in_ram && !(m->page_flags[pg] & PAGE_CODE)) {
		/* From now on stores to this page take the slow path; other
		 * harts' write mappings go before the bytes are read here. */
		__atomic_fetch_or(&m->page_flags[pg], PAGE_CODE, __ATOMIC_SEQ_CST);
		for (int k = 0; k < m->nr_harts; k++)
			atomic_store(&m->hthread[k].wdrop_ticket,
				     rv_hart_request(NULL, m->harts[k], REQ_WRITE_DROP, false));
	}
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

	/* the translator's per-hart slots after the instructions */
	slots = m->jit ? (size_t)m->nr_harts : 0;
	b = malloc(sizeof(*b) + (n + 1) * sizeof(struct rv_insn) + slots * sizeof(struct rv_jit_code));
	if (!b) {
		unlock(c);
		return NULL;
	}
	b->pa = pa;
	b->succ[0] = b->succ[1] = NULL;
	b->jit = slots ? (struct rv_jit_code *)(void *)&b->insn[n + 1] : NULL;
	if (slots)
		memset(b->jit, 0, slots * sizeof(struct rv_jit_code));
	b->n = n;
	b->bytes = bytes;
	memcpy(b->insn, tmp, (n + 1) * sizeof(struct rv_insn));
	b->hash_next = c->hash[hash_pa(pa)];
	c->hash[hash_pa(pa)] = b;
	c->nr_insns += n;
	if (in_ram) {
		b->page_next = c->page_head[pg];
		c->page_head[pg] = b;
	} else {
		b->page_next = NULL;
	}
	unlock(c);
	return b;
}

static void tell_harts(struct rv_cpu *m)
{
	for (int i = 0; i < m->nr_harts; i++)
		atomic_store(&m->harts[i]->attention, 1);
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
		tell_harts(m);
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
		tell_harts(m);
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
