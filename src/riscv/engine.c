/* The "interp" engine: Trevo's RV64GC interpreter behind the engine seam
 * (src/engine.h). Each hart runs on a host thread of its own ("trevo-hartN",
 * as QEMU's MTTCG), in slices of SLICE instructions; between slices the
 * thread looks at its hart's timer, the instruction limit and the
 * controller's requests, and parks there when it must. A hart in WFI sleeps
 * on its own wait object until one of its interrupts, a request from
 * another hart or its timer deadline. */
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../engine.h"
#include "../stats.h"
#include "../vm.h"
#include "cache.h"
#include "cpu.h"
#include "sbi.h"
#include "../host/seccomp.h"

/* instructions per hart before the others get their turn and timers are
 * looked at */
#define SLICE 20000

struct rv_cpu *rv_cpu_of(struct vm *vm)
{
	return vm->engine_state;
}

/* ---- the timebase ----------------------------------------------------- */

static uint64_t ticks_ns(void)
{
	return 1000000000ULL / MTIME_HZ;
}

uint64_t rv_mtime(struct rv_cpu *m)
{
	uint64_t now = m->paused_at_ns ? m->paused_at_ns : host_ns();

	return (now - m->mtime_origin_ns) / ticks_ns();
}

void rv_set_mtime(struct rv_cpu *m, uint64_t want)
{
	uint64_t now = rv_mtime(m);

	m->mtime_origin_ns += (now - want) * ticks_ns();
}

uint64_t rv_update_timers(struct rv_cpu *m)
{
	uint64_t now = rv_mtime(m), next = UINT64_MAX;

	for (int i = 0; i < m->nr_harts; i++) {
		struct hart *h = m->harts[i];
		bool due = now >= h->timecmp;
		bool pending = atomic_load_explicit(&h->mip, memory_order_relaxed) & h->timer_bit;
		if (due != pending)
			hart_set_mip(h, h->timer_bit, due);
		if (!due && h->timecmp < next)
			next = h->timecmp;
	}
	return next;
}

void rv_watch_page(struct rv_cpu *m, uint64_t pa, void (*fn)(void *, uint64_t, unsigned),
		   void *opaque)
{
	if (pa - m->ram_base >= m->ram_size)
		return;
	m->watch = fn;
	m->watch_opaque = opaque;
	m->page_flags[(pa - m->ram_base) >> 12] |= PAGE_WATCH;
}

/* ---- kicks, requests and parking -------------------------------------- */

void rv_hart_kick(struct hart *h)
{
	struct rv_hart_thread *t = &h->cpu->hthread[h->id];

	pthread_mutex_lock(&t->idle_lock);
	t->kicked = true;
	pthread_cond_signal(&t->idle_cond);
	pthread_mutex_unlock(&t->idle_lock);
}

void rv_cpu_kick(struct rv_cpu *m)
{
	for (int i = 0; i < m->nr_harts; i++)
		rv_hart_kick(m->harts[i]);
	/* parked threads wait on park_cond (a quit, a request) */
	pthread_mutex_lock(&m->park_lock);
	pthread_cond_broadcast(&m->park_cond);
	pthread_mutex_unlock(&m->park_lock);
}

/* Act on the requests posted to h; only h's own thread, between blocks or
 * outside hart_run. */
static void take_requests(struct hart *h)
{
	struct rv_hart_thread *t = &h->cpu->hthread[h->id];
	uint64_t seq = atomic_load(&t->req_seq);
	unsigned bits = atomic_exchange(&t->requests, 0);

	if (bits & REQ_TLB_FLUSH)
		tlb_flush_remote(h);
	if (bits & REQ_WRITE_DROP)
		code_drop_write_mappings(h);
	if (atomic_load(&t->req_done) < seq)
		atomic_store(&t->req_done, seq);
}

void hart_take_requests(struct hart *h)
{
	take_requests(h);
}

void hart_attend(struct hart *h)
{
	struct rv_cpu *m = h->cpu;
	uint64_t gen;

	atomic_store(&h->attention, 0);
	if (atomic_load(&m->dma_pending))
		code_apply_dma(m);
	take_requests(h);
	gen = atomic_load(&m->code_gen);
	if (gen != h->code_gen_seen) {
		/* blocks were dropped: none may be reached from here again */
		memset(h->jcache, 0, sizeof(h->jcache));
		h->code_gen_seen = gen;
	}
}

/* Wait until target has handled the requests up to ticket. */
static void wait_for(struct hart *h, struct hart *target, uint64_t ticket)
{
	struct rv_cpu *m = target->cpu;
	struct rv_hart_thread *t = &m->hthread[target->id];

	if (atomic_load(&t->req_done) >= ticket)
		return;
	/* The target acts at its next block boundary, in WFI or parked: wake
	 * it wherever it waits. */
	rv_hart_kick(target);
	pthread_mutex_lock(&m->park_lock);
	pthread_cond_broadcast(&m->park_cond);
	pthread_mutex_unlock(&m->park_lock);
	while (atomic_load(&t->req_done) < ticket && !m->quit && !vm_should_stop(m->vm)) {
		/* The target may be waiting for us the same way. */
		if (h)
			take_requests(h);
		sched_yield();
	}
}

uint64_t rv_hart_request(struct hart *h, struct hart *target, unsigned bits, bool wait)
{
	struct rv_cpu *m = target->cpu;
	struct rv_hart_thread *t = &m->hthread[target->id];
	uint64_t ticket;

	atomic_fetch_or(&t->requests, bits);
	ticket = atomic_fetch_add(&t->req_seq, 1) + 1;
	if (target == h) {
		hart_attend(h);
		return ticket;
	}
	atomic_store(&target->attention, 1);
	if (wait)
		wait_for(h, target, ticket);
	return ticket;
}

void hart_fence_i(struct hart *h)
{
	struct rv_cpu *m = h->cpu;

	hart_attend(h);
	code_drop_write_mappings(h);
	for (int i = 0; i < m->nr_harts; i++) {
		struct hart *t = m->harts[i];
		if (t != h)
			wait_for(h, t, atomic_load(&m->hthread[i].wdrop_ticket));
	}
	/* what they dropped meanwhile */
	hart_attend(h);
}

/* ---- the timer of one hart ------------------------------------------- */

/* Raise or lower the hart's timer interrupt; returns its deadline. */
static uint64_t update_timer(struct hart *h)
{
	uint64_t cmp = atomic_load(&h->timecmp);
	bool due = rv_mtime(h->cpu) >= cmp;
	bool pending = atomic_load_explicit(&h->mip, memory_order_relaxed) & h->timer_bit;

	if (due != pending)
		hart_set_mip(h, h->timer_bit, due);
	return due ? UINT64_MAX : cmp;
}

/* WFI, or stopped: sleep until an interrupt, a request, a kick or the
 * hart's own timer deadline (at most 100 ms, so a clock moved by the
 * controller is noticed). */
static void idle_wait(struct hart *h, uint64_t deadline_ticks)
{
	struct rv_cpu *m = h->cpu;
	struct rv_hart_thread *t = &m->hthread[h->id];
	struct timespec ts;
	uint64_t now = rv_mtime(m), wait_ns;

	if (deadline_ticks <= now)
		return;
	wait_ns = deadline_ticks == UINT64_MAX ? 100000000ULL : (deadline_ticks - now) * ticks_ns();
	if (wait_ns > 100000000ULL)
		wait_ns = 100000000ULL;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (ts.tv_nsec + wait_ns) / 1000000000ULL;
	ts.tv_nsec = (ts.tv_nsec + wait_ns) % 1000000000ULL;
	pthread_mutex_lock(&t->idle_lock);
	while (!t->kicked && !vm_vcpus_must_park(m->vm) && !atomic_load(&t->requests) &&
	       !(atomic_load(&h->state) == HART_WFI && (atomic_load(&h->mip) & h->mie))) {
		if (pthread_cond_timedwait(&t->idle_cond, &t->idle_lock, &ts))
			break;
	}
	t->kicked = false;
	pthread_mutex_unlock(&t->idle_lock);
	take_requests(h);
}

/* Wait, parked, until the controller lets the harts go on (or ends them).
 * The condition is checked under park_lock, and the controller takes it to
 * wake us, so a resume cannot slip between the check and the wait. Other
 * harts' requests are answered while parked: a hart that waits for one
 * cannot park before it is answered. */
static void park(struct hart *h)
{
	struct rv_cpu *m = h->cpu;
	struct rv_hart_thread *t = &m->hthread[h->id];

	pthread_mutex_lock(&m->park_lock);
	t->parked = true;
	m->nr_parked++;
	pthread_cond_broadcast(&m->park_cond);
	while (!m->quit && vm_vcpus_must_park(m->vm)) {
		/* A request whose bits an earlier take_requests already took
		 * (it reads req_seq first) still needs its ticket answered, or
		 * its sender would wait in wait_for for ever. */
		if (atomic_load(&t->requests) ||
		    atomic_load(&t->req_done) < atomic_load(&t->req_seq)) {
			pthread_mutex_unlock(&m->park_lock);
			take_requests(h);
			pthread_mutex_lock(&m->park_lock);
			continue;
		}
		pthread_cond_wait(&m->park_cond, &m->park_lock);
	}
	m->nr_parked--;
	t->parked = false;
	pthread_mutex_unlock(&m->park_lock);
}

/* One slice of one hart, then its timer and the instruction limit. */
static void run_slice(struct hart *h)
{
	struct rv_cpu *m = h->cpu;
	struct rv_hart_thread *t = &m->hthread[h->id];
	uint64_t limit = m->vm->cfg->max_insns, deadline, gen;
	int st = atomic_load(&h->state);

	if (st == HART_WFI && (atomic_load(&h->mip) & h->mie))
		atomic_compare_exchange_strong(&h->state, &st, HART_RUNNING);
	if (st == HART_RUNNING) {
		uint64_t ran, prev;

		/* Publish the generation we run under, then read it again: a
		 * drop the reaper did not see us for is then seen by us
		 * (cache.c, code_cache_reap). */
		do {
			gen = atomic_load(&m->code_gen);
			atomic_store(&t->active_gen, gen);
		} while (atomic_load(&m->code_gen) != gen);
		if (gen != h->code_gen_seen)
			atomic_store(&h->attention, 1);
		hart_run(h, SLICE);
		atomic_store(&t->active_gen, UINT64_MAX);
		code_cache_reap(m->blocks);
		/* the budget spent, which faults that retire nothing also use */
		ran = (uint64_t)(SLICE - h->budget);
		if (limit && (prev = atomic_fetch_add(&m->executed, ran)) < limit &&
		    prev + ran >= limit) {
			warn("instruction limit (%llu) reached", (unsigned long long)limit);
			vm_request_exit(m->vm, VM_FAIL, 3);
		}
	}
	st = HART_STOP_PENDING;
	atomic_compare_exchange_strong(&h->state, &st, HART_STOPPED);
	deadline = update_timer(h);
	st = atomic_load(&h->state);
	if (st != HART_RUNNING)
		idle_wait(h, deadline);
}

static void *hart_thread(void *arg)
{
	struct hart *h = arg;
	struct rv_cpu *m = h->cpu;

	atomic_store(&m->hthread[h->id].tid, (int)gettid());
	seccomp_enter(SECCOMP_VCPU_INTERP);
	while (!m->quit) {
		if (vm_vcpus_must_park(m->vm)) {
			park(h);
			continue;
		}
		run_slice(h);
	}
	return NULL;
}

/* ---- engine ops ------------------------------------------------------- */

static void init_cond(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

static int interp_create(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct rv_cpu *m;
	const struct mem_region *ram = &vm->mem.region[0];

	if (vm->mem.nr_regions < 1)
		return -EINVAL;
	if (cfg->cpus < 1 || cfg->cpus > MAX_HARTS) {
		warn("--cpus %d: the RISC-V machine has 1 to %d harts", cfg->cpus, MAX_HARTS);
		return -EINVAL;
	}
	/* Every hart thread mallocs decoded blocks. Once a process has more
	 * than 8 malloc arenas, glibc counts the host's CPUs to cap them, by
	 * opening /sys/devices/system/cpu/online, which no sandboxed thread
	 * may do: give the cap now. */
	mallopt(M_ARENA_MAX, 8);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->vm = vm;
	m->para = cfg->sbi == SBI_MONITOR;
	m->ram = ram->host;
	m->ram_base = ram->gpa;
	m->ram_size = ram->size;
	m->page_flags = calloc(m->ram_size >> 12, 1);
	m->blocks = code_cache_create(m);
	if (!m->page_flags || !m->blocks)
		return -ENOMEM;
	pthread_mutex_init(&m->dma_lock, NULL);
	pthread_mutex_init(&m->park_lock, NULL);
	pthread_mutex_init(&m->code_lock, NULL);
	init_cond(&m->park_cond);
	m->mtime_origin_ns = host_ns();
	m->nr_harts = cfg->cpus;
	for (int i = 0; i < m->nr_harts; i++) {
		m->harts[i] = aligned_alloc(64, (sizeof(struct hart) + 63) & ~63UL);
		if (!m->harts[i])
			return -ENOMEM;
		hart_init(m->harts[i], m, i, m->para);
		pthread_mutex_init(&m->hthread[i].idle_lock, NULL);
		init_cond(&m->hthread[i].idle_cond);
		atomic_store(&m->hthread[i].active_gen, UINT64_MAX);
	}
	vm->mem.on_dma_write = code_note_dma;
	vm->mem.on_dma_write_opaque = m;
	vm->engine_state = m;
	return 0;
}

static int interp_start(struct vm *vm)
{
	struct rv_cpu *m = vm->engine_state;

	for (int i = 0; i < m->nr_harts; i++) {
		char name[16];

		if (pthread_create(&m->hthread[i].thread, NULL, hart_thread, m->harts[i])) {
			/* the ones started so far are joined by destroy */
			m->nr_started = i;
			return -EAGAIN;
		}
		snprintf(name, sizeof(name), "trevo-hart%u", (unsigned)i % 100);
		pthread_setname_np(m->hthread[i].thread, name);
		m->nr_started = i + 1;
	}
	m->started = true;
	return 0;
}

static void interp_kick(struct vm *vm)
{
	if (vm->engine_state)
		rv_cpu_kick(vm->engine_state);
}

static void interp_pause(struct vm *vm)
{
	struct rv_cpu *m = vm->engine_state;

	rv_cpu_kick(m);
	pthread_mutex_lock(&m->park_lock);
	while (m->nr_parked < m->nr_started)
		pthread_cond_wait(&m->park_cond, &m->park_lock);
	pthread_mutex_unlock(&m->park_lock);
	/* The guest's clock stops while it does not run (as QEMU's virtual
	 * clock), so that timers do not all fire at once on resume. */
	if (!m->paused_at_ns)
		m->paused_at_ns = host_ns();
}

static void interp_resume(struct vm *vm)
{
	struct rv_cpu *m = vm->engine_state;

	if (m->paused_at_ns) {
		m->mtime_origin_ns += host_ns() - m->paused_at_ns;
		m->paused_at_ns = 0;
	}
	pthread_mutex_lock(&m->park_lock);
	pthread_cond_broadcast(&m->park_cond);
	pthread_mutex_unlock(&m->park_lock);
	rv_cpu_kick(m);
}

static void interp_reset(struct vm *vm)
{
	struct rv_cpu *m = vm->engine_state;

	for (int i = 0; i < m->nr_harts; i++)
		hart_power_on(m->harts[i]);
	code_cache_flush(m->blocks);
	code_cache_reap(m->blocks);
	m->executed = 0;
}

static int interp_get_vcpu(struct vm *vm, int cpu, struct vcpu_state *st)
{
	struct rv_cpu *m = vm->engine_state;
	struct rv_vcpu_state *s = &st->rv;
	const struct hart *h;

	if (cpu < 0 || cpu >= m->nr_harts)
		return -EINVAL;
	h = m->harts[cpu];
	memset(st, 0, sizeof(*st));
	st->version = VCPU_STATE_VERSION;
	st->arch = VCPU_ARCH_RISCV64;
	memcpy(s->x, h->x, sizeof(s->x));
	s->x[0] = 0;
	s->pc = h->pc;
	memcpy(s->f, h->fpu.f, sizeof(s->f));
	s->fflags = h->fpu.fflags;
	s->frm = h->fpu.frm;
	s->priv = (uint32_t)h->priv;
	s->run_state = (uint32_t)atomic_load(&h->state);
#define COPY(f) s->f = h->f
	COPY(mstatus); COPY(misa); COPY(medeleg); COPY(mideleg); COPY(mie); COPY(mtvec);
	COPY(mscratch); COPY(mepc); COPY(mcause); COPY(mtval); COPY(mcounteren);
	COPY(mcountinhibit); COPY(menvcfg); COPY(mhartid); COPY(stvec); COPY(sscratch);
	COPY(sepc); COPY(scause); COPY(stval); COPY(satp); COPY(scounteren); COPY(senvcfg);
	COPY(instret); COPY(timecmp); COPY(reservation);
#undef COPY
	s->mip = atomic_load(&h->mip);
	memcpy(s->pmpcfg, h->pmpcfg, sizeof(s->pmpcfg));
	memcpy(s->pmpaddr, h->pmpaddr, sizeof(s->pmpaddr));
	return 0;
}

/* The state may come from a snapshot file: anything the hart could not be
 * in is refused rather than trusted. */
static int interp_set_vcpu(struct vm *vm, int cpu, const struct vcpu_state *st)
{
	struct rv_cpu *m = vm->engine_state;
	const struct rv_vcpu_state *s = &st->rv;
	struct hart *h;

	if (cpu < 0 || cpu >= m->nr_harts || st->version != VCPU_STATE_VERSION ||
	    st->arch != VCPU_ARCH_RISCV64)
		return -EINVAL;
	if ((s->priv != PRV_U && s->priv != PRV_S && s->priv != PRV_M) ||
	    s->run_state > HART_STOPPED || s->fflags > 0x1f || s->frm > 7 ||
	    (m->para && s->priv == PRV_M) || s->misa != m->harts[cpu]->misa ||
	    (s->pc & 1) || ((s->satp >> 60) != 0 && (s->satp >> 60) != 8 && (s->satp >> 60) != 9))
		return -EINVAL;
	h = m->harts[cpu];
	memcpy(h->x, s->x, sizeof(s->x));
	h->x[0] = 0;
	h->pc = s->pc;
	memcpy(h->fpu.f, s->f, sizeof(s->f));
	h->fpu.fflags = s->fflags;
	h->fpu.frm = s->frm;
	h->priv = (int)s->priv;
#define COPY(f) h->f = s->f
	COPY(mstatus); COPY(medeleg); COPY(mideleg); COPY(mie); COPY(mtvec);
	COPY(mscratch); COPY(mepc); COPY(mcause); COPY(mtval); COPY(mcounteren);
	COPY(mcountinhibit); COPY(menvcfg); COPY(mhartid); COPY(stvec); COPY(sscratch);
	COPY(sepc); COPY(scause); COPY(stval); COPY(satp); COPY(scounteren); COPY(senvcfg);
	COPY(instret); COPY(timecmp);
#undef COPY
	/* the value LR loaded is not in the state: SC may fail at any time */
	h->reservation = ~0ULL;
	atomic_store(&h->mip, s->mip);
	memcpy(h->pmpcfg, s->pmpcfg, sizeof(h->pmpcfg));
	memcpy(h->pmpaddr, s->pmpaddr, sizeof(h->pmpaddr));
	atomic_store(&h->state, (int)s->run_state);
	tlb_flush(h);
	return 0;
}

static void interp_invalidate_code(struct vm *vm, uint64_t gpa, uint64_t len)
{
	/* Queued as device DMA is: the hart thread drops the code at its next
	 * block boundary (at once on resume, when paused). */
	code_note_dma(vm->engine_state, gpa, len);
}

static const char *const exception_names[16] = {
	"exc-misaligned-fetch", "exc-fetch-access", "exc-illegal-insn", "exc-breakpoint",
	"exc-misaligned-load", "exc-load-access", "exc-misaligned-store", "exc-store-access",
	"exc-ecall-u", "exc-ecall-s", "exc-10", "exc-ecall-m", "exc-fetch-page-fault",
	"exc-load-page-fault", "exc-14", "exc-store-page-fault",
};
static const char *const interrupt_names[12] = {
	"irq-0", "irq-ssi", "irq-2", "irq-msi", "irq-4", "irq-sti", "irq-6", "irq-mti",
	"irq-8", "irq-sei", "irq-10", "irq-mei",
};

static const char *const tlb_flush_names[TLBF_COUNT] = {
	"tlb-flush-sfence", "tlb-flush-asid", "tlb-flush-page", "tlb-flush-remote", "tlb-wipe",
	"tlb-space-switch", "tlb-space-new",
};

static void interp_vcpu_stats(struct vm *vm, int cpu, const struct stats_sink *sink)
{
	struct rv_cpu *m = vm->engine_state;
	const struct hart *h;
	uint64_t total = 0;

	if (!m || cpu < 0 || cpu >= m->nr_harts)
		return;
	h = m->harts[cpu];
	stats_put(sink, "instructions", h->instret);
	for (unsigned i = 0; i < ARRAY_SIZE(exception_names); i++) {
		total += h->stats.exceptions[i];
		if (h->stats.exceptions[i])
			stats_put(sink, exception_names[i], h->stats.exceptions[i]);
	}
	stats_put(sink, "exceptions", total);
	total = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(interrupt_names); i++) {
		total += h->stats.interrupts[i];
		if (h->stats.interrupts[i])
			stats_put(sink, interrupt_names[i], h->stats.interrupts[i]);
	}
	stats_put(sink, "interrupts", total);
	if (m->para) {
		total = 0;
		for (unsigned i = 0; i < SBI_STAT_COUNT; i++) {
			total += h->stats.sbi_calls[i];
			stats_put(sink, sbi_stat_names[i], h->stats.sbi_calls[i]);
		}
		stats_put(sink, "sbi-calls", total);
	}
	stats_put(sink, "wfi", h->stats.wfi);
	for (unsigned i = 0; i < TLBF_COUNT; i++)
		stats_put(sink, tlb_flush_names[i], h->stats.tlb[i]);
}

static int interp_vcpu_thread_id(struct vm *vm, int cpu)
{
	struct rv_cpu *m = vm->engine_state;

	if (!m || cpu < 0 || cpu >= m->nr_harts)
		return 0;
	return atomic_load(&m->hthread[cpu].tid);
}

static void interp_destroy(struct vm *vm)
{
	struct rv_cpu *m = vm->engine_state;

	if (!m)
		return;
	pthread_mutex_lock(&m->park_lock);
	m->quit = true;
	pthread_cond_broadcast(&m->park_cond);
	pthread_mutex_unlock(&m->park_lock);
	rv_cpu_kick(m);
	for (int i = 0; i < m->nr_started; i++)
		pthread_join(m->hthread[i].thread, NULL);
	vm->mem.on_dma_write = NULL;
	for (int i = 0; i < m->nr_harts; i++) {
		if (m->harts[i])
			free(m->harts[i]->xblock);
		free(m->harts[i]);
	}
	code_cache_destroy(m->blocks);
	free(m->page_flags);
	free(m);
	vm->engine_state = NULL;
}

/* The stores themselves mark the bitmap (mmu.c, PAGE_DIRTY_LOG). */
static int interp_dirty_log(struct vm *vm, bool on)
{
	rv_dirty_log(rv_cpu_of(vm), on);
	return 0;
}

static int interp_dirty_sync(struct vm *vm)
{
	rv_dirty_rearm(rv_cpu_of(vm));
	return 0;
}

static const struct engine_ops interp_engine = {
	.name = "interp",
	.arch = VCPU_ARCH_RISCV64,
	.create = interp_create,
	.start = interp_start,
	.kick = interp_kick,
	.pause = interp_pause,
	.resume = interp_resume,
	.reset = interp_reset,
	.get_vcpu = interp_get_vcpu,
	.set_vcpu = interp_set_vcpu,
	.invalidate_code = interp_invalidate_code,
	.dirty_log = interp_dirty_log,
	.dirty_sync = interp_dirty_sync,
	.vcpu_stats = interp_vcpu_stats,
	.vcpu_thread_id = interp_vcpu_thread_id,
	.destroy = interp_destroy,
};
ENGINE(interp_engine)
