/* The "jit" engine: the interpreter engine's harts, threads, parking and
 * devices (engine.c, reached through its ops table), with blocks run as
 * translated x86-64 code (translate.c) by the dispatcher below.
 *
 * Threads: harts take turns. Each hart has its own host thread (engine.c),
 * but translated code runs only under "the turn", a FIFO ticket lock
 * (turn_take/turn_give) that a hart holds for one slice of jit_run. The
 * holder alone runs translated code, translates, patches chain jumps,
 * empties the code cache when it is full and counts the statistics; the
 * others wait for their turn, sleep in WFI, park or run the engine's
 * between-slices work, none of which touches the code cache. So
 *  - the allocation pointer and the flush need no other care: no thread
 *    is inside translated code when the holder starts over at the bottom;
 *    the flushed blocks go to the decoded-code cache's dead list and the
 *    flush's new generation makes every hart empty its jump cache before
 *    its next block (cache.c, hart_attend);
 *  - a chain jump is patched only while no other thread can execute it;
 *  - rv_block.jit/jit_body are written and read only under the turn (its
 *    release/acquire orders them); a block dropped meanwhile by a waiting
 *    hart answering REQ_WRITE_DROP, or by DMA, stays allocated until every
 *    hart has left its slice (epochs, cache.c), and its code stays in the
 *    cache until the holder flushes; the translated entry checks the
 *    hart's attention word, so a chain into a dropped page ends at the
 *    next block as in the interpreter;
 *  - cross-modifying code (Intel SDM vol. 3, 8.1.3): code written by one
 *    thread may run next on another core. The writer's stores are
 *    published by giving the turn; the next holder executes a serialising
 *    instruction (CPUID) before running code if the code changed since it
 *    last did (code_seq/code_seen), as the SDM's cross-modifying recipe
 *    asks. The holder's own writes are reached by a jump (option 1).
 * Every wait for another hart is answered: a hart waiting for the turn
 * acts on its requests (REQ_TLB_FLUSH, REQ_WRITE_DROP) while it waits, so
 * a holder waiting in an RFENCE or FENCE.I (wait_for, engine.c) cannot
 * deadlock with it; WFI sleeps and parking happen outside jit_run, so
 * without the turn. The cost is that guest code runs on one host core at a
 * time; AMOs, LR/SC and fences keep their host-atomic forms (amo.c)
 * regardless. A parallel design (per-hart caches, or a stop-the-world
 * flush with patching restricted to jumps no other thread can run) is
 * future work. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../engine.h"
#include "../../stats.h"
#include "../../vm.h"
#include "../cache.h"
#include "emit.h"
#include "jit.h"

/* the code cache; flushed whole when full */
#define JIT_CACHE_SIZE (32u << 20)
/* instructions a slice may overrun while the hart is in M-mode */
#define M_MODE_GRACE 10000

/* What a block returns: the site of its patchable exit jump (0 when the
 * exit cannot be chained) and its physical page. */
struct jit_exit {
	uint64_t site;
	uint64_t pa_page;
};

int jit_init(struct rv_cpu *m)
{
	struct jit *j = calloc(1, sizeof(*j));
	struct x86_buf b;
	int fd;

	if (!j)
		return -ENOMEM;
	j->size = JIT_CACHE_SIZE;
	/* Two views of one memfd: code is written through rw and run from
	 * rx, so no mapping is ever writable and executable (W^X). Done at
	 * create time, before any thread enters seccomp. */
	fd = memfd_create("trevo-jit", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)j->size)) {
		warn("jit: code cache: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		free(j);
		return -errno;
	}
	j->rw = mmap(NULL, j->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	j->rx = mmap(NULL, j->size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	close(fd);
	if (j->rw == MAP_FAILED || j->rx == MAP_FAILED) {
		warn("jit: mapping the code cache: %s", strerror(errno));
		if (j->rw != MAP_FAILED)
			munmap(j->rw, j->size);
		if (j->rx != MAP_FAILED)
			munmap(j->rx, j->size);
		free(j);
		return -ENOMEM;
	}
	j->delta = j->rx - j->rw;

	/* enter(h, code): save the callee-saved registers, rbx = h,
	 * r12 = h->pc, jump to code; the epilogue returns rax:rdx. */
	b.p = j->rw;
	b.end = j->rw + j->size;
	b.overflow = false;
	x86_push(&b, RBX);
	x86_push(&b, RBP);
	x86_push(&b, R12);
	x86_push(&b, R13);
	x86_push(&b, R14);
	x86_push(&b, R15);
	x86_alu_ri(&b, 1, ALU_SUB, RSP, 8);  /* 16-byte alignment for calls */
	x86_mov_rr(&b, 1, RBX, RDI);
	x86_load(&b, 1, R12, x86_m(RBX, (int32_t)offsetof(struct hart, pc)));
	x86_u8(&b, 0xff);
	x86_u8(&b, 0xe6);                    /* jmp rsi */
	j->epilogue = b.p;
	x86_alu_ri(&b, 1, ALU_ADD, RSP, 8);
	x86_pop(&b, R15);
	x86_pop(&b, R14);
	x86_pop(&b, R13);
	x86_pop(&b, R12);
	x86_pop(&b, RBP);
	x86_pop(&b, RBX);
	x86_ret(&b);
	j->start = j->used = ((size_t)(b.p - j->rw) + 63) & ~(size_t)63;
	j->enter = (uint64_t (*)(struct hart *, const void *))(void *)j->rx;
	j->trace = m->vm->cfg->cpu_trace;
	m->jit = j;
	return 0;
}

void jit_free(struct rv_cpu *m)
{
	struct jit *j = m->jit;

	if (!j)
		return;
	munmap(j->rw, j->size);
	munmap(j->rx, j->size);
	free(j);
	m->jit = NULL;
}

/* ---- the turn ---------------------------------------------------------- */

/* CPUID: a serialising instruction (SDM vol. 3, 8.1.3 and 9.3) */
static void serialise(void)
{
	unsigned a = 0, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "memory");
}

/* Wait for the turn of h,
 * answering h's requests meanwhile. Sleeps on park_cond, which every
 * request, kick and give of the turn broadcasts; the check is made under
 * park_lock, so none is missed (the timeout is a safety net only). */
static void turn_take(struct rv_cpu *m, struct hart *h)
{
	struct jit *j = m->jit;
	uint64_t me = atomic_fetch_add(&j->turn_next, 1);

	if (atomic_load(&j->turn_now) != me) {
		pthread_mutex_lock(&m->park_lock);
		while (atomic_load(&j->turn_now) != me) {
			struct rv_hart_thread *t = &m->hthread[h->id];
			struct timespec ts;

			/* bits posted, or a ticket issued after the bits were
			 * taken (take_requests reads req_seq first) */
			if (atomic_load(&t->requests) ||
			    atomic_load(&t->req_done) < atomic_load(&t->req_seq)) {
				pthread_mutex_unlock(&m->park_lock);
				hart_take_requests(h);
				pthread_mutex_lock(&m->park_lock);
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += 20000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&m->park_cond, &m->park_lock, &ts);
		}
		pthread_mutex_unlock(&m->park_lock);
	}
	if (j->code_seen[h->id] != j->code_seq) {
		/* another thread wrote code since this one last serialised */
		serialise();
		j->code_seen[h->id] = j->code_seq;
	}
}

static void turn_give(struct rv_cpu *m, struct hart *h)
{
	struct jit *j = m->jit;

	j->code_seen[h->id] = j->code_seq;  /* its own writes */
	atomic_fetch_add(&j->turn_now, 1);
	if (atomic_load(&j->turn_next) != atomic_load(&j->turn_now)) {
		/* someone waits */
		pthread_mutex_lock(&m->park_lock);
		pthread_cond_broadcast(&m->park_cond);
		pthread_mutex_unlock(&m->park_lock);
	}
}

/* The cache is full: drop every block (and with them every pointer into
 * the code: the new generation empties every hart's jump cache) and start
 * again from the bottom. Between blocks, under the turn. */
static void jit_flush(struct rv_cpu *m)
{
	struct jit *j = m->jit;

	code_cache_flush(m->blocks);
	JIT_STAT_SET(j->used, j->start);
	JIT_STAT_ADD(j->flushes, 1);
	j->code_seq++;
}

void jit_run(struct hart *h, int64_t budget)
{
	static const void *const no_labels[OP_COUNT];
	struct rv_cpu *m = h->cpu;
	struct jit *j = m->jit;
	struct jit_exit link = { 0, 0 };
	struct jit_exit (*enter)(struct hart *, const void *) =
		(struct jit_exit (*)(struct hart *, const void *))(void *)j->enter;

	h->budget = budget;
	h->reservation = ~0ULL;
	turn_take(m, h);

	for (;;) {
		struct rv_jcache_entry *je;
		struct rv_block *b;
		bool cacheable = true;
		const void *code;
		uint64_t pc;

		/* the interpreter's between-blocks checks (exec.c hart_run) */
		if (unlikely(atomic_load_explicit(&h->attention, memory_order_relaxed))) {
			/* DMA into code, code dropped by another hart, requests */
			hart_attend(h);
			link.site = 0;
		}
		if (unlikely(atomic_load_explicit(&h->mip, memory_order_relaxed) & h->mie) &&
		    hart_check_interrupts(h))
			link.site = 0;
		if (unlikely(h->budget <= 0 ||
			     atomic_load_explicit(&h->state, memory_order_relaxed) != HART_RUNNING)) {
			/* Harts take turns, so a hart whose slice ends in the
			 * middle of a firmware call leaves its half-done updates
			 * for the others to see for whole slices, a window real
			 * harts keep to nanoseconds: OpenSBI 1.1's hart_start
			 * marks the target START_PENDING before it stores the
			 * start address, and a target polling in between jumps
			 * to a stale address. So a slice that runs out in M-mode
			 * gets a short extension to finish the call (bounded:
			 * M-mode may also be waiting for another hart). */
			if (!(h->priv == PRV_M && h->budget > -M_MODE_GRACE &&
			      atomic_load_explicit(&h->state, memory_order_relaxed) == HART_RUNNING &&
			      m->nr_harts > 1))
				break;
		}
		pc = h->pc;
		je = &h->jcache[(pc >> 1) & (JCACHE_SIZE - 1)];
		if (likely(je->va == pc && je->block &&
			   (je->tag == h->tlb_xtag || je->tag == h->tlb_gxtag))) {
			b = je->block;
		} else {
			b = rv_find_block(h, pc, no_labels, &cacheable);
			if (!b) {
				h->budget--;
				link.site = 0;
				continue;
			}
			if (cacheable) {
				je->va = pc;
				je->tag = h->tlb_fetch_tag;
				je->block = b;
			}
		}
		code = cacheable ? b->jit_body : NULL;
		if (!code) {
			/* a page-crossing instruction's scratch block is
			 * translated afresh each time and never linked */
			if (!jit_translate(m, b, cacheable)) {
				jit_flush(m);
				link.site = 0;
				continue;
			}
			code = b->jit_body;
		}
		if (link.site) {
			if (cacheable && link.pa_page == b->pa >> 12) {
				/* no other thread runs code: see the top */
				x86_patch_rel32((uint8_t *)(uintptr_t)link.site,
						(const uint8_t *)b->jit - j->delta);
				j->code_seq++;
				JIT_STAT_ADD(j->chains, 1);
			}
			link.site = 0;
		}
		JIT_STAT_ADD(j->exits, 1);
		link = enter(h, code);
	}
	turn_give(m, h);
}

/* ---- the engine: the interpreter's, plus the code cache ------------- */

static const struct engine_ops *interp(void)
{
	return engine_find("interp");
}

static int jit_create(struct vm *vm)
{
	int err = interp()->create(vm);

	if (err)
		return err;
	return jit_init(rv_cpu_of(vm));
}

static int jit_start(struct vm *vm) { return interp()->start(vm); }
static void jit_kick(struct vm *vm) { interp()->kick(vm); }
static void jit_pause(struct vm *vm) { interp()->pause(vm); }
static void jit_resume(struct vm *vm) { interp()->resume(vm); }
static void jit_reset(struct vm *vm) { interp()->reset(vm); }
static int jit_get_vcpu(struct vm *vm, int cpu, struct vcpu_state *s)
{
	return interp()->get_vcpu(vm, cpu, s);
}
static int jit_set_vcpu(struct vm *vm, int cpu, const struct vcpu_state *s)
{
	return interp()->set_vcpu(vm, cpu, s);
}
static void jit_invalidate_code(struct vm *vm, uint64_t gpa, uint64_t len)
{
	interp()->invalidate_code(vm, gpa, len);
}
static int jit_vcpu_thread_id(struct vm *vm, int cpu)
{
	return interp()->vcpu_thread_id(vm, cpu);
}

static void jit_vcpu_stats(struct vm *vm, int cpu, const struct stats_sink *s)
{
	struct rv_cpu *m = rv_cpu_of(vm);

	interp()->vcpu_stats(vm, cpu, s);
	if (!m || !m->jit)
		return;
	/* the code cache is shared by the harts: the same figures on each */
	stats_put(s, "jit-blocks-translated", JIT_STAT(m->jit->blocks));
	stats_put(s, "jit-code-bytes", JIT_STAT(m->jit->code_bytes));
	stats_put(s, "jit-cache-used", JIT_STAT(m->jit->used));
	stats_put(s, "jit-cache-flushes", JIT_STAT(m->jit->flushes));
	stats_put(s, "jit-chains-patched", JIT_STAT(m->jit->chains));
	stats_put(s, "jit-dispatcher-entries", JIT_STAT(m->jit->exits));
	stats_put(s, "jit-tlb-misses", JIT_STAT(m->jit->tlb_misses));
}

static void jit_destroy(struct vm *vm)
{
	struct rv_cpu *m = rv_cpu_of(vm);
	struct jit *j = m ? m->jit : NULL;

	interp()->destroy(vm);
	if (j) {
		struct rv_cpu tmp = { .jit = j };
		jit_free(&tmp);
	}
}

static const struct engine_ops jit_engine = {
	.name = "jit",
	.arch = VCPU_ARCH_RISCV64,
	.create = jit_create,
	.start = jit_start,
	.kick = jit_kick,
	.pause = jit_pause,
	.resume = jit_resume,
	.reset = jit_reset,
	.get_vcpu = jit_get_vcpu,
	.set_vcpu = jit_set_vcpu,
	.invalidate_code = jit_invalidate_code,
	.vcpu_stats = jit_vcpu_stats,
	.vcpu_thread_id = jit_vcpu_thread_id,
	.destroy = jit_destroy,
};
ENGINE(jit_engine)
