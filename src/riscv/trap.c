/* Traps (privileged spec 3.1.6-3.1.9, 3.3.2, 4.1.1): exceptions and
 * interrupts with delegation, xRET, privilege changes. */
#include "../vm.h"
#include "cpu.h"

void hart_set_priv(struct hart *h, int priv)
{
	if (h->priv != priv) {
		h->priv = priv;
		/* the TLB's contexts depend on the privilege (cpu.h) */
		tlb_select(h);
	}
}

void hart_raise(struct hart *h, uint64_t cause, uint64_t tval)
{
	bool irq = cause >> 63;
	uint64_t code = cause & ~CAUSE_INTERRUPT;
	uint64_t deleg = irq ? h->mideleg : h->medeleg;
	uint64_t s = h->mstatus;

	if (irq)
		h->stats.interrupts[code < ARRAY_SIZE(h->stats.interrupts) ? code : 0]++;
	else
		h->stats.exceptions[code < ARRAY_SIZE(h->stats.exceptions) ? code : 0]++;
	if (h->para && !irq && h->priv == PRV_S && !((deleg >> code) & 1)) {
		/* No M-mode exists in para mode: a trap that would go there means
		 * the guest is broken. */
		warn("hart %d: unhandled trap cause %llu at pc %#llx (tval %#llx)", h->id,
		     (unsigned long long)code, (unsigned long long)h->pc, (unsigned long long)tval);
		vm_request_exit(h->cpu->vm, VM_FAIL, 1);
		atomic_store(&h->state, HART_STOPPED);
		return;
	}
	if (h->priv <= PRV_S && code < 64 && ((deleg >> code) & 1)) {
		h->scause = cause;
		h->sepc = h->pc;
		h->stval = tval;
		s &= ~(MSTATUS_SPIE | MSTATUS_SPP);
		if (s & MSTATUS_SIE)
			s |= MSTATUS_SPIE;
		if (h->priv == PRV_S)
			s |= MSTATUS_SPP;
		s &= ~MSTATUS_SIE;
		h->mstatus = s;
		h->pc = (h->stvec & ~3ULL) + ((irq && (h->stvec & 1)) ? 4 * code : 0);
		hart_set_priv(h, PRV_S);
	} else {
		h->mcause = cause;
		h->mepc = h->pc;
		h->mtval = tval;
		s &= ~(MSTATUS_MPIE | MSTATUS_MPP);
		if (s & MSTATUS_MIE)
			s |= MSTATUS_MPIE;
		s |= (uint64_t)h->priv << 11;
		s &= ~MSTATUS_MIE;
		h->mstatus = s;
		h->pc = (h->mtvec & ~3ULL) + ((irq && (h->mtvec & 1)) ? 4 * code : 0);
		/* the privilege, and MPP under MPRV, choose the contexts */
		h->priv = PRV_M;
		tlb_select(h);
	}
}

/* 3.1.9: priority MEI, MSI, MTI, SEI, SSI, STI */
static const int irq_order[] = { 11, 3, 7, 9, 1, 5 };

bool hart_check_interrupts(struct hart *h)
{
	uint64_t pending = atomic_load_explicit(&h->mip, memory_order_relaxed) & h->mie;
	uint64_t m_ints, s_ints, take = 0;

	if (!pending)
		return false;
	if (atomic_load(&h->state) == HART_WFI)
		atomic_store(&h->state, HART_RUNNING);
	m_ints = pending & ~h->mideleg;
	s_ints = pending & h->mideleg;
	if (h->priv < PRV_M || (h->mstatus & MSTATUS_MIE))
		take |= m_ints;
	if (h->priv < PRV_S || (h->priv == PRV_S && (h->mstatus & MSTATUS_SIE)))
		take |= s_ints;
	if (!take)
		return false;
	for (unsigned k = 0; k < ARRAY_SIZE(irq_order); k++) {
		if (take & (1ULL << irq_order[k])) {
			hart_raise(h, CAUSE_INTERRUPT | irq_order[k], 0);
			return true;
		}
	}
	return false;
}

bool hart_mret(struct hart *h)
{
	uint64_t s = h->mstatus;
	int mpp;

	if (h->priv < PRV_M)
		return false;
	mpp = (int)((s >> 11) & 3);
	s &= ~MSTATUS_MIE;
	if (s & MSTATUS_MPIE)
		s |= MSTATUS_MIE;
	s |= MSTATUS_MPIE;
	s &= ~MSTATUS_MPP;            /* MPP = U, the least privileged mode */
	if (mpp != PRV_M)
		s &= ~MSTATUS_MPRV;
	h->mstatus = s;
	h->pc = h->mepc;
	h->priv = mpp;
	tlb_select(h);                /* MPRV and MPP changed too */
	return true;
}

bool hart_sret(struct hart *h)
{
	uint64_t s = h->mstatus;
	int spp;

	if (h->priv < PRV_S || (h->priv == PRV_S && (s & MSTATUS_TSR)))
		return false;
	spp = (s & MSTATUS_SPP) ? PRV_S : PRV_U;
	s &= ~MSTATUS_SIE;
	if (s & MSTATUS_SPIE)
		s |= MSTATUS_SIE;
	s |= MSTATUS_SPIE;
	s &= ~MSTATUS_SPP;
	s &= ~MSTATUS_MPRV;           /* 1.12: xRET to a mode below M clears MPRV */
	h->mstatus = s;
	h->pc = h->sepc;
	hart_set_priv(h, spp);
	return true;
}

void hart_set_mip(struct hart *h, uint64_t bits, bool level)
{
	if (level) {
		atomic_fetch_or(&h->mip, bits);
		/* The translator's blocks look at the attention word only,
		 * not at mip (translate.c): */
		atomic_store(&h->attention, 1);
		/* A running hart sees mip at its next block boundary; only a
		 * sleeping one needs waking. Both atomics are seq_cst, and the
		 * hart stores HART_WFI before it looks at mip again, so one of
		 * the two sides always sees the other. */
		if (atomic_load(&h->state) != HART_RUNNING)
			rv_hart_kick(h);
	} else {
		atomic_fetch_and(&h->mip, ~bits);
	}
}
