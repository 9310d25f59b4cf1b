/* One RISC-V hart of Trevo's software CPU (RV64IMAFDC, Zicsr, Zifencei,
 * privilege levels M/S/U per the privileged spec 1.12, Sv39/Sv48).
 *
 * Parts: decode.c (instruction -> decoded op, cached per block), exec.c (the
 * interpreter loop), mmu.c (soft TLB and page walk), csr.c (CSRs), trap.c
 * (exceptions, interrupts, mret/sret), fpu.c (F/D). */
#ifndef TREVO_RISCV_CPU_H
#define TREVO_RISCV_CPU_H

#include <pthread.h>
#include <stdatomic.h>

#include "../common.h"
#include "fpu.h"

struct rv_cpu;
struct vm;

enum { PRV_U = 0, PRV_S = 1, PRV_M = 3 };

/* mip/mie bits */
#define MIP_SSIP (1ULL << 1)
#define MIP_MSIP (1ULL << 3)
#define MIP_STIP (1ULL << 5)
#define MIP_MTIP (1ULL << 7)
#define MIP_SEIP (1ULL << 9)
#define MIP_MEIP (1ULL << 11)

/* exception causes */
enum {
	CAUSE_MISALIGNED_FETCH = 0,
	CAUSE_FETCH_ACCESS = 1,
	CAUSE_ILLEGAL_INSN = 2,
	CAUSE_BREAKPOINT = 3,
	CAUSE_MISALIGNED_LOAD = 4,
	CAUSE_LOAD_ACCESS = 5,
	CAUSE_MISALIGNED_STORE = 6,
	CAUSE_STORE_ACCESS = 7,
	CAUSE_USER_ECALL = 8,
	CAUSE_SUPERVISOR_ECALL = 9,
	CAUSE_MACHINE_ECALL = 11,
	CAUSE_FETCH_PAGE_FAULT = 12,
	CAUSE_LOAD_PAGE_FAULT = 13,
	CAUSE_STORE_PAGE_FAULT = 15,
};
#define CAUSE_INTERRUPT (1ULL << 63)

/* mstatus fields */
#define MSTATUS_SIE  (1ULL << 1)
#define MSTATUS_MIE  (1ULL << 3)
#define MSTATUS_SPIE (1ULL << 5)
#define MSTATUS_UBE  (1ULL << 6)
#define MSTATUS_MPIE (1ULL << 7)
#define MSTATUS_SPP  (1ULL << 8)
#define MSTATUS_VS   (3ULL << 9)
#define MSTATUS_MPP  (3ULL << 11)
#define MSTATUS_FS   (3ULL << 13)
#define MSTATUS_XS   (3ULL << 15)
#define MSTATUS_MPRV (1ULL << 17)
#define MSTATUS_SUM  (1ULL << 18)
#define MSTATUS_MXR  (1ULL << 19)
#define MSTATUS_TVM  (1ULL << 20)
#define MSTATUS_TW   (1ULL << 21)
#define MSTATUS_TSR  (1ULL << 22)
#define MSTATUS_UXL  (3ULL << 32)
#define MSTATUS_SXL  (3ULL << 34)
#define MSTATUS_SD   (1ULL << 63)

/* Soft TLB: one direct-mapped table per access kind, shared by every
 * translation context. A context is one address space (one satp value:
 * MODE, ASID and root) seen in one regime: fetch in U or S, data in U, S or
 * S with SUM, each with or without MXR (tlb_select, mmu.c). Each context in
 * use has a 12-bit tag, and an entry's key is (vaddr >> 12) | tag << 52, so
 * a change of privilege, MPRV/MPP/SUM/MXR or satp only selects other tags
 * (tlb_dtag, tlb_xtag) and keeps the entries of the others. Tag 0 is the
 * bare context (M-mode, MODE Bare): the identity, in every address space.
 * Fetches through global mappings (the G bit, 4.3.1: the kernel's code in
 * every Linux process) are cached under a fetch tag of their own shared by
 * all address spaces (tlb_gxtag), so a new process finds the kernel's
 * translations and blocks already there.
 * A hit means: this virtual page is RAM, the access is permitted in the
 * context (and, for stores, the page is dirty and holds no decoded code),
 * and host address = vaddr + addend. */
#define TLB_BITS 8
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_TAG_SHIFT 52
#define TLB_TAG_MAX 0xffe     /* 0xfff never: key ~0 is TLB_INVALID */
struct rv_tlb_entry {
	uint64_t vpn;       /* key: vaddr >> 12 | tag << 52; TLB_INVALID when empty */
	uintptr_t addend;   /* host pointer - vaddr */
	uint64_t pa_page;   /* physical page, for the code/write checks */
};
#define TLB_INVALID (~0ULL)

/* The contexts of one address space: the tag of each regime (0: none yet). */
enum { TLBK_FETCH_U, TLBK_FETCH_S, TLBK_U, TLBK_U_MXR, TLBK_S, TLBK_S_MXR, TLBK_SUM,
       TLBK_SUM_MXR, TLBK_COUNT };
#define TLB_SPACES 16
struct rv_tlb_space {
	uint64_t satp;
	uint64_t last_use;
	uint16_t tag[TLBK_COUNT];
};

/* Why translations were dropped (query-stats tlb-*): sfence.vma of all,
 * of an ASID, of one page; remote (SBI RFENCE); the tag space used up. And
 * satp writes that switched to another address space, or to a new one. */
enum { TLBF_SFENCE, TLBF_SFENCE_ASID, TLBF_PAGE, TLBF_REMOTE, TLBF_WIPE, TLBF_SPACE_SWITCH,
       TLBF_SPACE_NEW, TLBF_COUNT };

struct rv_block;

/* Jump cache: virtual pc -> decoded block, valid in the fetch context
 * whose tag (tlb_xtag or tlb_gxtag) the entry holds. */
#define JCACHE_BITS 12
#define JCACHE_SIZE (1u << JCACHE_BITS)
struct rv_jcache_entry {
	uint64_t va;
	struct rv_block *block;
	uint64_t tag;
	uint64_t unused;    /* 32 bytes: the translator indexes with a shift */
};

/* HART_STOP_PENDING: SBI hart_stop was called; the hart's thread makes it
 * HART_STOPPED once it is out of hart_run, so that hart_start (another
 * thread) writes the registers of a hart that no longer runs. */
enum hart_state { HART_RUNNING, HART_WFI, HART_STOPPED, HART_STOP_PENDING };

struct hart {
	/* hot: keep first */
	uint64_t x[33];        /* x[32] is the sink for writes to x0 */
	uint64_t pc;
	int priv;
	int64_t budget;        /* instructions left in this time slice */
	uint64_t instret;
	/* the translator's (jit.c): translated code counts the slice down in
	 * a host register and leaves instret behind; instret is exact again
	 * once it adds budget_mark - budget (done before every call to C and
	 * way out). jit_vpage: the virtual page of the code that runs, the
	 * same for every block of a chain (chains stay in a page).
	 * jit_held: which guest registers that code holds. */
	int64_t budget_mark;
	uint64_t jit_vpage;
	uint64_t jit_held;     /* the held registers of the code that runs */
	uint32_t jit_mxp;      /* 1: the host's MXCSR flags are guest fflags not yet folded */
	uint64_t tlb_dtag, tlb_xtag;  /* tag << TLB_TAG_SHIFT: data, fetch context */
	uint64_t tlb_gxtag;    /* fetch through global mappings (xtag when bare) */
	uint64_t tlb_fetch_tag;  /* the tag mmu_fetch_page's last page has */
	struct rv_tlb_entry tlb_r[TLB_SIZE], tlb_w[TLB_SIZE], tlb_x[TLB_SIZE];
	struct rv_jcache_entry jcache[JCACHE_SIZE];

	_Atomic uint64_t mip;  /* written by devices from other threads */
	/* Set by other threads when this hart must look at something at its
	 * next block boundary: requests (below), device DMA into code, code
	 * invalidated by another hart (hart_attend, engine.c). */
	_Atomic int attention;
	uint64_t mie;
	uint64_t mstatus;
	struct rv_fpu fpu;

	uint64_t misa, medeleg, mideleg, mtvec, mscratch, mepc, mcause, mtval;
	uint64_t mcounteren, mcountinhibit, menvcfg, mhartid;
	uint64_t stvec, sscratch, sepc, scause, stval, satp, scounteren, senvcfg;
	uint64_t pmpcfg[8];    /* pmpcfg0, 2, ... 14 (RV64 uses even numbers) */
	uint64_t pmpaddr[64];

	/* the soft TLB's address spaces (mmu.c) */
	struct rv_tlb_space tlb_space[TLB_SPACES];
	int tlb_cur;           /* index of satp's space in tlb_space */
	uint16_t tlb_gtag[2];  /* global fetch tags for U, S (0: none yet) */
	uint64_t tlb_gmode;    /* satp MODE the global tags were made under */
	unsigned tlb_next_tag; /* 0: the TLB was never wiped */
	uint64_t tlb_clock;
	/* The virtual range the superpages behind TLB entries cover: an
	 * sfence.vma of an address inside drops the contexts, not a page. */
	uint64_t tlb_super_lo, tlb_super_hi;
	/* Virtual pages (bit vpn % 4096) fetched from in translated contexts
	 * since all were last dropped: the jump cache can only hold blocks of
	 * those, so an sfence.vma of another page need not look at it. */
	uint64_t tlb_code_pages[64];

	uint64_t reservation;  /* LR/SC reserved physical address, or ~0 */
	uint64_t reservation_val;  /* the value LR loaded there (amo.c) */
	uint64_t amo_pa;       /* physical address of the last mmu_amo_ptr */
	_Atomic uint64_t timecmp;  /* CLINT mtimecmp (full) or SBI set_timer (para); any thread */
	uint64_t timer_bit;    /* MIP_MTIP in full mode, MIP_STIP in para mode */

	/* pending exception from a memory access helper */
	uint64_t exc_cause, exc_tval;

	_Atomic int state;     /* enum hart_state */
	uint64_t code_gen_seen;  /* rv_cpu.code_gen when the jcache was last valid */
	bool para;             /* SBI is answered by the monitor (--mode para) */
	int id;
	struct rv_cpu *cpu;
	struct rv_block *xblock;  /* scratch block for an instruction crossing pages */

	/* counters for query-stats (cold) */
	struct hart_stats {
		uint64_t exceptions[16];  /* by cause */
		uint64_t interrupts[12];  /* by cause */
		uint64_t sbi_calls[9];    /* by extension: SBI_STAT_* (sbi.h) */
		uint64_t wfi;
		uint64_t tlb[TLBF_COUNT];  /* TLBF_* */
	} stats;
};

#define MAX_HARTS 32
#define PAGE_CODE  1
#define PAGE_WATCH 2
/* Live migration's dirty log is armed for the page: it is kept out of the
 * write TLB, so the next store takes the slow path, which marks the page in
 * vm->mem's dirty bitmap and clears the flag (as KVM write-protects). Set
 * only while the harts are parked (rv_dirty_log, rv_dirty_rearm). */
#define PAGE_DIRTY_LOG 4

/* Requests to a hart from other threads (rv_hart_request), acted on at its
 * next block boundary or at once when it is not running. */
#define REQ_TLB_FLUSH   1u  /* sfence.vma of everything (SBI RFENCE) */
#define REQ_WRITE_DROP  2u  /* drop write mappings of pages holding code */

/* What the engine keeps per hart beside its architectural state (which
 * hart_power_on clears): the host thread, its wait object, its requests. */
struct rv_hart_thread {
	pthread_t thread;
	_Atomic int tid;
	pthread_mutex_t idle_lock;      /* WFI sleep; kicked under it */
	pthread_cond_t idle_cond;
	bool kicked;
	bool parked;                    /* under rv_cpu.park_lock */
	_Atomic unsigned requests;      /* REQ_* */
	_Atomic uint64_t req_seq, req_done;  /* tickets: posted, handled */
	_Atomic uint64_t wdrop_ticket;  /* of the latest REQ_WRITE_DROP */
	/* rv_cpu.code_gen when this hart entered hart_run; UINT64_MAX when
	 * it is outside (then it holds no block). Blocks dropped at a later
	 * generation may still be in use by it (epochs, cache.c). */
	_Atomic uint64_t active_gen;
};

/* The software CPU as an engine (engine.c "interp"): the harts and what they
 * share. It knows guest RAM and the VM's bus, never the board: devices are
 * reached through vm_mmio_read/write, and the board's HTIF watch is a hook. */
struct rv_cpu {
	struct vm *vm;
	int nr_harts;
	struct hart *harts[MAX_HARTS];
	struct rv_block_cache *blocks;   /* decoded code, shared by all harts */
	struct rv_hart_thread hthread[MAX_HARTS];
	/* The block cache's hash, page lists and dead list; page_flags writes. */
	pthread_mutex_t code_lock;
	/* Bumped (under code_lock) whenever blocks are dropped: a hart whose
	 * code_gen_seen differs empties its jcache before its next block. */
	_Atomic uint64_t code_gen;

	/* Main RAM (guest memory region 0), for the CPU's fast paths. */
	uint8_t *ram;
	uint64_t ram_base, ram_size;
	/* Per RAM page: PAGE_CODE (instructions decoded from it: stores must
	 * invalidate them), PAGE_WATCH (a store hook, HTIF tohost). Written by
	 * the CPU thread only. */
	uint8_t *page_flags;
	/* Device DMA into code pages, queued by I/O threads for the CPU thread. */
	pthread_mutex_t dma_lock;
	uint64_t dma_pages[64];
	int nr_dma_pages;
	bool dma_overflow;
	_Atomic int dma_pending;
	bool para;                       /* SBI answered by the monitor */

	/* mtime = (host_ns() - mtime_origin_ns) / 100; frozen while paused */
	uint64_t mtime_origin_ns;
	uint64_t paused_at_ns;

	/* A store to a PAGE_WATCH page calls watch (the board's HTIF). */
	void (*watch)(void *opaque, uint64_t pa, unsigned size);
	void *watch_opaque;

	/* One host thread per hart (hthread), and their parking handshake
	 * with the controller (engine.h): nr_parked counts parked threads. */
	bool started;
	int nr_started;                  /* threads created */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	int nr_parked;
	bool quit;
	_Atomic uint64_t executed;       /* all harts, for --max-insns */
	struct jit *jit;                 /* the translator's code cache (--cpu jit), or NULL */
};

/* --- the engine's interface for the board and its devices --- */

/* The software CPU of a VM (vm->engine_state of the "interp" engine). */
struct rv_cpu *rv_cpu_of(struct vm *vm);
/* Wake every hart thread (pause, stop); any thread. */
void rv_cpu_kick(struct rv_cpu *m);
/* Wake one hart's thread from WFI (interrupt raised, timer moved). */
void rv_hart_kick(struct hart *h);
/* Ask hart t for REQ_* bits; with wait, return once t has acted on them
 * (t == h: done at once). h is the asking hart, or NULL. Returns the
 * request's ticket (rv_hart_thread.req_seq). */
uint64_t rv_hart_request(struct hart *h, struct hart *t, unsigned bits, bool wait);
/* FENCE.I on h: besides its own code, every other hart has acted on the
 * REQ_WRITE_DROP requests posted so far (cache.c). */
void hart_fence_i(struct hart *h);
/* At a block boundary of h (its own thread): act on h->attention. */
void hart_attend(struct hart *h);
/* Act on the requests posted to h, outside its blocks (its own thread):
 * for a thread that waits, so that harts waiting for it go on. */
void hart_take_requests(struct hart *h);
/* The timebase (MTIME_HZ ticks since power-on, stopped while paused). */
uint64_t rv_mtime(struct rv_cpu *m);
/* Move the timebase so that it reads now (CLINT mtime writes). */
void rv_set_mtime(struct rv_cpu *m, uint64_t now);
/* Raise MTIP/STIP on harts whose timecmp has passed; returns the earliest
 * pending deadline in mtime ticks (UINT64_MAX: none). */
uint64_t rv_update_timers(struct rv_cpu *m);
/* Call fn on every store to the RAM page holding pa (HTIF tohost). */
void rv_watch_page(struct rv_cpu *m, uint64_t pa, void (*fn)(void *, uint64_t, unsigned),
		   void *opaque);

#define MTIME_HZ 10000000ULL               /* 10 MHz timebase */

/* Dirty logging for live migration (engine op dirty_log): on sets
 * PAGE_DIRTY_LOG on every RAM page and drops every hart's write TLB. The
 * harts must be parked. */
void rv_dirty_log(struct rv_cpu *m, bool on);
/* Before the bitmap is fetched (harts parked): arm the log again for every
 * page marked in it, and drop every hart's write TLB. */
void rv_dirty_rearm(struct rv_cpu *m);

/* --- interface used by the board and devices --- */

void hart_init(struct hart *h, struct rv_cpu *m, int id, bool para);
/* WFI, once its privilege checks passed (both engines). */
void hart_wfi(struct hart *h);
void hart_reset(struct hart *h, uint64_t pc);
/* All state as at power-on (system reset). */
void hart_power_on(struct hart *h);
/* Run until the slice budget is spent, the hart waits (WFI), or the VM stops. */
void hart_run(struct hart *h, int64_t budget);
/* Raise or lower interrupt-pending bits; any thread. */
void hart_set_mip(struct hart *h, uint64_t bits, bool level);

/* --- internal to src/riscv --- */
void hart_raise(struct hart *h, uint64_t cause, uint64_t tval); /* take trap now, pc = faulting */
bool hart_check_interrupts(struct hart *h);  /* takes one if pending+enabled */
void hart_set_priv(struct hart *h, int priv);
/* Empty the soft TLB and the jump cache, and select the contexts of the
 * current satp, privilege and mstatus (reset, state restore). */
void tlb_flush(struct hart *h);
/* SFENCE.VMA (privileged spec 4.2.1): va when has_va (rs1 != x0), asid
 * when has_asid (rs2 != x0). */
void tlb_sfence_vma(struct hart *h, bool has_va, uint64_t va, bool has_asid, uint64_t asid);
/* An SFENCE.VMA of everything asked by another hart (REQ_TLB_FLUSH), or
 * satp changed behind the hart's back (SBI hart_start). */
void tlb_flush_remote(struct hart *h);
/* Select the contexts for the current privilege, mstatus and satp. */
void tlb_select(struct hart *h);
/* satp was written: find or make its address space, and select. */
void tlb_switch_space(struct hart *h);
/* mret/sret; return false (illegal) when not allowed */
bool hart_mret(struct hart *h);
bool hart_sret(struct hart *h);

/* Memory slow paths (mmu.c). Return 0 or set h->exc_cause/exc_tval and
 * return -1. size is 1, 2, 4 or 8. */
int mmu_load_slow(struct hart *h, uint64_t va, unsigned size, uint64_t *val);
int mmu_store_slow(struct hart *h, uint64_t va, unsigned size, uint64_t val);
/* Translate a virtual address for an access: 0 or -1 with exc set. */
enum access { ACC_READ, ACC_WRITE, ACC_EXEC };
int mmu_translate(struct hart *h, uint64_t va, enum access acc, uint64_t *pa);
/* Fetch the 16 bits at va (instruction fetch). */
int mmu_fetch16(struct hart *h, uint64_t va, uint16_t *val);
/* Atomic memory ops and LR/SC on a physical RAM pointer. */
void *mmu_amo_ptr(struct hart *h, uint64_t va, unsigned size, bool is_lr);

/* CSRs (csr.c): 0, or -1 for an illegal instruction. */
int csr_read(struct hart *h, unsigned csr, uint64_t *val);
int csr_write(struct hart *h, unsigned csr, uint64_t val);
/* One Zicsr instruction (CSRRW/S/C and their I forms) decoded from raw,
 * for every engine: rs1_val is x[rs1], pc the instruction's address, adj
 * how far h->instret runs ahead of it (the counters read as of this
 * instruction). 0 with *rd_val the CSR's old value and *wrote set when the
 * CSR was written (the block must end), or -1: illegal instruction. */
int csr_insn(struct hart *h, uint32_t raw, unsigned csr, unsigned rs1, unsigned rd,
	     uint64_t rs1_val, uint64_t pc, uint64_t adj, uint64_t *rd_val, bool *wrote);

#endif
