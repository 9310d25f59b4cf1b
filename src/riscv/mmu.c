/* Address translation (privileged spec 4.3-4.4: Sv39, Sv48), the soft TLB
 * refills and the slow paths of loads and stores (misaligned, MMIO, pages
 * holding decoded code, HTIF tohost). */
#include <string.h>

#include "../vm.h"
#include "cpu.h"
#include "cache.h"

#define PTE_V (1ULL << 0)
#define PTE_R (1ULL << 1)
#define PTE_W (1ULL << 2)
#define PTE_X (1ULL << 3)
#define PTE_U (1ULL << 4)
#define PTE_G (1ULL << 5)
#define PTE_A (1ULL << 6)
#define PTE_D (1ULL << 7)
#define PPN_MASK ((1ULL << 44) - 1)

static const uint64_t page_fault_cause[3] = {
	CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT, CAUSE_FETCH_PAGE_FAULT
};
static const uint64_t access_fault_cause[3] = {
	CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_ACCESS
};

static int fault(struct hart *h, uint64_t cause, uint64_t va)
{
	h->exc_cause = cause;
	h->exc_tval = va;
	return -1;
}

/* --- the soft TLB's contexts (cpu.h) ---
 * An entry stays until its context is dropped: sfence.vma retires the tags
 * of the contexts it covers (they are never handed out again, so their
 * entries can never hit), and only when the 12-bit tag space is used up
 * are the tables emptied. That is the whole cost of a full flush, and
 * privilege changes and satp writes cost none. Keying contexts by the whole
 * satp (not the ASID alone) is more than 4.1.11 asks: a new root under an
 * old ASID still gets fresh translations. */

#define VPN_MASK ((1ULL << TLB_TAG_SHIFT) - 1)

/* Empty everything and restart the tags; the spaces keep their satp. */
static void tlb_wipe(struct hart *h)
{
	for (unsigned i = 0; i < TLB_SIZE; i++) {
		h->tlb_r[i].vpn = TLB_INVALID;
		h->tlb_w[i].vpn = TLB_INVALID;
		h->tlb_x[i].vpn = TLB_INVALID;
	}
	memset(h->jcache, 0, sizeof(h->jcache));
	for (unsigned s = 0; s < TLB_SPACES; s++)
		memset(h->tlb_space[s].tag, 0, sizeof(h->tlb_space[s].tag));
	memset(h->tlb_gtag, 0, sizeof(h->tlb_gtag));
	h->tlb_next_tag = 1;
	h->tlb_super_lo = UINT64_MAX;
	h->tlb_super_hi = 0;
	memset(h->tlb_code_pages, 0, sizeof(h->tlb_code_pages));
	h->stats.tlb[TLBF_WIPE]++;
}

static uint64_t space_tag(struct hart *h, unsigned kind)
{
	struct rv_tlb_space *sp = &h->tlb_space[h->tlb_cur];

	if (!sp->tag[kind])
		sp->tag[kind] = (uint16_t)h->tlb_next_tag++;
	return (uint64_t)sp->tag[kind] << TLB_TAG_SHIFT;
}

void tlb_select(struct hart *h)
{
	uint64_t s = h->mstatus;
	int priv = h->priv, dpriv = priv;
	bool bare = (h->satp >> 60) == 0;
	unsigned kind;

	/* three tags at most below: none may be wiped by another */
	if (unlikely(h->tlb_next_tag == 0 || h->tlb_next_tag > TLB_TAG_MAX - 2))
		tlb_wipe(h);
	/* 3.1.6.3: MPRV moves M-mode loads and stores (not fetches) to MPP */
	if (priv == PRV_M && (s & MSTATUS_MPRV))
		dpriv = (int)((s >> 11) & 3);
	if (bare || priv == PRV_M) {
		h->tlb_xtag = h->tlb_gxtag = 0;
	} else {
		uint16_t *g = &h->tlb_gtag[priv == PRV_U ? 0 : 1];
		h->tlb_xtag = space_tag(h, priv == PRV_U ? TLBK_FETCH_U : TLBK_FETCH_S);
		if (!*g)
			*g = (uint16_t)h->tlb_next_tag++;
		h->tlb_gxtag = (uint64_t)*g << TLB_TAG_SHIFT;
	}
	if (bare || dpriv == PRV_M) {
		h->tlb_dtag = 0;
		return;
	}
	/* SUM matters in S only */
	kind = dpriv == PRV_U ? TLBK_U : (s & MSTATUS_SUM) ? TLBK_SUM : TLBK_S;
	if (s & MSTATUS_MXR)
		kind++;
	h->tlb_dtag = space_tag(h, kind);
}

void tlb_switch_space(struct hart *h)
{
	struct rv_tlb_space *sp;
	unsigned victim = 0;

	h->tlb_clock++;
	/* global translations of one MODE are no use under another */
	if (h->satp >> 60 && h->satp >> 60 != h->tlb_gmode) {
		memset(h->tlb_gtag, 0, sizeof(h->tlb_gtag));
		h->tlb_gmode = h->satp >> 60;
	}
	sp = &h->tlb_space[h->tlb_cur];
	if (sp->satp != h->satp) {
		h->stats.tlb[TLBF_SPACE_SWITCH]++;
		for (unsigned i = 0; i < TLB_SPACES; i++) {
			if (h->tlb_space[i].satp == h->satp && h->tlb_space[i].last_use) {
				victim = i;
				goto found;
			}
			if (h->tlb_space[i].last_use < h->tlb_space[victim].last_use)
				victim = i;
		}
		/* the least recently used space's tags go with it */
		h->stats.tlb[TLBF_SPACE_NEW]++;
		sp = &h->tlb_space[victim];
		memset(sp, 0, sizeof(*sp));
		sp->satp = h->satp;
	found:
		h->tlb_cur = (int)victim;
		sp = &h->tlb_space[victim];
	}
	sp->last_use = h->tlb_clock;
	tlb_select(h);
}

/* Retire the tags of every space, or of those of one ASID. */
static void tlb_retire(struct hart *h, bool has_asid, uint64_t asid)
{
	for (unsigned s = 0; s < TLB_SPACES; s++) {
		struct rv_tlb_space *sp = &h->tlb_space[s];
		if (!has_asid || ((sp->satp >> 44) & 0xffff) == asid)
			memset(sp->tag, 0, sizeof(sp->tag));
	}
	if (!has_asid) {
		memset(h->tlb_gtag, 0, sizeof(h->tlb_gtag));
		h->tlb_super_lo = UINT64_MAX;
		h->tlb_super_hi = 0;
		memset(h->tlb_code_pages, 0, sizeof(h->tlb_code_pages));
	}
}

/* Drop the entries of one 4 KiB page in every context: its slot in each
 * table, and the jump cache entries of pcs in it (2048 slots). */
static void tlb_drop_page(struct hart *h, uint64_t va)
{
	uint64_t vpn = (va >> 12) & VPN_MASK;
	unsigned idx = (unsigned)vpn & (TLB_SIZE - 1), j0 = (unsigned)(va >> 1) & (JCACHE_SIZE - 1) & ~2047u;

	if ((h->tlb_r[idx].vpn & VPN_MASK) == vpn)
		h->tlb_r[idx].vpn = TLB_INVALID;
	if ((h->tlb_w[idx].vpn & VPN_MASK) == vpn)
		h->tlb_w[idx].vpn = TLB_INVALID;
	if ((h->tlb_x[idx].vpn & VPN_MASK) == vpn)
		h->tlb_x[idx].vpn = TLB_INVALID;
	if (!(h->tlb_code_pages[(vpn / 64) % 64] & (1ULL << (vpn % 64))))
		return;
	for (unsigned j = j0; j < j0 + 2048; j++)
		if ((h->jcache[j].va >> 12) == va >> 12)
			h->jcache[j].block = NULL;
}

void tlb_sfence_vma(struct hart *h, bool has_va, uint64_t va, bool has_asid, uint64_t asid)
{
	/* 4.1.11: ASIDLEN is 16; the bits above are ignored here */
	asid &= 0xffff;
	if (has_va && !(va >= h->tlb_super_lo && va <= h->tlb_super_hi)) {
		/* Entries are per 4 KiB page; a superpage's others are only
		 * found by retiring the contexts (below). Over-flushing the
		 * other ASIDs' and the global entries of va is allowed. */
		h->stats.tlb[TLBF_PAGE]++;
		tlb_drop_page(h, va);
		return;
	}
	/* Without an ASID, global mappings go too; with one, 4.2.1 lets
	 * them stay (the global fetch tags do), and dropping the whole space
	 * of that ASID is simpler and allowed. */
	h->stats.tlb[has_asid ? TLBF_SFENCE_ASID : TLBF_SFENCE]++;
	tlb_retire(h, has_asid, asid);
	tlb_select(h);
}

void tlb_flush_remote(struct hart *h)
{
	h->stats.tlb[TLBF_REMOTE]++;
	tlb_retire(h, false, 0);
	tlb_switch_space(h);
}

void tlb_flush(struct hart *h)
{
	tlb_wipe(h);
	tlb_switch_space(h);
}

/* Host pointer for a physical range inside main RAM (or, when rom is set,
 * any other guest memory region, such as the board's reset ROM, which the
 * CPU may fetch and read but never write), else NULL. */
static uint8_t *phys_ptr(struct rv_cpu *m, uint64_t pa, unsigned len, bool rom)
{
	if (pa - m->ram_base < m->ram_size && len <= m->ram_size - (pa - m->ram_base))
		return m->ram + (pa - m->ram_base);
	if (rom)
		return gmem_ptr(&m->vm->mem, pa, len);
	return NULL;
}

/* A store, AMO or page-walk A/D update by the CPU to RAM page `page`
 * (main RAM is guest memory region 0): the first one after the log was
 * (re)armed marks the page and lets it into the write TLB again. */
static inline void rv_dirty_note(struct rv_cpu *m, uint64_t page)
{
	if (unlikely(m->page_flags[page] & PAGE_DIRTY_LOG)) {
		gmem_dirty_page(&m->vm->mem, 0, page);
		__atomic_fetch_and(&m->page_flags[page], (uint8_t)~PAGE_DIRTY_LOG, __ATOMIC_RELAXED);
	}
}

/* The walk; *span (when asked) gets log2 of the leaf's size, 12 for a
 * 4 KiB page or none, and *global whether the mapping is global (4.3.1:
 * G on a pointer makes everything below it global). */
static int translate(struct hart *h, uint64_t va, enum access acc, uint64_t *pa, unsigned *span,
		     bool *global)
{
	uint64_t g = 0;
	int priv = h->priv;
	uint64_t mode = h->satp >> 60, a, mstatus = h->mstatus;
	int levels, vabits;

	if (acc != ACC_EXEC && priv == PRV_M && (mstatus & MSTATUS_MPRV))
		priv = (int)((mstatus >> 11) & 3);
	if (priv == PRV_M || mode == 0) {
		*pa = va;
		return 0;
	}
	levels = mode == 9 ? 4 : 3;
	vabits = 12 + 9 * levels;
	/* 4.3.2/4.4: bits above the VA width must equal its top bit */
	if ((int64_t)(va << (64 - vabits)) >> (64 - vabits) != (int64_t)va)
		return fault(h, page_fault_cause[acc], va);

	a = (h->satp & PPN_MASK) << 12;
	for (int lvl = levels - 1; lvl >= 0; lvl--) {
		uint64_t pte_addr = a + ((va >> (12 + 9 * lvl)) & 511) * 8;
		uint8_t *p = phys_ptr(h->cpu, pte_addr, 8, false);
		uint64_t pte, ppn, need;

		if (!p)
			return fault(h, access_fault_cause[acc], va);
		/* PTEs are 8-aligned, and RAM is page-aligned on the host */
	again:
		pte = __atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE);
		/* reserved bits 63:54 (no Svnapot/Svpbmt here) must be zero */
		if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte >> 54))
			return fault(h, page_fault_cause[acc], va);
		ppn = (pte >> 10) & PPN_MASK;
		g |= pte & PTE_G;
		if (!(pte & (PTE_R | PTE_X))) {
			a = ppn << 12;
			continue;
		}
		/* leaf: permissions (4.3.1), SUM and MXR (3.1.6.3) */
		if (pte & PTE_U) {
			if (priv == PRV_S && (acc == ACC_EXEC || !(mstatus & MSTATUS_SUM)))
				return fault(h, page_fault_cause[acc], va);
		} else if (priv == PRV_U) {
			return fault(h, page_fault_cause[acc], va);
		}
		switch (acc) {
		case ACC_EXEC: need = pte & PTE_X; break;
		case ACC_WRITE: need = pte & PTE_W; break;
		default:
			need = (pte & PTE_R) || ((mstatus & MSTATUS_MXR) && (pte & PTE_X));
		}
		if (!need)
			return fault(h, page_fault_cause[acc], va);
		/* misaligned superpage */
		if (ppn & ((1ULL << (9 * lvl)) - 1))
			return fault(h, page_fault_cause[acc], va);
		/* A and D are set by the hardware walker (allowed by 4.3.2 step 7) */
		if (!(pte & PTE_A) || (acc == ACC_WRITE && !(pte & PTE_D))) {
			/* 4.3.2 step 7: the update must be atomic with the load
			 * of step 2 (another hart, or the guest kernel on another
			 * hart, may change the PTE meanwhile): compare-and-swap,
			 * and walk this level again if it changed. */
			uint64_t want = pte | PTE_A | (acc == ACC_WRITE ? PTE_D : 0);
			if (!__atomic_compare_exchange_n((uint64_t *)p, &pte, want, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				goto again;
			rv_dirty_note(h->cpu, (pte_addr - h->cpu->ram_base) >> 12);
		}
		ppn |= (va >> 12) & ((1ULL << (9 * lvl)) - 1);
		*pa = (ppn << 12) | (va & 0xfff);
		if (span) {
			*span = 12 + 9 * (unsigned)lvl;
			*global = g != 0;
		}
		return 0;
	}
	return fault(h, page_fault_cause[acc], va);
}

int mmu_translate(struct hart *h, uint64_t va, enum access acc, uint64_t *pa)
{
	return translate(h, va, acc, pa, NULL, NULL);
}

/* Translate for a TLB fill: a superpage widens the range whose sfence.vma
 * of one address drops contexts (tlb_sfence_vma). */
static int translate_fill(struct hart *h, uint64_t va, enum access acc, uint64_t *pa,
			  bool *global)
{
	unsigned span = 12;
	bool g = false;

	if (translate(h, va, acc, pa, &span, &g))
		return -1;
	if (global)
		*global = g;
	if (span > 12) {
		uint64_t lo = va & ~((1ULL << span) - 1), hi = lo | ((1ULL << span) - 1);
		if (lo < h->tlb_super_lo)
			h->tlb_super_lo = lo;
		if (hi > h->tlb_super_hi)
			h->tlb_super_hi = hi;
	}
	return 0;
}

static void tlb_fill(struct rv_tlb_entry *e, uint64_t tag, uint64_t va, uint64_t pa, uint8_t *host)
{
	e->vpn = (va >> 12) | tag;
	e->pa_page = pa >> 12;
	/* host points at pa; addend maps the page base: host_page - va_page */
	e->addend = (uintptr_t)(host - (pa & 0xfff)) - (uintptr_t)(va & ~0xfffULL);
}

static inline unsigned tlb_index(uint64_t va)
{
	return (va >> 12) & (TLB_SIZE - 1);
}

/* One access that stays within a page. */
static int load_one(struct hart *h, uint64_t va, unsigned size, uint64_t *val)
{
	struct rv_cpu *m = h->cpu;
	uint64_t pa;
	uint8_t *p;

	if (translate_fill(h, va, ACC_READ, &pa, NULL))
		return -1;
	p = phys_ptr(m, pa, size, true);
	if (p) {
		uint64_t v = 0;
		memcpy(&v, p, size);
		*val = v;
		tlb_fill(&h->tlb_r[tlb_index(va)], h->tlb_dtag, va, pa, p);
		return 0;
	}
	if (vm_mmio_read(m->vm, pa, size, val))
		return fault(h, CAUSE_LOAD_ACCESS, va);
	return 0;
}

int mmu_load_slow(struct hart *h, uint64_t va, unsigned size, uint64_t *val)
{
	uint64_t v = 0;

	if ((va & 0xfff) + size <= 0x1000)
		return load_one(h, va, size, val);
	/* misaligned across a page: byte by byte, little-endian */
	for (unsigned i = 0; i < size; i++) {
		uint64_t b;
		if (load_one(h, va + i, 1, &b))
			return -1;
		v |= b << (8 * i);
	}
	*val = v;
	return 0;
}

/* Returns 1 when the store hit decoded code, so the current block ends. */
static int store_one(struct hart *h, uint64_t va, unsigned size, uint64_t val)
{
	struct rv_cpu *m = h->cpu;
	uint64_t pa, page;
	uint8_t *p, flags;
	int ret = 0;

	if (translate_fill(h, va, ACC_WRITE, &pa, NULL))
		return -1;
	p = phys_ptr(m, pa, size, false);
	if (!p) {
		/* A device write may tell another hart to look at memory (an
		 * IPI through the CLINT): first act on what this hart was asked
		 * to do (cache.c, code_drop_write_mappings). */
		if (unlikely(atomic_load_explicit(&h->attention, memory_order_relaxed)))
			hart_attend(h);
		if (vm_mmio_write(m->vm, pa, size, val))
			return fault(h, CAUSE_STORE_ACCESS, va);
		return 0;
	}
	memcpy(p, &val, size);
	page = (pa - m->ram_base) >> 12;
	/* PAGE_CODE is set by other harts' threads (cache.c: they then ask
	 * this hart to drop its write mappings of the page) */
	flags = __atomic_load_n(&m->page_flags[page], __ATOMIC_SEQ_CST);
	if (unlikely(flags)) {
		rv_dirty_note(m, page);
		if (flags & PAGE_CODE) {
			code_invalidate_page(m, page);
			ret = 1;
		}
		if ((flags & PAGE_WATCH) && m->watch) {
			m->watch(m->watch_opaque, pa, size);
			return 1;
		}
	}
	tlb_fill(&h->tlb_w[tlb_index(va)], h->tlb_dtag, va, pa, p);
	return ret;
}

int mmu_store_slow(struct hart *h, uint64_t va, unsigned size, uint64_t val)
{
	int ret = 0;

	if ((va & 0xfff) + size <= 0x1000)
		return store_one(h, va, size, val);
	/* Check both pages first so that a fault leaves memory unchanged. */
	{
		uint64_t pa;
		if (mmu_translate(h, va, ACC_WRITE, &pa) ||
		    mmu_translate(h, (va | 0xfff) + 1, ACC_WRITE, &pa))
			return -1;
	}
	for (unsigned i = 0; i < size; i++) {
		int r = store_one(h, va + i, 1, (val >> (8 * i)) & 0xff);
		if (r < 0)
			return -1;
		ret |= r;
	}
	return ret;
}

void *mmu_amo_ptr(struct hart *h, uint64_t va, unsigned size, bool is_lr)
{
	struct rv_cpu *m = h->cpu;
	uint64_t pa, page;
	uint8_t *p;

	/* 8.2-8.4: misaligned LR/SC/AMO raise address-misaligned */
	if (va & (size - 1)) {
		fault(h, is_lr ? CAUSE_MISALIGNED_LOAD : CAUSE_MISALIGNED_STORE, va);
		return NULL;
	}
	if (mmu_translate(h, va, is_lr ? ACC_READ : ACC_WRITE, &pa))
		return NULL;
	p = phys_ptr(m, pa, size, false);
	if (!p) {
		fault(h, is_lr ? CAUSE_LOAD_ACCESS : CAUSE_STORE_ACCESS, va);
		return NULL;
	}
	page = (pa - m->ram_base) >> 12;
	if (!is_lr)
		rv_dirty_note(m, page);
	if (!is_lr && unlikely(__atomic_load_n(&m->page_flags[page], __ATOMIC_RELAXED) & PAGE_CODE))
		code_invalidate_page(m, page);
	h->amo_pa = pa;
	return p;
}

int mmu_fetch16(struct hart *h, uint64_t va, uint16_t *val)
{
	uint64_t pa;
	uint8_t *p;

	if (mmu_translate(h, va, ACC_EXEC, &pa))
		return -1;
	p = phys_ptr(h->cpu, pa, 2, true);
	if (!p)
		return fault(h, CAUSE_FETCH_ACCESS, va);
	memcpy(val, p, 2);
	return 0;
}

/* Host pointer to the page holding pc, through the fetch TLB. Every block
 * the jump cache gets was found through here. */
uint8_t *mmu_fetch_page(struct hart *h, uint64_t pc, uint64_t *pa_out)
{
	struct rv_tlb_entry *e = &h->tlb_x[tlb_index(pc)];
	uint64_t pa, vpn = (pc >> 12) & VPN_MASK;
	uint8_t *p;
	bool global = false;

	if (h->tlb_xtag)
		h->tlb_code_pages[(vpn / 64) % 64] |= 1ULL << (vpn % 64);
	if (likely(e->vpn == (vpn | h->tlb_xtag) || e->vpn == (vpn | h->tlb_gxtag))) {
		h->tlb_fetch_tag = e->vpn & ~VPN_MASK;
		*pa_out = (e->pa_page << 12) | (pc & 0xfff);
		return (uint8_t *)(e->addend + (pc & ~0xfffULL));
	}
	if (translate_fill(h, pc, ACC_EXEC, &pa, &global))
		return NULL;
	p = phys_ptr(h->cpu, pa, 2, true);
	if (!p) {
		fault(h, CAUSE_FETCH_ACCESS, pc);
		return NULL;
	}
	h->tlb_fetch_tag = global ? h->tlb_gxtag : h->tlb_xtag;
	tlb_fill(e, h->tlb_fetch_tag, pc, pa, p);
	*pa_out = pa;
	return p - (pa & 0xfff);
}

void rv_dirty_log(struct rv_cpu *m, bool on)
{
	uint64_t pages = m->ram_size >> 12;

	for (uint64_t p = 0; p < pages; p++)
		if (on)
			__atomic_fetch_or(&m->page_flags[p], PAGE_DIRTY_LOG, __ATOMIC_RELAXED);
		else
			__atomic_fetch_and(&m->page_flags[p], (uint8_t)~PAGE_DIRTY_LOG, __ATOMIC_RELAXED);
	for (int i = 0; i < m->nr_harts; i++)
		for (unsigned j = 0; j < TLB_SIZE; j++)
			m->harts[i]->tlb_w[j].vpn = TLB_INVALID;
}

void rv_dirty_rearm(struct rv_cpu *m)
{
	_Atomic(uint64_t) *map = m->vm->mem.dirty[0];
	uint64_t pages = m->ram_size >> 12;

	if (!map)
		return;
	for (uint64_t w = 0; w < (pages + 63) / 64; w++) {
		uint64_t v = atomic_load_explicit(&map[w], memory_order_relaxed);
		while (v) {
			uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(v);
			v &= v - 1;
			if (p < pages)
				__atomic_fetch_or(&m->page_flags[p], PAGE_DIRTY_LOG, __ATOMIC_RELAXED);
		}
	}
	for (int i = 0; i < m->nr_harts; i++)
		for (unsigned j = 0; j < TLB_SIZE; j++)
			m->harts[i]->tlb_w[j].vpn = TLB_INVALID;
}
