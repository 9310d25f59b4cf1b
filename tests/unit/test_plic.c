/* PLIC: priorities, thresholds, per-context enables, claim/complete and the
 * level-triggered gateway, observed through the harts' MEIP/SEIP bits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riscv/board.h"

#define CHECK_PREFIX "plic-"
#include "check.h"

static const struct mmio_region *plic;

static uint32_t rd(uint64_t off)
{
	return (uint32_t)plic->ops->read(plic->opaque, off, 4);
}

static void wr(uint64_t off, uint32_t v)
{
	plic->ops->write(plic->opaque, off, v, 4);
}

#define PRIO(id) (4 * (id))
#define PENDING(w) (0x1000 + 4 * (w))
#define ENABLE(ctx, w) (0x2000 + 0x80 * (ctx) + 4 * (w))
#define THRESHOLD(ctx) (0x200000 + 0x1000 * (ctx))
#define CLAIM(ctx) (0x200004 + 0x1000 * (ctx))

int main(void)
{
	struct vm_config cfg = { 0 };
	struct vm vm = { .cfg = &cfg };
	struct rv_cpu m = { .vm = &vm, .nr_harts = 2 };
	struct plic *p;
	struct hart *h0, *h1;

	for (int i = 0; i < 2; i++) {
		pthread_mutex_init(&m.hthread[i].idle_lock, NULL);
		pthread_cond_init(&m.hthread[i].idle_cond, NULL);
	}
	h0 = calloc(1, sizeof(*h0));
	h1 = calloc(1, sizeof(*h1));
	h0->cpu = h1->cpu = &m;
	h1->id = 1;
	m.harts[0] = h0;
	m.harts[1] = h1;

	p = plic_create(&m, BOARD_PLIC_BASE, 32);  /* the checks below assume 32 */
	CHECK("create", p && vm.set_irq == plic_set_irq && vm.irq_ctx == p);
	plic = bus_find(&vm.mmio, BOARD_PLIC_BASE, 4);
	CHECK("window", plic && plic->size == BOARD_PLIC_SIZE);
	if (!p || !plic)
		return 1;

	/* Registers */
	wr(PRIO(10), 3);
	CHECK("priority", rd(PRIO(10)) == 3);
	wr(PRIO(10), 0xff);
	CHECK("priority-warl", rd(PRIO(10)) == 7);
	wr(PRIO(0), 5);
	CHECK("source0-priority", rd(PRIO(0)) == 0);
	wr(ENABLE(1, 0), 0xffffffff);
	CHECK("enable-source0-hardwired", rd(ENABLE(1, 0)) == 0xfffffffe);
	wr(ENABLE(1, 0), 0);
	wr(THRESHOLD(1), 2);
	CHECK("threshold", rd(THRESHOLD(1)) == 2);
	wr(THRESHOLD(1), 0);

	/* A raised, prioritized source that no context enables: pending only. */
	wr(PRIO(10), 1);
	vm_irq_line(&vm, 10).set(vm.irq_ctx, 10, 1);
	CHECK("pending-bit", rd(PENDING(0)) == 1u << 10);
	CHECK("not-enabled-no-eip", h0->mip == 0 && h1->mip == 0);

	/* Enable for hart 0 S-mode (context 1): SEIP of hart 0 only. */
	wr(ENABLE(1, 0), 1u << 10);
	CHECK("seip", h0->mip == MIP_SEIP && h1->mip == 0);
	/* Threshold masks priorities <= threshold. */
	wr(THRESHOLD(1), 1);
	CHECK("threshold-masks", h0->mip == 0);
	CHECK("threshold-claim-0", rd(CLAIM(1)) == 0);
	wr(THRESHOLD(1), 0);
	CHECK("threshold-unmask", h0->mip == MIP_SEIP);

	/* Claim clears pending and the line; the still-high line does not
	 * re-pend until completion. */
	CHECK("claim", rd(CLAIM(1)) == 10);
	CHECK("claim-clears", rd(PENDING(0)) == 0 && h0->mip == 0);
	CHECK("claim-again-0", rd(CLAIM(1)) == 0);
	plic_set_irq(p, 10, 1);
	CHECK("no-repend-while-claimed", rd(PENDING(0)) == 0);
	wr(CLAIM(1), 10);
	CHECK("complete-high-repends", rd(PENDING(0)) == 1u << 10 && h0->mip == MIP_SEIP);
	CHECK("claim-2", rd(CLAIM(1)) == 10);
	plic_set_irq(p, 10, 0);
	wr(CLAIM(1), 10);
	CHECK("complete-low-idle", rd(PENDING(0)) == 0 && h0->mip == 0);

	/* Line dropped before the claim withdraws the request. */
	plic_set_irq(p, 10, 1);
	plic_set_irq(p, 10, 0);
	CHECK("withdrawn", rd(PENDING(0)) == 0 && h0->mip == 0);

	/* Priorities: the higher wins, ties go to the lower id. */
	wr(PRIO(3), 2);
	wr(PRIO(5), 2);
	wr(PRIO(7), 5);
	wr(ENABLE(1, 0), (1u << 3) | (1u << 5) | (1u << 7));
	plic_set_irq(p, 3, 1);
	plic_set_irq(p, 5, 1);
	plic_set_irq(p, 7, 1);
	CHECK("prio-highest", rd(CLAIM(1)) == 7);
	CHECK("prio-tie-lowest-id", rd(CLAIM(1)) == 3);
	CHECK("prio-last", rd(CLAIM(1)) == 5);
	CHECK("prio-none", rd(CLAIM(1)) == 0 && h0->mip == 0);
	/* Completing an id not enabled for the context is ignored. */
	wr(ENABLE(1, 0), (1u << 3) | (1u << 5));
	wr(CLAIM(1), 7);
	CHECK("complete-not-enabled-ignored", rd(PENDING(0)) == 0);
	wr(ENABLE(1, 0), (1u << 3) | (1u << 5) | (1u << 7));
	wr(CLAIM(1), 7);
	wr(CLAIM(1), 3);
	wr(CLAIM(1), 5);
	CHECK("complete-repends-all", rd(PENDING(0)) == ((1u << 3) | (1u << 5) | (1u << 7)));
	plic_set_irq(p, 3, 0);
	plic_set_irq(p, 5, 0);
	plic_set_irq(p, 7, 0);
	wr(ENABLE(1, 0), 0);

	/* Priority 0 never interrupts. */
	wr(PRIO(4), 0);
	wr(ENABLE(1, 0), 1u << 4);
	plic_set_irq(p, 4, 1);
	CHECK("priority-0-never", h0->mip == 0 && rd(CLAIM(1)) == 0);
	plic_set_irq(p, 4, 0);
	wr(ENABLE(1, 0), 0);

	/* Contexts: 2 = hart 1 M-mode, 3 = hart 1 S-mode. Both enabled:
	 * the first to claim takes it, the other sees nothing. */
	wr(PRIO(31), 1);
	wr(ENABLE(2, 0), 1u << 31);
	wr(ENABLE(3, 0), 1u << 31);
	plic_set_irq(p, 31, 1);
	CHECK("ctx-m-and-s", h1->mip == (MIP_MEIP | MIP_SEIP) && h0->mip == 0);
	CHECK("ctx2-claims", rd(CLAIM(2)) == 31);
	CHECK("ctx3-empty", rd(CLAIM(3)) == 0 && h1->mip == 0);
	/* Completion by the claiming context reopens the gateway. */
	plic_set_irq(p, 31, 0);
	wr(CLAIM(2), 31);
	CHECK("ctx-complete", rd(PENDING(0)) == 0 && h1->mip == 0);

	/* Source 32 (= PLIC_NR_SOURCES) is valid: riscv,ndev ids 1..32. */
	wr(PRIO(32), 1);
	wr(ENABLE(0, 1), 0xffffffff);
	CHECK("enable-word1-mask", rd(ENABLE(0, 1)) == 1);
	plic_set_irq(p, 32, 1);
	CHECK("source-32", rd(PENDING(1)) == 1 && h0->mip == MIP_MEIP);
	CHECK("source-32-claim", rd(CLAIM(0)) == 32);
	plic_set_irq(p, 32, 0);
	wr(CLAIM(0), 32);
	plic_set_irq(p, 33, 1);
	plic_set_irq(p, 0, 1);
	CHECK("out-of-range-ignored", rd(PENDING(1)) == 0 && rd(PENDING(0)) == 0);

	/* Odd accesses never fault. */
	CHECK("byte-read-0", plic->ops->read(plic->opaque, PRIO(10), 1) == 0);
	CHECK("far-context", rd(0x200000 + 0x1000 * 100) == 0 && rd(0x5ffffc) == 0);
	wr(0x5ffffc, 1);
	CHECK("64bit-read", plic->ops->read(plic->opaque, PRIO(10), 8) ==
				    ((uint64_t)rd(PRIO(11)) << 32 | rd(PRIO(10))));
	plic_destroy(p);
	free(h0);
	free(h1);
	return failures ? 1 : 0;
}
