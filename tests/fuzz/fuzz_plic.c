/* libFuzzer target for the PLIC (src/riscv/plic.c, included whole to see
 * its state) as a guest and its devices reach it: register reads and writes
 * anywhere in the 6 MiB window at any width (priorities, pending, enables,
 * thresholds, claim/complete of any id from any context), interrupt lines
 * raised and dropped, resets, and a state save/load round trip. After every
 * step the gateway's invariants (PLIC 1.0.0, "Interrupt Gateways") must
 * hold: nothing both pending and claimed, nothing pending whose line is
 * low, no bit for source 0 or past nr_sources, every hart's MEIP/SEIP equal
 * to "a context has an enabled source above its threshold". */
#include <stdlib.h>
#include <string.h>

#include "riscv/plic.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NR_SOURCES 53          /* not a multiple of 32: the last word is partial */
#define HARTS 3                /* fewer than MAX_HARTS: contexts without a hart */

static struct vm_config cfg;
static struct vm vm;
static struct rv_cpu cpu;
static struct hart harts[HARTS];
static uint64_t mip[HARTS];
static struct plic *plic;

/* The harts' side: the PLIC drives MEIP (even contexts) and SEIP (odd). */
void hart_set_mip(struct hart *h, uint64_t bits, bool level)
{
	int i = (int)(h - harts);

	if (i < 0 || i >= HARTS || (bits != MIP_MEIP && bits != MIP_SEIP))
		abort();
	if (level)
		mip[i] |= bits;
	else
		mip[i] &= ~bits;
}

static void check(void)
{
	for (unsigned w = 0; w < PLIC_WORDS; w++) {
		uint32_t valid = source_mask(plic, w);
		if (plic->pending[w] & plic->claimed[w])
			abort();
		if (plic->pending[w] & ~plic->line[w])
			abort();
		if ((plic->pending[w] | plic->claimed[w] | plic->line[w]) & ~valid)
			abort();
		for (unsigned c = 0; c < PLIC_NR_CONTEXTS; c++)
			if (plic->enable[c][w] & ~valid)
				abort();
	}
	for (unsigned c = 0; c < PLIC_NR_CONTEXTS; c++) {
		bool want = plic_best(plic, c) != 0;
		if (plic->threshold[c] > PLIC_PRIORITY_MASK || plic->eip[c] != want)
			abort();
		if (c / 2 < HARTS && !!(mip[c / 2] & (c & 1 ? MIP_SEIP : MIP_MEIP)) != want)
			abort();
	}
}

/* Offsets that matter, reached often: a priority, a pending word, an
 * enable word of a context (valid or not), a threshold or claim register,
 * or anything at all. */
static uint64_t offset(unsigned sel, uint32_t v)
{
	switch (sel & 7) {
	case 0: return 4 * (v % 64);
	case 1: return PLIC_PENDING_BASE + 4 * (v % 4);
	case 2: return PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * (v % (PLIC_NR_CONTEXTS + 2)) + 4 * (v / 256 % 4);
	case 3: return PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * (v % (PLIC_NR_CONTEXTS + 2));
	case 4: return PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * (v % (PLIC_NR_CONTEXTS + 2)) + 4;
	default: return v % BOARD_PLIC_SIZE;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!plic) {
		vm.cfg = &cfg;
		cpu.vm = &vm;
		cpu.nr_harts = HARTS;
		for (int i = 0; i < HARTS; i++) {
			harts[i].cpu = &cpu;
			harts[i].id = i;
			cpu.harts[i] = &harts[i];
		}
		plic = plic_create(&cpu, BOARD_PLIC_BASE, NR_SOURCES);
		if (!plic)
			abort();
	}
	/* Every line low (the devices' side), then power-on. */
	memset(plic->line, 0, sizeof(plic->line));
	plic_reset(plic);
	check();
	/* 6-byte steps: op, selector, value (4). */
	for (; size >= 6; data += 6, size -= 6) {
		unsigned op = data[0], sel = data[1];
		uint32_t v = (uint32_t)data[2] | (uint32_t)data[3] << 8 | (uint32_t)data[4] << 16 |
			     (uint32_t)data[5] << 24;
		unsigned width = 1u << (op >> 4 & 3);
		uint64_t off = offset(sel, v >> 8 | (uint32_t)sel << 24);

		switch (op & 7) {
		case 0: case 1:
			plic_write(plic, off & ~3ull, v, 4);
			break;
		case 2:
			(void)plic_read(plic, off & ~3ull, 4);
			break;
		case 3:  /* odd widths and misaligned offsets */
			if (op & 8)
				plic_write(plic, off, (uint64_t)v << 32 | v, width);
			else
				(void)plic_read(plic, off, width);
			break;
		case 4: case 5:  /* a device moves its line (any id, even invalid) */
			plic_set_irq(plic, sel % (NR_SOURCES + 4), (int)(v & 1));
			break;
		case 6:
			if (op & 8)
				plic_reset(plic);
			break;
		case 7: {  /* save, mutate, load: a hostile snapshot (rarely: slow) */
			if (sel >= 16) {
				(void)plic_read(plic, off & ~3ull, 4);
				break;
			}
			struct vmstate s, l;
			vms_init_save(&s);
			if (plic_state(plic, &s))
				abort();
			if (s.len)
				s.buf[v % s.len] ^= (uint8_t)sel;
			vms_init_load(&l, s.buf, (op & 8) ? s.len : v % (s.len + 1));
			(void)plic_state(plic, &l);
			vms_free(&s);
			break;
		}
		}
		check();
	}
	return 0;
}
