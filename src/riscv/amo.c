/* LR/SC and AMOs (unprivileged spec, chapter 8 "A" Standard Extension) with
 * harts on host threads of their own, x86-64 host.
 *
 * AMOs are host atomic read-modify-writes (lock-prefixed on x86, each a full
 * barrier, which covers any .aq/.rl: 8.4, 17.1).
 *
 * LR/SC: LR loads atomically and remembers the physical address and the
 * value loaded; SC stores with a compare-and-swap against that value, so it
 * fails if any other hart (or device) changed the word since, without every
 * plain store of every hart having to take a slow path to break
 * reservations (the same choice as QEMU's MTTCG). The price is ABA: if
 * other harts change the word and change it back between LR and SC, SC
 * succeeds, where 8.3 says it should fail. Sequences that compute the new
 * value from the loaded one (counters, locks, Linux's cmpxchg and atomics)
 * are exact, since the word still holds the value they computed from; an
 * algorithm that relies on SC failing after an A-B-A change of the word (a
 * lock-free stack popping with LR/SC on its head pointer) can go wrong, as
 * on QEMU. The
reservation set is the naturally aligned word (8.3 allows any set that
 * contains the bytes). A reservation is also dropped by an SC of this hart
 * (8.3) and at the end of every slice (allowed: SC may fail spuriously). */
#include "amo.h"

bool rv_lr(struct hart *h, uint64_t va, unsigned size, uint64_t *rd)
{
	void *p = mmu_amo_ptr(h, va, size, true);
	uint64_t v;

	if (!p)
		return false;
	if (size == 4)
		v = __atomic_load_n((uint32_t *)p, __ATOMIC_ACQUIRE);
	else
		v = __atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE);
	*rd = size == 4 ? (uint64_t)(int64_t)(int32_t)v : v;
	h->reservation = h->amo_pa;
	h->reservation_val = v;
	return true;
}

/* An SC or AMO may publish stores to code another hart then runs: first
 * act on this hart's pending requests (cache.c, code_drop_write_mappings). */
static inline void attend(struct hart *h)
{
	if (unlikely(atomic_load_explicit(&h->attention, memory_order_relaxed)))
		hart_attend(h);
}

bool rv_sc(struct hart *h, uint64_t va, unsigned size, uint64_t val, uint64_t *rd)
{
	void *p;
	bool ok = false;

	attend(h);
	p = mmu_amo_ptr(h, va, size, false);
	if (!p)
		return false;
	if (h->reservation == h->amo_pa) {
		if (size == 4) {
			uint32_t expect = (uint32_t)h->reservation_val;
			ok = __atomic_compare_exchange_n((uint32_t *)p, &expect, (uint32_t)val, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		} else {
			uint64_t expect = h->reservation_val;
			ok = __atomic_compare_exchange_n((uint64_t *)p, &expect, val, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		}
	}
	*rd = !ok;
	h->reservation = ~0ULL;
	return true;
}

/* min/max have no host instruction: a compare-and-swap loop. */
#define AMO_OP(stype, utype)                                                   \
	do {                                                                   \
		utype *p_ = p, s_ = (utype)src, o_;                            \
		switch (funct5) {                                              \
		case 0x01: o_ = __atomic_exchange_n(p_, s_, __ATOMIC_SEQ_CST); break; \
		case 0x00: o_ = __atomic_fetch_add(p_, s_, __ATOMIC_SEQ_CST); break; \
		case 0x04: o_ = __atomic_fetch_xor(p_, s_, __ATOMIC_SEQ_CST); break; \
		case 0x0c: o_ = __atomic_fetch_and(p_, s_, __ATOMIC_SEQ_CST); break; \
		case 0x08: o_ = __atomic_fetch_or(p_, s_, __ATOMIC_SEQ_CST); break; \
		default: {                                                     \
			utype n_;                                              \
			o_ = __atomic_load_n(p_, __ATOMIC_RELAXED);            \
			do {                                                   \
				stype so_ = (stype)o_, ss_ = (stype)s_;        \
				switch (funct5) {                              \
				case 0x10: n_ = so_ < ss_ ? o_ : s_; break;    \
				case 0x14: n_ = so_ > ss_ ? o_ : s_; break;    \
				case 0x18: n_ = o_ < s_ ? o_ : s_; break;      \
				default: n_ = o_ > s_ ? o_ : s_; break;        \
				}                                              \
			} while (!__atomic_compare_exchange_n(p_, &o_, n_, true, \
					__ATOMIC_SEQ_CST, __ATOMIC_RELAXED));  \
		}                                                              \
		}                                                              \
		*rd = (uint64_t)(int64_t)(stype)o_;                            \
	} while (0)

bool rv_amo(struct hart *h, uint64_t va, unsigned size, unsigned funct5, uint64_t src,
	    uint64_t *rd)
{
	void *p;

	attend(h);
	p = mmu_amo_ptr(h, va, size, false);
	if (!p)
		return false;
	if (size == 4)
		AMO_OP(int32_t, uint32_t);
	else
		AMO_OP(int64_t, uint64_t);
	return true;
}
