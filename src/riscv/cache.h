/* The decoded-code cache: blocks of decoded instructions keyed by the
 * physical address of their first instruction, shared by all harts. A block
 * never crosses a page; a page holding decoded code is flagged PAGE_CODE so
 * that stores to it (which then miss the write TLB) and device DMA drop its
 * blocks. */
#ifndef TREVO_RISCV_CACHE_H
#define TREVO_RISCV_CACHE_H

#include "../vm.h"
#include "cpu.h"
#include "decode.h"

#define BLOCK_MAX_INSNS 64

/* --cpu jit: one hart's translation of a block, in that hart's code cache:
 * the checked entry (chained jumps land there) and the body (jit/jit.c). */
struct rv_jit_code {
	void *entry, *body;
	void *fwd;       /* the entry for forward jumps (translate.c) */
	uint64_t held;   /* which guest registers the code holds (translate.c) */
};

struct rv_block {
	uint64_t pa;                 /* physical address of the first instruction */
	struct rv_block *hash_next;  /* bucket chain */
	struct rv_block *page_next;  /* blocks starting in the same page */
	/* Successor blocks in the same physical page, linked on first use:
	 * [0] the taken branch or jal target, [1] the fall-through. A page's
	 * blocks are dropped together, so these never dangle. */
	struct rv_block *succ[2];
	uint64_t dead_gen;           /* generation it was dropped at (cache.c) */
	uint32_t n;                  /* instructions, without the terminator */
	uint32_t bytes;              /* bytes covered */
	/* --cpu jit: [hart] that hart's translation, NULL until it makes
	 * one; each slot is written and read by its hart's thread only
	 * (jit.c). The array follows insn[]. NULL without the translator
	 * and for a hart's scratch block. */
	struct rv_jit_code *jit;
	struct rv_insn insn[];       /* n + 1: the last one is OP_BLOCK_END */
};

struct rv_block_cache;

struct rv_block_cache *code_cache_create(struct rv_cpu *m);
void code_cache_destroy(struct rv_block_cache *c);
struct rv_block *code_cache_lookup(struct rv_block_cache *c, uint64_t pa);
/* Decode a new block at pc (physical pa, page mapped at host page).
 * labels: the interpreter's handler for each op. NULL on allocation failure
 * (find_block in exec.c then flushes the cache, retries once, and raises a
 * fetch access fault if that fails too). */
struct rv_block *code_cache_build(struct rv_block_cache *c, uint64_t pa, const uint8_t *page,
				  const void *const *labels);
/* Drop every block (cache full, out of memory, code outside main RAM
 * rewritten); only between blocks. */
void code_cache_flush(struct rv_block_cache *c);
/* --cpu jit: hart's code cache was emptied; every block's slot for that
 * hart goes (on that hart's thread). */
void code_cache_forget_jit(struct rv_block_cache *c, int hart);
/* Drop the blocks of a RAM page (index from ram_base). */
void code_invalidate_page(struct rv_cpu *m, uint64_t page);
/* Free the blocks dropped earlier that no hart can be inside any more;
 * any thread outside hart_run. */
void code_cache_reap(struct rv_block_cache *c);
/* Queue DMA writes from device threads; the CPU thread applies them. */
void code_note_dma(void *machine, uint64_t gpa, uint64_t len);
void code_apply_dma(struct rv_cpu *m);

/* Find or build the block at pc (exec.c); NULL after raising a fetch fault.
 * *cacheable is false for the scratch block of a page-crossing instruction. */
struct rv_block *rv_find_block(struct hart *h, uint64_t pc, const void *const *labels,
			       bool *cacheable);

/* The block at pc through h's jump cache: a hit needs the entry's fetch
 * tag to be the current context's or the shared one of global mappings
 * (cpu.h); on a miss, rv_find_block, and the entry is filled unless the
 * block is a page-crossing scratch one. *cacheable as rv_find_block's
 * (true on a hit); NULL after a fetch fault. Both engines' dispatch. */
static inline struct rv_block *jcache_find(struct hart *h, uint64_t pc, const void *const *labels,
					   bool *cacheable)
{
	struct rv_jcache_entry *je = &h->jcache[(pc >> 1) & (JCACHE_SIZE - 1)];
	struct rv_block *b;

	if (__builtin_expect(je->va == pc && je->block &&
			     (je->tag == h->tlb_xtag || je->tag == h->tlb_gxtag), 1)) {
		*cacheable = true;
		return je->block;
	}
	b = rv_find_block(h, pc, labels, cacheable);
	if (b && *cacheable) {
		je->va = pc;
		je->tag = h->tlb_fetch_tag;
		je->block = b;
	}
	return b;
}

/* REQ_WRITE_DROP: h's write mappings of code pages go (h's thread). */
void code_drop_write_mappings(struct hart *h);
uint8_t *mmu_fetch_page(struct hart *h, uint64_t pc, uint64_t *pa_out);

#endif
