/* libFuzzer target for the CLINT (src/riscv/clint.c, included whole) as
 * harts reach it: reads and writes at any offset of the 64 KiB window and
 * any width (msip of harts that exist and that do not, mtimecmp halves and
 * whole, mtime moved anywhere), with the clock advancing in between. The
 * machine has 3 harts in a CLINT laid out for 4096: an access past the
 * last hart must reach no hart (harts[3] is NULL here, so it would crash).
 * After every step, for aligned 4- and 8-byte accesses, what a read gives
 * must match a model of the registers: msip is bit 0 of the hart's MSIP,
 * mtimecmp holds what was written (halves replace halves), mtime reads
 * back what was written plus the time that passed. */
#include <stdlib.h>
#include <string.h>

#include "riscv/clint.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HARTS 3

static struct vm_config cfg;
static struct vm vm;
static struct rv_cpu cpu;
static struct hart harts[HARTS];
static uint64_t clock_now, model_cmp[HARTS];
static int model_msip[HARTS];

static struct hart *checked(struct hart *h)
{
	if (h < harts || h >= harts + HARTS)
		abort();
	return h;
}

void hart_set_mip(struct hart *h, uint64_t bits, bool level)
{
	checked(h);
	if (bits != MIP_MSIP)
		abort();
	if (level)
		h->mip |= bits;
	else
		h->mip &= ~bits;
}
void rv_hart_kick(struct hart *h) { checked(h); }
uint64_t rv_mtime(struct rv_cpu *m) { (void)m; return clock_now; }
void rv_set_mtime(struct rv_cpu *m, uint64_t now) { (void)m; clock_now = now; }
uint64_t rv_update_timers(struct rv_cpu *m) { (void)m; return UINT64_MAX; }

static const struct mmio_ops *ops = &clint_ops;

static void check(void)
{
	for (int i = 0; i < HARTS; i++) {
		if (ops->read(&cpu, CLINT_MSIP + 4 * (uint64_t)i, 4) != (uint64_t)model_msip[i] ||
		    ops->read(&cpu, CLINT_MTIMECMP + 8 * (uint64_t)i, 8) != model_cmp[i] ||
		    ops->read(&cpu, CLINT_MTIMECMP + 8 * (uint64_t)i + 4, 4) != model_cmp[i] >> 32)
			abort();
	}
	if (ops->read(&cpu, CLINT_MTIME, 8) != clock_now ||
	    ops->read(&cpu, CLINT_MTIME + 4, 4) != clock_now >> 32)
		abort();
}

/* Offsets that matter, reached often: msip words (past the last hart too),
 * mtimecmp words, mtime, or anywhere. */
static uint64_t offset(unsigned sel, uint32_t v)
{
	switch (sel & 3) {
	case 0: return CLINT_MSIP + v % (4 * (HARTS + 2));
	case 1: return CLINT_MTIMECMP + v % (8 * (HARTS + 2));
	case 2: return CLINT_MTIME - 8 + v % 24;
	default: return v % BOARD_CLINT_SIZE;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vm.cfg = &cfg;
	cpu.vm = &vm;
	cpu.nr_harts = HARTS;
	for (int i = 0; i < HARTS; i++) {
		memset(&harts[i], 0, sizeof(harts[i]));
		harts[i].cpu = &cpu;
		harts[i].id = i;
		cpu.harts[i] = &harts[i];
		model_cmp[i] = 0;
		model_msip[i] = 0;
	}
	clock_now = 0;
	/* 10-byte steps: op, selector, value (8). */
	for (; size >= 10; data += 10, size -= 10) {
		unsigned op = data[0], sel = data[1], width = 1u << (op >> 4 & 3);
		uint64_t v;
		uint64_t off;

		memcpy(&v, data + 2, 8);
		off = offset(sel, (uint32_t)(v >> 32) ^ (uint32_t)sel << 8);
		switch (op & 3) {
		case 0: {  /* an aligned 4- or 8-byte write, as a driver makes */
			unsigned sz = op & 8 ? 8 : 4;
			uint64_t o = off & ~(uint64_t)(sz - 1), before = clock_now;
			ops->write(&cpu, o, sz == 8 ? v : (uint32_t)v, sz);
			if (o < 4 * HARTS && sz == 4) {
				model_msip[o / 4] = (int)(v & 1);
			} else if (o >= CLINT_MTIMECMP && o < CLINT_MTIMECMP + 8 * HARTS) {
				uint64_t *c = &model_cmp[(o - CLINT_MTIMECMP) / 8];
				if (sz == 8)
					*c = v;
				else if (o & 4)
					*c = (*c & 0xffffffffULL) | (uint64_t)(uint32_t)v << 32;
				else
					*c = (*c & ~0xffffffffULL) | (uint32_t)v;
			} else if (o >= CLINT_MTIME && o < CLINT_MTIME + 8) {
				uint64_t want = sz == 8 ? v : o & 4 ?
					(before & 0xffffffffULL) | (uint64_t)(uint32_t)v << 32 :
					(before & ~0xffffffffULL) | (uint32_t)v;
				if (clock_now != want)
					abort();
			}
			break;
		}
		case 1:  /* any width, any alignment: only robustness */
			if (op & 8)
				ops->write(&cpu, off, v, width);
			else
				(void)ops->read(&cpu, off, width);
			/* resynchronise the model with what such a write did */
			for (int i = 0; i < HARTS; i++) {
				model_cmp[i] = harts[i].timecmp;
				model_msip[i] = !!(harts[i].mip & MIP_MSIP);
			}
			break;
		case 2:  /* time passes */
			clock_now += v >> (op >> 2 & 63);
			break;
		default:
			(void)ops->read(&cpu, off, width);
			break;
		}
		check();
	}
	return 0;
}
