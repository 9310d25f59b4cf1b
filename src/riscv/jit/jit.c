/* The "jit" engine: the interpreter engine's harts, threads, parking and
 * devices (engine.c, reached through its ops table), with blocks run as
 * translated x86-64 code (translate.c) by the dispatcher below.
 *
 * Threads: harts run in parallel, each on its own host thread (engine.c),
 * each with a code cache of its own (struct jit, rv_cpu.jit[hart]). A
 * hart's thread alone translates into its cache, patches chain jumps in
 * it, empties it when it is full, counts its statistics and runs its code;
 * no other thread ever reads or writes that memory. So
 *  - the allocation pointer and the flush need no lock: the flush happens
 *    between blocks, on the only thread that can be inside the code, and
 *    also forgets the hart's slot in every block (code_cache_forget_jit)
 *    and empties the hart's jump cache, the only two ways back into the
 *    code besides chain jumps from code that went with it;
 *  - a chain jump is patched while no thread can be executing it (the one
 *    that could is the patcher, in the dispatcher);
 *  - no cross-modifying code (Intel SDM vol. 3, 8.1.3): code is written
 *    and run by one thread, which reaches what it wrote by a jump (8.1.3,
 *    option 1). When the kernel moves the thread to another core it does
 *    so through an interrupt or system call and back to user mode, and
 *    the new core fetches the code afresh (the guarantee single-threaded
 *    JITs rely on);
 *  - the decoded blocks (rv_block, cache.c) stay shared: rv_block.jit[h]
 *    is hart h's translation of the block, written and read by h only
 *    (the array is allocated with the block, under code_lock, and freed
 *    with it). Translated code holds pointers into its block (the
 *    helpers' rv_insn), so it must not run once the block is freed: a
 *    block dropped by another hart (a store into its page, REQ_WRITE_DROP,
 *    DMA, the decoded cache filling up) is freed only once every hart has
 *    left the slice it was in (epochs, cache.c), and the drop sets every
 *    hart's attention word, which the checked entry of every block tests,
 *    so a hart inside the dropped code leaves it at its next block
 *    boundary, and hart_attend then empties its jump cache. Chains never
 *    leave a physical page and a page's blocks are dropped together, so no
 *    live block chains into dropped code; the dropped code itself stays in
 *    the hart's cache, unreachable, until the hart's next flush;
 *  - other harts' requests (remote sfence.vma, FENCE.I's write-mapping
 *    drop) are acted on at the target's next block entry (the attention
 *    word again) by the target's own thread, while the requester waits in
 *    wait_for (engine.c) where SBI RFENCE and FENCE.I need it; every hart
 *    answers while it runs, sleeps in WFI or is parked, so no wait hangs.
 * AMOs, LR/SC and fences have their host-atomic forms (amo.c), as in the
 * interpreter, which runs its harts in parallel the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../engine.h"
#include "../../stats.h"
#include "../../vm.h"
#include "../cache.h"
#include "emit.h"
#include "jit.h"

/* A hart's code cache, flushed whole when full: 32 MiB with up to 2 harts,
 * then 64 MiB shared out, 8 MiB at least (256 MiB of memfd for 32 harts;
 * its pages are only allocated as code is written). */
#define JIT_CACHE_SIZE (32u << 20)
#define JIT_CACHE_TOTAL (64u << 20)
#define JIT_CACHE_MIN (8u << 20)

/* What a block returns: the site of its patchable exit jump (0 when the
 * exit cannot be chained) and its physical page. */
struct jit_exit {
	uint64_t site;
	uint64_t pa_page;
};

static size_t cache_size(int nr_harts)
{
	size_t size = JIT_CACHE_TOTAL / (unsigned)(nr_harts > 0 ? nr_harts : 1);

	if (size > JIT_CACHE_SIZE)
		size = JIT_CACHE_SIZE;
	return size < JIT_CACHE_MIN ? JIT_CACHE_MIN : size;
}

static void cache_unmap(struct jit *j)
{
	if (j->rw && j->rw != MAP_FAILED)
		munmap(j->rw, j->size);
	if (j->rx && j->rx != MAP_FAILED)
		munmap(j->rx, j->size);
	j->rw = j->rx = NULL;
}

static int cache_init(struct jit *j, struct rv_cpu *m, int hart)
{
	struct x86_buf b;
	int fd;

	j->hart = hart;
	j->m = m;
	j->size = cache_size(m->nr_harts);
	/* Two views of one memfd: code is written through rw and run from
	 * rx, so no mapping is ever writable and executable (W^X). Done at
	 * create time, before any thread enters seccomp. */
	fd = memfd_create("trevo-jit", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)j->size)) {
		int err = errno;
		warn("jit: code cache: %s", strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	j->rw = mmap(NULL, j->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	j->rx = mmap(NULL, j->size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	close(fd);
	if (j->rw == MAP_FAILED || j->rx == MAP_FAILED) {
		warn("jit: mapping the code cache: %s", strerror(errno));
		cache_unmap(j);
		return -ENOMEM;
	}
	j->delta = j->rx - j->rw;

	/* enter(h, code): save the callee-saved registers, rbx = h,
	 * r12 = h->budget, jump to code; the epilogue returns rax:rdx. */
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
	x86_load(&b, 1, R12, x86_m(RBX, (int32_t)offsetof(struct hart, budget)));
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
	if (j->trace)
		jit_trace_init();
	return 0;
}

static void caches_free(struct jit *j, int n)
{
	for (int i = 0; i < n; i++)
		cache_unmap(&j[i]);
	free(j);
}

int jit_init(struct rv_cpu *m)
{
	int n = m->nr_harts > 0 ? m->nr_harts : 1;
	struct jit *j = aligned_alloc(64, (size_t)n * sizeof(*j));

	if (!j)
		return -ENOMEM;
	memset(j, 0, (size_t)n * sizeof(*j));
	for (int i = 0; i < n; i++) {
		int err = cache_init(&j[i], m, i);
		if (err) {
			caches_free(j, i);
			return err;
		}
	}
	m->jit = j;
	return 0;
}

void jit_free(struct rv_cpu *m)
{
	if (!m->jit)
		return;
	caches_free(m->jit, m->nr_harts > 0 ? m->nr_harts : 1);
	m->jit = NULL;
}

/* h's cache is full: its code goes, and with it every way into the code
 * (h's slot in each block, h's jump cache), and h starts again from the
 * bottom. Between blocks, on h's thread, the only one that runs this code.
 * The decoded blocks stay, and so does every other hart's code. */
static void jit_flush(struct hart *h)
{
	struct jit *j = &h->cpu->jit[h->id];

	code_cache_forget_jit(h->cpu->blocks, h->id);
	memset(h->jcache, 0, sizeof(h->jcache));
	memset(j->held_pages, 0, sizeof(j->held_pages));
	JIT_STAT_SET(j->used, j->start);
	JIT_STAT_ADD(j->flushes, 1);
}

/* Translated code leaves the fflags its inline F/D raised in MXCSR's
 * sticky flags (translate.c, mx_fold): they join fflags here, on the way
 * back. */
static void fold_mxcsr(struct hart *h)
{
	uint32_t m;

	__asm__ volatile("stmxcsr %0" : "=m"(m));
	h->fpu.fflags |= FPU_FFLAGS_OF_MXCSR(m);
	h->jit_mxp = 0;
}

void jit_run(struct hart *h, int64_t budget)
{
	static const void *const no_labels[OP_COUNT];
	struct rv_cpu *m = h->cpu;
	struct jit *j = &m->jit[h->id];
	struct jit_exit link = { 0, 0 };
	struct jit_exit (*enter)(struct hart *, const void *) =
		(struct jit_exit (*)(struct hart *, const void *))(void *)j->enter;

	h->budget = budget;
	h->reservation = ~0ULL;

	for (;;) {
		struct rv_block *b;
		bool cacheable = true;
		struct rv_jit_code tr;
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
			     atomic_load_explicit(&h->state, memory_order_relaxed) != HART_RUNNING))
			break;
		pc = h->pc;
		b = jcache_find(h, pc, no_labels, &cacheable);
		if (!b) {
			h->budget--;  /* a fetch fault, charged as in exec.c */
			link.site = 0;
			continue;
		}
		if (cacheable)
			tr = b->jit[h->id];
		else
			tr.body = NULL;
		if (!tr.body) {
			/* a page-crossing instruction's scratch block is
			 * translated afresh each time and never linked */
			if (!jit_translate(j, b, cacheable, &tr)) {
				jit_flush(h);
				link.site = 0;
				continue;
			}
			if (cacheable)
				b->jit[h->id] = tr;
		}
		if (link.site) {
			/* a chain keeps the held registers in the host ones:
			 * only between code that holds the same (a page's
			 * blocks do, translate.c, unless its choice was
			 * evicted and made again); a forward jump skips the
			 * attention check (translate.c) */
			bool fwd = link.pa_page >> 63;
			uint64_t page = link.pa_page & ~(1ULL << 63);

			if (cacheable && page == b->pa >> 12 && h->jit_held == tr.held) {
				/* in h's own code: see the top */
				x86_patch_rel32((uint8_t *)(uintptr_t)link.site,
						(const uint8_t *)(fwd ? tr.fwd : tr.entry) - j->delta);
				JIT_STAT_ADD(j->chains, 1);
			}
			link.site = 0;
		}
		JIT_STAT_ADD(j->exits, 1);
		/* what translated code needs (translate.c): the page its pc is
		 * in, and the budget its instret counts from */
		h->jit_vpage = pc & ~0xfffULL;
		h->budget_mark = h->budget;
		/* Every block a chain goes through holds what its first does;
		 * where a jump goes into code that holds others, it says so
		 * in jit_held (translate.c, jump_cache). */
		h->jit_held = tr.held;
		link = enter(h, tr.body);
		if (h->jit_mxp)
			fold_mxcsr(h);
	}
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
/* Live migration's dirty log: the interpreter's page flag and write-TLB
 * drop serve the translator as they are, since translated stores hit
 * only write-TLB entries that mmu.c filled after checking the flag. */
static int jit_dirty_log(struct vm *vm, bool on)
{
	return interp()->dirty_log(vm, on);
}
static int jit_dirty_sync(struct vm *vm)
{
	return interp()->dirty_sync(vm);
}
static int jit_vcpu_thread_id(struct vm *vm, int cpu)
{
	return interp()->vcpu_thread_id(vm, cpu);
}

static void jit_vcpu_stats(struct vm *vm, int cpu, const struct stats_sink *s)
{
	struct rv_cpu *m = rv_cpu_of(vm);
	const struct jit *j;

	interp()->vcpu_stats(vm, cpu, s);
	if (!m || !m->jit || cpu < 0 || cpu >= m->nr_harts)
		return;
	/* each hart has its own code cache: its own figures */
	j = &m->jit[cpu];
	stats_put(s, "jit-blocks-translated", JIT_STAT(j->blocks));
	stats_put(s, "jit-code-bytes", JIT_STAT(j->code_bytes));
	stats_put(s, "jit-cache-used", JIT_STAT(j->used));
	stats_put(s, "jit-cache-flushes", JIT_STAT(j->flushes));
	stats_put(s, "jit-chains-patched", JIT_STAT(j->chains));
	stats_put(s, "jit-dispatcher-entries", JIT_STAT(j->exits));
	stats_put(s, "jit-tlb-misses", JIT_STAT(j->tlb_misses));
}

static void jit_destroy(struct vm *vm)
{
	struct rv_cpu *m = rv_cpu_of(vm);
	struct jit *j = m ? m->jit : NULL;
	int n = m && m->nr_harts > 0 ? m->nr_harts : 1;

	interp()->destroy(vm);
	if (j)
		caches_free(j, n);
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
	.dirty_log = jit_dirty_log,
	.dirty_sync = jit_dirty_sync,
	.vcpu_stats = jit_vcpu_stats,
	.vcpu_thread_id = jit_vcpu_thread_id,
	.destroy = jit_destroy,
};
ENGINE(jit_engine)
