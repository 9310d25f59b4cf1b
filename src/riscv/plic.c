/* SiFive Platform-Level Interrupt Controller, laid out as on QEMU's virt
 * board and as Linux's irq-sifive-plic and OpenSBI's plic drivers expect
 * (RISC-V PLIC Specification 1.0.0):
 *
 *   base + 4*id                          priority of source id (1..nr)
 *   base + 0x1000 + 4*(id/32)            pending bits (read-only)
 *   base + 0x2000 + 0x80*ctx + 4*(id/32) enable bits of a context
 *   base + 0x200000 + 0x1000*ctx         priority threshold of a context
 *   base + 0x200004 + 0x1000*ctx         claim (read) / complete (write)
 *
 * Context 2h is hart h in M-mode (drives MEIP), 2h+1 the same hart in
 * S-mode (drives SEIP).
 *
 * Sources are level-triggered. The gateway (spec chapter "Interrupt
 * Gateways") turns a high line into one request; once claimed, no new request
 * is forwarded until the completion, after which a line that is still high
 * makes the source pending again. A line that drops while the request still
 * waits to be claimed withdraws it (as QEMU does), so a device whose reason to
 * interrupt went away before the claim does not produce a spurious one.
 *
 * plic_set_irq may be called from any thread; one mutex guards all state and
 * is held while hart_set_mip runs (which only sets bits and wakes the hart,
 * never calling back here), so the MEIP/SEIP levels always match the state. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../vmstate.h"

#include "board.h"

#define PLIC_MAX_SOURCES 1023
#define PLIC_PRIORITY_MASK 7           /* 3 priority bits, as on QEMU's virt */
#define PLIC_NR_CONTEXTS (2 * MAX_HARTS)
#define PLIC_WORDS ((PLIC_MAX_SOURCES + 1 + 31) / 32)

#define PLIC_PENDING_BASE   0x1000
#define PLIC_ENABLE_BASE    0x2000
#define PLIC_ENABLE_STRIDE  0x80
#define PLIC_CONTEXT_BASE   0x200000
#define PLIC_CONTEXT_STRIDE 0x1000

struct plic {
	pthread_mutex_t lock;
	struct rv_cpu *m;
	unsigned nr_sources;                  /* valid ids: 1..nr_sources */
	uint32_t priority[PLIC_MAX_SOURCES + 1];
	uint32_t line[PLIC_WORDS];            /* input level of each source */
	uint32_t pending[PLIC_WORDS];
	uint32_t claimed[PLIC_WORDS];         /* claimed, awaiting completion */
	uint32_t enable[PLIC_NR_CONTEXTS][PLIC_WORDS];
	uint32_t threshold[PLIC_NR_CONTEXTS];
	bool eip[PLIC_NR_CONTEXTS];           /* level last given to the hart */
};

static bool bit_get(const uint32_t *w, unsigned id)
{
	return w[id / 32] >> (id % 32) & 1;
}

static void bit_set(uint32_t *w, unsigned id, bool v)
{
	if (v)
		w[id / 32] |= 1u << (id % 32);
	else
		w[id / 32] &= ~(1u << (id % 32));
}

/* The highest-priority pending source enabled for ctx above its threshold
 * (ties: the lowest id, spec "Interrupt Priorities"); 0 if none. */
static unsigned plic_best(const struct plic *p, unsigned ctx)
{
	unsigned best = 0;
	uint32_t best_prio = p->threshold[ctx];

	for (unsigned w = 0; w <= p->nr_sources / 32; w++) {
		uint32_t bits = p->pending[w] & p->enable[ctx][w];
		while (bits) {
			unsigned id = w * 32 + (unsigned)__builtin_ctz(bits);
			bits &= bits - 1;
			if (p->priority[id] > best_prio) {
				best_prio = p->priority[id];
				best = id;
			}
		}
	}
	return best;
}

static void plic_update(struct plic *p)
{
	for (unsigned ctx = 0; ctx < PLIC_NR_CONTEXTS; ctx++) {
		unsigned hart = ctx / 2;
		bool level = plic_best(p, ctx) != 0;

		if (level == p->eip[ctx])
			continue;
		p->eip[ctx] = level;
		if (hart < (unsigned)p->m->nr_harts && p->m->harts[hart])
			hart_set_mip(p->m->harts[hart], (ctx & 1) ? MIP_SEIP : MIP_MEIP, level);
	}
}

void plic_set_irq(void *opaque, unsigned irq, int level)
{
	struct plic *p = opaque;

	if (irq == 0 || irq > p->nr_sources)
		return;
	pthread_mutex_lock(&p->lock);
	bit_set(p->line, irq, level);
	/* Gateway: forward while high unless a request is in progress. */
	if (!bit_get(p->claimed, irq))
		bit_set(p->pending, irq, level);
	plic_update(p);
	pthread_mutex_unlock(&p->lock);
}

static uint32_t plic_claim(struct plic *p, unsigned ctx)
{
	unsigned id = plic_best(p, ctx);

	if (id) {
		bit_set(p->pending, id, false);
		bit_set(p->claimed, id, true);
	}
	return id;
}

static void plic_complete(struct plic *p, unsigned ctx, uint32_t id)
{
	/* Completing an id that is not enabled for this context, or was not
	 * claimed, is silently ignored (spec "Interrupt Completion"). */
	if (id == 0 || id > p->nr_sources || !bit_get(p->enable[ctx], id) ||
	    !bit_get(p->claimed, id))
		return;
	bit_set(p->claimed, id, false);
	if (bit_get(p->line, id))
		bit_set(p->pending, id, true);
}

static uint32_t source_mask(const struct plic *p, unsigned word)
{
	uint32_t mask = ~0u;

	if (word == 0)
		mask &= ~1u;  /* source 0 does not exist */
	if (word == p->nr_sources / 32)
		mask &= (p->nr_sources % 32 == 31) ? ~0u : (2u << (p->nr_sources % 32)) - 1;
	else if (word > p->nr_sources / 32)
		mask = 0;
	return mask;
}

static uint32_t plic_read32(struct plic *p, uint64_t off)
{
	if (off < PLIC_PENDING_BASE) {
		unsigned id = (unsigned)(off / 4);
		return id >= 1 && id <= p->nr_sources ? p->priority[id] : 0;
	}
	if (off < PLIC_ENABLE_BASE) {
		unsigned w = (unsigned)((off - PLIC_PENDING_BASE) / 4);
		return w < PLIC_WORDS ? p->pending[w] : 0;
	}
	if (off < PLIC_CONTEXT_BASE) {
		uint64_t ctx = (off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE;
		unsigned w = (unsigned)((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4);
		return ctx < PLIC_NR_CONTEXTS && w < PLIC_WORDS ? p->enable[ctx][w] : 0;
	}
	{
		uint64_t ctx = (off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE;
		uint64_t reg = (off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE;
		uint32_t v;

		if (ctx >= PLIC_NR_CONTEXTS)
			return 0;
		if (reg == 0)
			return p->threshold[ctx];
		if (reg != 4)
			return 0;
		v = plic_claim(p, (unsigned)ctx);
		plic_update(p);
		return v;
	}
}

static void plic_write32(struct plic *p, uint64_t off, uint32_t v)
{
	if (off < PLIC_PENDING_BASE) {
		unsigned id = (unsigned)(off / 4);
		if (id >= 1 && id <= p->nr_sources)
			p->priority[id] = v & PLIC_PRIORITY_MASK;
	} else if (off < PLIC_ENABLE_BASE) {
		/* pending bits are read-only */
		return;
	} else if (off < PLIC_CONTEXT_BASE) {
		uint64_t ctx = (off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE;
		unsigned w = (unsigned)((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4);
		if (ctx < PLIC_NR_CONTEXTS && w < PLIC_WORDS)
			p->enable[ctx][w] = v & source_mask(p, w);
	} else {
		uint64_t ctx = (off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE;
		uint64_t reg = (off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE;

		if (ctx >= PLIC_NR_CONTEXTS)
			return;
		if (reg == 0)
			p->threshold[ctx] = v & PLIC_PRIORITY_MASK;
		else if (reg == 4)
			plic_complete(p, (unsigned)ctx, v);
	}
	plic_update(p);
}

/* Registers are 32 bits; an aligned 64-bit access is two of them (low word
 * first), anything narrower or misaligned reads 0 and writes nothing. */
static uint64_t plic_read(void *opaque, uint64_t off, unsigned size)
{
	struct plic *p = opaque;
	uint64_t v = 0;

	if ((size != 4 && size != 8) || (off & (size - 1)))
		return 0;
	pthread_mutex_lock(&p->lock);
	v = plic_read32(p, off);
	if (size == 8)
		v |= (uint64_t)plic_read32(p, off + 4) << 32;
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void plic_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct plic *p = opaque;

	if ((size != 4 && size != 8) || (off & (size - 1)))
		return;
	pthread_mutex_lock(&p->lock);
	plic_write32(p, off, (uint32_t)value);
	if (size == 8)
		plic_write32(p, off + 4, (uint32_t)(value >> 32));
	pthread_mutex_unlock(&p->lock);
}

static const struct mmio_ops plic_ops = {
	.read = plic_read,
	.write = plic_write,
};

/* Maps the PLIC at base (BOARD_PLIC_SIZE bytes) and makes it the VM's
 * interrupt controller (vm->set_irq). nr_sources: highest source id, the
 * device tree's riscv,ndev. */
struct plic *plic_create(struct rv_cpu *m, uint64_t base, unsigned nr_sources)
{
	struct plic *p;

	if (nr_sources == 0 || nr_sources > PLIC_MAX_SOURCES) {
		warn("plic: %u sources (1 to %d)", nr_sources, PLIC_MAX_SOURCES);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->m = m;
	p->nr_sources = nr_sources;
	if (vm_add_mmio(m->vm, base, BOARD_PLIC_SIZE, &plic_ops, p, "plic")) {
		free(p);
		return NULL;
	}
	m->vm->set_irq = plic_set_irq;
	m->vm->irq_ctx = p;
	return p;
}

/* Power-on: priorities, enables, thresholds zero, nothing pending or
 * claimed; the input lines keep their level (the devices drive them, and
 * reset them themselves), and every hart's external-interrupt bit drops. */
void plic_reset(struct plic *p)
{
	pthread_mutex_lock(&p->lock);
	memset(p->priority, 0, sizeof(p->priority));
	memset(p->pending, 0, sizeof(p->pending));
	memset(p->claimed, 0, sizeof(p->claimed));
	memset(p->enable, 0, sizeof(p->enable));
	memset(p->threshold, 0, sizeof(p->threshold));
	for (unsigned ctx = 0; ctx < PLIC_NR_CONTEXTS; ctx++)
		p->eip[ctx] = true;   /* so that plic_update lowers every line */
	plic_update(p);
	pthread_mutex_unlock(&p->lock);
}

/* Everything the guest programmed and the gateway's state (version 1). */
int plic_state(struct plic *p, struct vmstate *s)
{
	int ver = vms_version(s, 1);

	if (ver < 0)
		return ver;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i <= PLIC_MAX_SOURCES; i++)
		vms_u32(s, &p->priority[i]);
	for (unsigned w = 0; w < PLIC_WORDS; w++) {
		vms_u32(s, &p->line[w]);
		vms_u32(s, &p->pending[w]);
		vms_u32(s, &p->claimed[w]);
	}
	for (unsigned ctx = 0; ctx < PLIC_NR_CONTEXTS; ctx++) {
		for (unsigned w = 0; w < PLIC_WORDS; w++)
			vms_u32(s, &p->enable[ctx][w]);
		vms_u32(s, &p->threshold[ctx]);
	}
	if (s->loading) {
		for (unsigned i = 0; i <= PLIC_MAX_SOURCES; i++)
			p->priority[i] &= PLIC_PRIORITY_MASK;
		for (unsigned w = 0; w < PLIC_WORDS; w++) {
			/* ids past nr_sources (and id 0) do not exist */
			for (unsigned b = 0; b < 32; b++) {
				unsigned id = w * 32 + b;
				if (id == 0 || id > p->nr_sources) {
					bit_set(p->line, id, false);
					bit_set(p->pending, id, false);
					bit_set(p->claimed, id, false);
				}
			}
			/* The gateway never holds a request that is claimed or
			 * whose line is low: a file that says so is refused the
			 * spurious interrupt (found by tests/fuzz/fuzz_plic). */
			p->pending[w] &= p->line[w] & ~p->claimed[w];
		}
		for (unsigned ctx = 0; ctx < PLIC_NR_CONTEXTS; ctx++) {
			p->threshold[ctx] &= PLIC_PRIORITY_MASK;
			for (unsigned w = 0; w < PLIC_WORDS; w++)
				p->enable[ctx][w] &= source_mask(p, w);
			/* the opposite of what it should be: plic_update then
			 * drives every hart's line afresh */
			p->eip[ctx] = plic_best(p, ctx) == 0;
		}
		plic_update(p);
	}
	pthread_mutex_unlock(&p->lock);
	return vms_error(s);
}

void plic_destroy(struct plic *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}
