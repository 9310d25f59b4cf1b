/* LR/SC and AMOs (unprivileged spec, chapter 8 "A" Standard Extension).
 * All harts run on one host thread today, so plain accesses are atomic
 * with respect to other harts; device DMA never targets a word a guest
 * uses for synchronisation while the device owns the buffer. */
#include "amo.h"

bool rv_lr(struct hart *h, uint64_t va, unsigned size, uint64_t *rd)
{
	void *p = mmu_amo_ptr(h, va, size, true);

	if (!p)
		return false;
	*rd = size == 4 ? (uint64_t)(int64_t) * (int32_t *)p : *(uint64_t *)p;
	h->reservation = h->amo_pa;
	return true;
}

bool rv_sc(struct hart *h, uint64_t va, unsigned size, uint64_t val, uint64_t *rd)
{
	void *p = mmu_amo_ptr(h, va, size, false);

	if (!p)
		return false;
	*rd = h->reservation != h->amo_pa;
	if (!*rd) {
		if (size == 4)
			*(uint32_t *)p = (uint32_t)val;
		else
			*(uint64_t *)p = val;
	}
	h->reservation = ~0ULL;
	return true;
}

#define AMO_OP(stype, utype)                                                   \
	do {                                                                   \
		stype s_ = (stype)src, o_ = *(stype *)p, n_;                   \
		switch (funct5) {                                              \
		case 0x01: n_ = s_; break;                                     \
		case 0x00: n_ = (stype)((utype)o_ + (utype)s_); break;         \
		case 0x04: n_ = o_ ^ s_; break;                                \
		case 0x0c: n_ = o_ & s_; break;                                \
		case 0x08: n_ = o_ | s_; break;                                \
		case 0x10: n_ = o_ < s_ ? o_ : s_; break;                      \
		case 0x14: n_ = o_ > s_ ? o_ : s_; break;                      \
		case 0x18: n_ = (utype)o_ < (utype)s_ ? o_ : s_; break;        \
		default: n_ = (utype)o_ > (utype)s_ ? o_ : s_; break;          \
		}                                                              \
		*(stype *)p = n_;                                              \
		*rd = (uint64_t)(int64_t)o_;                                   \
	} while (0)

bool rv_amo(struct hart *h, uint64_t va, unsigned size, unsigned funct5, uint64_t src,
	    uint64_t *rd)
{
	void *p = mmu_amo_ptr(h, va, size, false);

	if (!p)
		return false;
	if (size == 4)
		AMO_OP(int32_t, uint32_t);
	else
		AMO_OP(int64_t, uint64_t);
	return true;
}
