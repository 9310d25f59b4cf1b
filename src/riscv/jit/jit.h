/* The translator ("jit" engine): RV64GC blocks of the decoded-code cache
 * (cache.h) become x86-64 code. Same harts, MMU, CSRs and devices as the
 * interpreter; only what runs a block differs. */
#ifndef TREVO_RISCV_JIT_H
#define TREVO_RISCV_JIT_H

#include "../cpu.h"
#include "../decode.h"

struct rv_block;

#define JIT_HELD_PAGES 1024

/* A hart's code cache: one memfd mapped twice, writable here and executable
 * there, so no page is ever both (issue #10, W^X). rv_cpu.jit is an array of
 * these, one per hart; each is used by its hart's thread only (jit.c). */
struct jit {
	uint8_t *rw, *rx;
	size_t size, used, start;   /* start: first byte after the stubs */
	intptr_t delta;             /* rx - rw */
	uint8_t *epilogue;          /* rw address */
	uint64_t (*enter)(struct hart *h, const void *code);
	bool trace;                 /* --cpu-trace: print each translated block */
	int hart;                   /* its index in rv_block.jit[] */
	struct rv_cpu *m;
	/* the held registers chosen for a physical page (translate.c),
	 * direct-mapped by page number; forgotten with the code */
	struct { uint64_t page, held; } held_pages[JIT_HELD_PAGES];
	/* statistics (query-stats, per hart): written by the hart's thread
	 * with JIT_STAT_*, read by the controller with relaxed loads */
	uint64_t blocks, code_bytes, flushes, chains, exits, tlb_misses;
} __attribute__((aligned(64)));  /* no line shared by two harts' counters */

#define JIT_STAT_SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define JIT_STAT_ADD(field, n) \
	JIT_STAT_SET(field, __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n))
#define JIT_STAT(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* Set up a code cache per hart of m (before any thread enters seccomp). */
int jit_init(struct rv_cpu *m);
void jit_free(struct rv_cpu *m);
/* hart_run for the translator (exec.c calls it when m->jit is set). */
void jit_run(struct hart *h, int64_t budget);
/* One instruction, as the interpreter does it; 1 when the block ends
 * (h->pc set, traps taken), 0 to go on. */
int jit_op(struct hart *h, const struct rv_insn *i, uint64_t pc, uint64_t adj);
/* Whether translated code may use FMA3: -1 asks cpuid at the first
 * translation; the lockstep test sets 0 to cover the no-FMA path. */
extern int jit_host_fma;
/* Translate b into j's cache: fills *out (rx addresses of the checked
 * entry, its forward-jump form and the dispatcher's body; which guest
 * registers the code keeps in host registers: only code with the same can
 * be chained to it); false when the cache is full. */
struct rv_jit_code;
bool jit_translate(struct jit *j, struct rv_block *b, bool linkable, struct rv_jit_code *out);

/* --cpu-trace: print len bytes of host code (read at code) as the
 * instructions they are at addr (Capstone, src/riscv/jit/trace.c). */
void jit_trace_host(const uint8_t *code, size_t len, uint64_t addr);
/* Set up the disassembler (jit_init, before seccomp). */
void jit_trace_init(void);

#endif
