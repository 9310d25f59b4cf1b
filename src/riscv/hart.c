/* Hart creation and reset state (privileged spec 3.4: reset). */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "../vm.h"
#include "cpu.h"
#include "cache.h"

#define MISA_RV64 (2ULL << 62)
#define MISA_EXT(c) (1ULL << ((c) - 'A'))

void hart_init(struct hart *h, struct rv_cpu *m, int id, bool para)
{
	memset(h, 0, sizeof(*h));
	h->cpu = m;
	h->id = id;
	h->para = para;
	h->xblock = calloc(1, sizeof(struct rv_block) + 2 * sizeof(struct rv_insn));
	if (!h->xblock)
		die_host("out of memory");
	hart_power_on(h);
}

/* Everything as at power-on, not only what 3.4 "Reset" specifies: a system
 * reset must not leave the previous run's CSRs, registers or counters. */
void hart_power_on(struct hart *h)
{
	struct rv_cpu *m = h->cpu;
	struct rv_block *xblock = h->xblock;
	struct hart_stats stats = h->stats;   /* counters live on across resets */
	int id = h->id;
	bool para = h->para;

	memset(h, 0, sizeof(*h));
	h->cpu = m;
	h->id = id;
	h->mhartid = id;
	h->para = para;
	h->xblock = xblock;
	h->stats = stats;
	h->misa = MISA_RV64 | MISA_EXT('A') | MISA_EXT('C') | MISA_EXT('D') | MISA_EXT('F') |
		  MISA_EXT('I') | MISA_EXT('M') | MISA_EXT('S') | MISA_EXT('U');
	hart_reset(h, 0);
}

void hart_reset(struct hart *h, uint64_t pc)
{
	memset(h->x, 0, sizeof(h->x));
	h->pc = pc;
	h->priv = PRV_M;
	h->mstatus = 0;
	atomic_store(&h->mip, 0);
	h->mie = 0;
	h->satp = 0;
	h->reservation = ~0ULL;
	h->timecmp = UINT64_MAX;
	h->timer_bit = MIP_MTIP;
	h->fpu.fflags = 0;
	h->fpu.frm = 0;
	if (h->para) {
		/* The monitor plays M-mode: everything but ecall from S goes to
		 * the guest kernel, the counters are readable, time via SBI. */
		h->priv = PRV_S;
		h->medeleg = 0xb1ffULL & ~(1ULL << CAUSE_SUPERVISOR_ECALL);
		h->mideleg = MIP_SSIP | MIP_STIP | MIP_SEIP;
		h->mcounteren = 7;
		/* as OpenSBI leaves it for Linux: cycle, time and instret
		 * readable from U-mode (rdtime in the vDSO) */
		h->scounteren = 7;
		h->timer_bit = MIP_STIP;
		h->mstatus = 0;
	}
	tlb_flush(h);
	atomic_store(&h->state, HART_RUNNING);
}

/* WFI (privileged spec 3.3.3): the hart sleeps in its thread's idle wait
 * (engine.c) until an interrupt is pending in mie. When one already is,
 * the guest is polling with interrupts masked by mstatus (OpenSBI 1.1
 * waits for an HSM start that way, with the MSIP of its cold-boot wake-up
 * still pending) and WFI completes at once; the thread then yields the
 * host CPU, because what it polls for is another hart's store, and that
 * hart's thread may be waiting for this core. OpenSBI 1.1 publishes
 * START_PENDING before it stores the start address (sbi_hsm_hart_start),
 * so a poller that runs on while the starter's thread is preempted in
 * between leaves for a stale address (seen as an intermittent hang of
 * 8-hart boots on a loaded host). */
void hart_wfi(struct hart *h)
{
	h->stats.wfi++;
	if (!(atomic_load(&h->mip) & h->mie))
		atomic_store(&h->state, HART_WFI);
	else
		sched_yield();
}
