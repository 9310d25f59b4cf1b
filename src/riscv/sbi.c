/* SBI (RISC-V Supervisor Binary Interface 2.0) served by Trevo in para mode:
 * the guest kernel's ecalls are hypercalls. Extensions: Base, TIME, IPI,
 * RFENCE, HSM, SRST, DBCN and the legacy v0.1 calls. */
#include <string.h>

#include "../host/console.h"
#include "../vm.h"
#include "cpu.h"
#include "cache.h"
#include "sbi.h"

enum {
	SBI_SUCCESS = 0,
	SBI_ERR_FAILED = -1,
	SBI_ERR_NOT_SUPPORTED = -2,
	SBI_ERR_INVALID_PARAM = -3,
	SBI_ERR_INVALID_ADDRESS = -5,
	SBI_ERR_ALREADY_AVAILABLE = -6,
	SBI_ERR_ALREADY_STARTED = -7,
	SBI_ERR_ALREADY_STOPPED = -8,
};

#define EXT_BASE   0x10
#define EXT_TIME   0x54494D45
#define EXT_IPI    0x735049
#define EXT_RFENCE 0x52464E43
#define EXT_HSM    0x48534D
#define EXT_SRST   0x53525354
#define EXT_DBCN   0x4442434E

#define SBI_IMPL_ID_TREVO 0x7472 /* not a registered id: "tr" */

enum { A0 = 10, A1, A2, A3, A4, A5, A6, A7 };

static void ret(struct hart *h, int64_t err, uint64_t val)
{
	h->x[A0] = (uint64_t)err;
	h->x[A1] = val;
}

static bool ext_present(uint64_t ext)
{
	switch (ext) {
	case EXT_BASE: case EXT_TIME: case EXT_IPI: case EXT_RFENCE: case EXT_HSM:
	case EXT_SRST: case EXT_DBCN:
	case 0x00: case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06:
	case 0x07: case 0x08:
		return true;
	default:
		return false;
	}
}

static void set_timer(struct hart *h, uint64_t when)
{
	h->timecmp = when;
	hart_set_mip(h, MIP_STIP, false);
	rv_update_timers(h->cpu);
}

/* Walk the harts named by (mask, base) per SBI 3.1 "hart mask"; base -1
 * means all harts. Returns false on an invalid hart id. */
static bool for_each_hart(struct hart *h, uint64_t mask, uint64_t base,
			  void (*fn)(struct hart *target, void *arg), void *arg)
{
	struct rv_cpu *m = h->cpu;

	if (base == ~0ULL) {
		for (int i = 0; i < m->nr_harts; i++)
			fn(m->harts[i], arg);
		return true;
	}
	for (int b = 0; b < 64; b++) {
		if (!((mask >> b) & 1))
			continue;
		/* base + b may wrap past 2^64 - 1: no such hart either */
		if (base >= (uint64_t)m->nr_harts || (uint64_t)b >= (uint64_t)m->nr_harts - base)
			return false;
		fn(m->harts[base + b], arg);
	}
	return true;
}

static void send_ipi(struct hart *t, void *arg)
{
	(void)arg;
	hart_set_mip(t, MIP_SSIP, true);
}

/* SBI 8 (RFENCE): the target harts run SFENCE.VMA (or FENCE.I) before the
 * call returns, as OpenSBI makes them. Each target flushes its TLB and its
 * jump cache at its next block boundary (or at once if it sleeps); the
 * caller waits. A whole flush covers any address range and ASID; FENCE.I
 * needs nothing else, since stores to code already dropped it for all
 * harts (cache.c). */
static void remote_fence(struct hart *t, void *arg)
{
	struct hart *h = arg;

	if (t == h)
		hart_fence_i(h);
	rv_hart_request(h, t, REQ_TLB_FLUSH, true);
}

/* Legacy calls pass the hart mask by its (virtual) address. */
static uint64_t legacy_mask(struct hart *h, uint64_t va)
{
	uint64_t mask = 0;

	if (!va)
		return ~0ULL;
	if (mmu_load_slow(h, va, 8, &mask))
		return 0;
	return mask;
}

static void hsm(struct hart *h, uint64_t fid)
{
	struct rv_cpu *m = h->cpu;
	uint64_t id = h->x[A0];
	struct hart *t;

	switch (fid) {
	case 0: /* hart_start(hartid, start_addr, opaque) */
		if (id >= (uint64_t)m->nr_harts)
			return ret(h, SBI_ERR_INVALID_PARAM, 0);
		t = m->harts[id];
		/* A stopped hart's thread is out of hart_run and touches none of
		 * the registers below (engine.c); it runs again once it sees
		 * HART_RUNNING, stored last. */
		if (atomic_load(&t->state) != HART_STOPPED)
			return ret(h, SBI_ERR_ALREADY_AVAILABLE, 0);
		/* 9.1: the hart starts in S-mode, satp = 0, SIE = 0, a0 = hartid,
		 * a1 = opaque */
		t->pc = h->x[A1];
		t->x[A0] = id;
		t->x[A1] = h->x[A2];
		t->satp = 0;
		t->mstatus &= ~MSTATUS_SIE;
		t->priv = PRV_S;
		rv_hart_request(h, t, REQ_TLB_FLUSH, false);
		atomic_store(&t->state, HART_RUNNING);
		rv_hart_kick(t);
		return ret(h, SBI_SUCCESS, 0);
	case 1: /* hart_stop */
		atomic_store(&h->state, HART_STOP_PENDING);
		return ret(h, SBI_SUCCESS, 0);
	case 2: /* hart_get_status: 0 started, 1 stopped, 4 suspended */
		if (id >= (uint64_t)m->nr_harts)
			return ret(h, SBI_ERR_INVALID_PARAM, 0);
		switch (atomic_load(&m->harts[id]->state)) {
		case HART_STOPPED: return ret(h, SBI_SUCCESS, 1);
		case HART_STOP_PENDING: return ret(h, SBI_SUCCESS, 3);
		case HART_WFI: return ret(h, SBI_SUCCESS, 0);
		default: return ret(h, SBI_SUCCESS, 0);
		}
	case 3: /* hart_suspend(type, resume, opaque): retentive only */
		if (h->x[A0] != 0)
			return ret(h, SBI_ERR_NOT_SUPPORTED, 0);
		if (!(atomic_load(&h->mip) & h->mie))
			atomic_store(&h->state, HART_WFI);
		return ret(h, SBI_SUCCESS, 0);
	default:
		return ret(h, SBI_ERR_NOT_SUPPORTED, 0);
	}
}

static void dbcn(struct hart *h, uint64_t fid)
{
	struct rv_cpu *m = h->cpu;
	struct console *con = m->vm->console;
	uint64_t n = h->x[A0], pa = h->x[A1];

	if (h->x[A2] != 0 && fid < 2) /* base_addr_hi: above 4 GiB of RAM here */
		return ret(h, SBI_ERR_INVALID_PARAM, 0);
	switch (fid) {
	case 0: { /* write(num_bytes, base_lo, base_hi): physical address */
		uint8_t *p = gmem_ptr(&m->vm->mem, pa, n);
		if (!p && n)
			return ret(h, SBI_ERR_INVALID_PARAM, 0);
		if (con && n)
			console_write(con, p, n);
		return ret(h, SBI_SUCCESS, n);
	}
	case 1: { /* read */
		uint8_t *p = gmem_ptr(&m->vm->mem, pa, n);
		size_t got = 0;
		if (!p && n)
			return ret(h, SBI_ERR_INVALID_PARAM, 0);
		if (con && n)
			got = console_read(con, p, n);
		if (got)
			gmem_dma_written(&m->vm->mem, pa, got);
		return ret(h, SBI_SUCCESS, got);
	}
	case 2: { /* write_byte */
		uint8_t c = h->x[A0] & 0xff;
		if (con)
			console_write(con, &c, 1);
		return ret(h, SBI_SUCCESS, 0);
	}
	default:
		return ret(h, SBI_ERR_NOT_SUPPORTED, 0);
	}
}

const char *const sbi_stat_names[SBI_STAT_COUNT] = {
	"sbi-legacy", "sbi-base", "sbi-time", "sbi-ipi", "sbi-rfence", "sbi-hsm", "sbi-srst",
	"sbi-dbcn", "sbi-other",
};

static unsigned stat_index(uint64_t ext)
{
	switch (ext) {
	case EXT_BASE: return SBI_STAT_BASE;
	case EXT_TIME: return SBI_STAT_TIME;
	case EXT_IPI: return SBI_STAT_IPI;
	case EXT_RFENCE: return SBI_STAT_RFENCE;
	case EXT_HSM: return SBI_STAT_HSM;
	case EXT_SRST: return SBI_STAT_SRST;
	case EXT_DBCN: return SBI_STAT_DBCN;
	default: return ext <= 8 ? SBI_STAT_LEGACY : SBI_STAT_OTHER;
	}
}

void sbi_call(struct hart *h)
{
	struct rv_cpu *m = h->cpu;
	uint64_t ext = h->x[A7], fid = h->x[A6];

	_Static_assert(SBI_STAT_COUNT <= ARRAY_SIZE(h->stats.sbi_calls), "sbi stats");
	h->stats.sbi_calls[stat_index(ext)]++;
	/* before telling other harts to look at memory (IPI, RFENCE): this
	 * hart's own pending requests (cache.c, code_drop_write_mappings) */
	if (atomic_load_explicit(&h->attention, memory_order_relaxed))
		hart_attend(h);
	switch (ext) {
	case 0x00: /* legacy set_timer */
		set_timer(h, h->x[A0]);
		h->x[A0] = 0;
		return;
	case 0x01: { /* legacy console_putchar */
		uint8_t c = h->x[A0] & 0xff;
		if (m->vm->console)
			console_write(m->vm->console, &c, 1);
		h->x[A0] = 0;
		return;
	}
	case 0x02: { /* legacy console_getchar */
		uint8_t c;
		h->x[A0] = (m->vm->console && console_read(m->vm->console, &c, 1) == 1) ? c : ~0ULL;
		return;
	}
	case 0x03: /* legacy clear_ipi */
		hart_set_mip(h, MIP_SSIP, false);
		h->x[A0] = 0;
		return;
	case 0x04: /* legacy send_ipi(hart_mask *) */
		for_each_hart(h, legacy_mask(h, h->x[A0]), 0, send_ipi, NULL);
		h->x[A0] = 0;
		return;
	case 0x05: case 0x06: case 0x07: /* legacy remote fences */
		for_each_hart(h, legacy_mask(h, h->x[A0]), 0, remote_fence, h);
		h->x[A0] = 0;
		return;
	case 0x08: /* legacy shutdown */
		vm_request_exit(m->vm, VM_POWEROFF, 0);
		return;
	case EXT_BASE:
		switch (fid) {
		case 0: return ret(h, SBI_SUCCESS, 2ULL << 24); /* spec version 2.0 */
		case 1: return ret(h, SBI_SUCCESS, SBI_IMPL_ID_TREVO);
		case 2: return ret(h, SBI_SUCCESS, 1);
		case 3: return ret(h, SBI_SUCCESS, ext_present(h->x[A0]));
		case 4: case 5: case 6: return ret(h, SBI_SUCCESS, 0); /* mvendorid... */
		default: return ret(h, SBI_ERR_NOT_SUPPORTED, 0);
		}
	case EXT_TIME:
		if (fid != 0)
			return ret(h, SBI_ERR_NOT_SUPPORTED, 0);
		set_timer(h, h->x[A0]);
		return ret(h, SBI_SUCCESS, 0);
	case EXT_IPI:
		if (fid != 0)
			return ret(h, SBI_ERR_NOT_SUPPORTED, 0);
		if (!for_each_hart(h, h->x[A0], h->x[A1], send_ipi, NULL))
			return ret(h, SBI_ERR_INVALID_PARAM, 0);
		return ret(h, SBI_SUCCESS, 0);
	case EXT_RFENCE:
		if (fid > 6)
			return ret(h, SBI_ERR_NOT_SUPPORTED, 0);
		if (fid >= 3) /* hypervisor fences: no H extension */
			return ret(h, SBI_ERR_NOT_SUPPORTED, 0);
		if (!for_each_hart(h, h->x[A0], h->x[A1], remote_fence, h))
			return ret(h, SBI_ERR_INVALID_PARAM, 0);
		return ret(h, SBI_SUCCESS, 0);
	case EXT_HSM:
		return hsm(h, fid);
	case EXT_SRST:
		if (fid != 0)
			return ret(h, SBI_ERR_NOT_SUPPORTED, 0);
		switch (h->x[A0]) {
		case 0: /* shutdown; reason 1 = system failure */
			vm_request_exit(m->vm, h->x[A1] == 1 ? VM_FAIL : VM_POWEROFF,
					h->x[A1] == 1 ? 1 : 0);
			return ret(h, SBI_SUCCESS, 0);
		case 1: case 2:
			vm_request_exit(m->vm, VM_REBOOT, 0);
			return ret(h, SBI_SUCCESS, 0);
		default:
			return ret(h, SBI_ERR_INVALID_PARAM, 0);
		}
	case EXT_DBCN:
		return dbcn(h, fid);
	default:
		return ret(h, SBI_ERR_NOT_SUPPORTED, 0);
	}
}
