/* libFuzzer target for the SBI call handler of para mode (src/riscv/sbi.c,
 * included whole): ecalls with any extension, function and arguments from
 * any of four harts, in any of their HSM states (SBI 2.0: Base, TIME, IPI,
 * RFENCE, HSM, SRST, DBCN and the legacy calls). The handler must answer
 * with an SBI error code rather than crash, name only harts that exist, and
 * hand the console only guest RAM (DBCN's physical buffers are checked
 * here byte for byte against the RAM region, which ASan does not watch:
 * guest RAM is an mmap). */
#include <stdlib.h>
#include <string.h>

#include "riscv/sbi.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HARTS 4
#define RAM_BASE 0x80000000ULL
#define RAM_SIZE 0x4000ULL

static struct vm_config cfg;
static struct vm vm;
static struct rv_cpu cpu;
static struct hart harts[HARTS];
static const uint8_t *legacy_words;
static size_t legacy_left;

static struct hart *checked(struct hart *h)
{
	if (h < harts || h >= harts + HARTS)
		abort();
	return h;
}

void hart_set_mip(struct hart *h, uint64_t bits, bool level)
{
	checked(h);
	if (bits != MIP_SSIP && bits != MIP_STIP)
		abort();
	if (level)
		h->mip |= bits;
	else
		h->mip &= ~bits;
}
void tlb_flush(struct hart *h) { checked(h); }
/* Cross-hart requests (engine.c): the fuzzer's harts have no threads, so
 * a request is acted on at once; what is checked is that SBI names only
 * real harts. */
void rv_hart_kick(struct hart *h) { checked(h); }
uint64_t rv_hart_request(struct hart *h, struct hart *t, unsigned bits, bool wait)
{
	if (h)
		checked(h);
	checked(t);
	(void)bits;
	(void)wait;
	return 0;
}
void hart_fence_i(struct hart *h) { checked(h); }
void hart_attend(struct hart *h) { checked(h); }
uint64_t rv_update_timers(struct rv_cpu *m)
{
	if (m != &cpu)
		abort();
	return UINT64_MAX;
}
/* The legacy calls' hart mask, read through the MMU: from the input, or a
 * page fault when it runs out. */
int mmu_load_slow(struct hart *h, uint64_t va, unsigned size, uint64_t *val)
{
	checked(h);
	(void)va;
	if (size != 8 || legacy_left < 8)
		return -1;
	memcpy(val, legacy_words, 8);
	legacy_words += 8;
	legacy_left -= 8;
	return 0;
}
void code_note_dma(void *machine, uint64_t gpa, uint64_t len)
{
	if (machine != &cpu || gpa < RAM_BASE || len > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - len)
		abort();
}

static void in_ram(const uint8_t *p, size_t n)
{
	const uint8_t *ram = vm.mem.region[0].host;

	if (n && (p < ram || p > ram + RAM_SIZE || n > (size_t)(ram + RAM_SIZE - p)))
		abort();
}
void console_write(struct console *c, const uint8_t *buf, size_t len)
{
	(void)c;
	if (len != 1)
		in_ram(buf, len);
}
size_t console_read(struct console *c, uint8_t *buf, size_t max)
{
	(void)c;
	if (max != 1)
		in_ram(buf, max);
	memset(buf, 'x', max < 3 ? max : 3);
	return max < 3 ? max : 3;
}

/* Extensions worth reaching: every one served, plus an unknown one. */
static const uint64_t exts[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM,
	EXT_SRST, EXT_DBCN, 0x4442434F,
};

/* Arguments: small (hart ids, fids), near RAM (DBCN buffers) or raw. */
static uint64_t arg(uint8_t sel, uint64_t raw)
{
	switch (sel & 3) {
	case 0: return raw % 8;
	case 1: return RAM_BASE + raw % (RAM_SIZE + 64) - 32;
	case 2: return (raw & 1) ? ~0ULL - raw % 4 : raw % (RAM_SIZE + 64);
	default: return raw;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vm.cfg) {
		vm.cfg = &cfg;
		vm.console = (struct console *)&cfg;
		if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE))
			abort();
		cpu.vm = &vm;
		cpu.nr_harts = HARTS;
		for (int i = 0; i < HARTS; i++) {
			harts[i].cpu = &cpu;
			harts[i].id = i;
			cpu.harts[i] = &harts[i];
		}
	}
	for (int i = 0; i < HARTS; i++) {
		memset(harts[i].x, 0, sizeof(harts[i].x));
		harts[i].mip = 0;
		atomic_store(&harts[i].state, i == 0 ? HART_RUNNING : HART_STOPPED);
	}
	/* The first 64 bytes, if there are that many, are legacy hart masks. */
	legacy_words = data;
	legacy_left = size < 64 ? 0 : 64;
	if (size >= 64) {
		data += 64;
		size -= 64;
	}
	/* 28-byte calls: hart, ext, fid, selectors (1), then a0, a1, a2 (8 each). */
	for (; size >= 28; data += 28, size -= 28) {
		struct hart *h = &harts[data[0] % HARTS];
		uint64_t a[3];
		memcpy(a, data + 4, sizeof(a));
		h->x[A7] = data[1] < 0xf0 ? exts[data[1] % ARRAY_SIZE(exts)] : a[2];
		h->x[A6] = data[2] < 0xf0 ? data[2] % 8 : a[1];
		h->x[A0] = arg(data[3], a[0]);
		h->x[A1] = arg(data[3] >> 2, a[1]);
		h->x[A2] = arg(data[3] >> 4, a[2]);
		if (data[3] >> 6 == 3)
			atomic_store(&h->state, data[0] & 0x80 ? HART_WFI : HART_STOPPED);
		uint64_t mask = h->x[A0], base = h->x[A1], ext = h->x[A7];
		sbi_call(h);
		/* 3.1: success only if every hart the mask names exists. */
		if ((ext == EXT_IPI || ext == EXT_RFENCE) && h->x[A0] == SBI_SUCCESS && base != ~0ULL)
			for (int b = 0; b < 64; b++)
				if ((mask >> b & 1) && (base + b < base || base + b >= HARTS))
					abort();
		/* A0 is an SBI error code (0 to -8) for every non-legacy call. */
		if (h->x[A7] > 8 && (int64_t)h->x[A0] > 0)
			abort();
		if ((int64_t)h->x[A0] < -8 && h->x[A7] > 8)
			abort();
	}
	return 0;
}
