/* One RISC-V hart of Trevo's software CPU (RV64IMAFDC, Zicsr, Zifencei,
 * privilege levels M/S/U per the privileged spec 1.12, Sv39/Sv48).
 *
 * Parts: decode.c (instruction -> decoded op, cached per block), exec.c (the
 * interpreter loop), mmu.c (soft TLB and page walk), csr.c (CSRs), trap.c
 * (exceptions, interrupts, mret/sret), fpu.c (F/D). */
#ifndef TREVO_RISCV_CPU_H
#define TREVO_RISCV_CPU_H

#include <stdatomic.h>

#include "../common.h"
#include "fpu.h"

struct rv_machine;

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

/* Soft TLB: one direct-mapped table per access kind. A hit means: this
 * virtual page is RAM, the access is permitted at the current privilege and
 * mstatus (and, for stores, the page is dirty and holds no decoded code), and
 * host address = vaddr + addend. Flushed on any change to satp, privilege,
 * MPRV/MPP/SUM/MXR and on sfence.vma. */
#define TLB_BITS 8
#define TLB_SIZE (1u << TLB_BITS)
struct rv_tlb_entry {
	uint64_t vpn;       /* vaddr >> 12; TLB_INVALID when empty */
	uintptr_t addend;   /* host pointer - vaddr */
	uint64_t pa_page;   /* physical page, for the code/write checks */
};
#define TLB_INVALID (~0ULL)

struct rv_block;

/* Jump cache: virtual pc -> decoded block, valid under the current mapping. */
#define JCACHE_BITS 12
#define JCACHE_SIZE (1u << JCACHE_BITS)

enum hart_state { HART_RUNNING, HART_WFI, HART_STOPPED };

struct hart {
	/* hot: keep first */
	uint64_t x[33];        /* x[32] is the sink for writes to x0 */
	uint64_t pc;
	int priv;
	int64_t budget;        /* instructions left in this time slice */
	uint64_t instret;
	struct rv_tlb_entry tlb_r[TLB_SIZE], tlb_w[TLB_SIZE], tlb_x[TLB_SIZE];
	struct rv_jcache_entry {
		uint64_t va;
		struct rv_block *block;
	} jcache[JCACHE_SIZE];

	_Atomic uint64_t mip;  /* written by devices from other threads */
	uint64_t mie;
	uint64_t mstatus;
	struct rv_fpu fpu;

	uint64_t misa, medeleg, mideleg, mtvec, mscratch, mepc, mcause, mtval;
	uint64_t mcounteren, mcountinhibit, menvcfg, mhartid;
	uint64_t stvec, sscratch, sepc, scause, stval, satp, scounteren, senvcfg;
	uint64_t pmpcfg[8];    /* pmpcfg0, 2, ... 14 (RV64 uses even numbers) */
	uint64_t pmpaddr[64];

	uint64_t reservation;  /* LR/SC reserved physical address, or ~0 */
	uint64_t amo_pa;       /* physical address of the last mmu_amo_ptr */
	uint64_t timecmp;      /* CLINT mtimecmp (full) or SBI set_timer (para) */
	uint64_t timer_bit;    /* MIP_MTIP in full mode, MIP_STIP in para mode */

	/* pending exception from a memory access helper */
	uint64_t exc_cause, exc_tval;

	_Atomic int state;     /* enum hart_state */
	bool para;             /* SBI is answered by the monitor (--mode para) */
	int id;
	struct rv_machine *m;
	struct rv_block *xblock;  /* scratch block for an instruction crossing pages */
};

/* --- interface used by the board and devices --- */

void hart_init(struct hart *h, struct rv_machine *m, int id, bool para);
void hart_reset(struct hart *h, uint64_t pc);
/* Run until the slice budget is spent, the hart waits (WFI), or the VM stops. */
void hart_run(struct hart *h, int64_t budget);
/* Raise or lower interrupt-pending bits; any thread. */
void hart_set_mip(struct hart *h, uint64_t bits, bool level);

/* --- internal to src/riscv --- */
void hart_raise(struct hart *h, uint64_t cause, uint64_t tval); /* take trap now, pc = faulting */
bool hart_check_interrupts(struct hart *h);  /* takes one if pending+enabled */
void hart_set_priv(struct hart *h, int priv);
void tlb_flush(struct hart *h);
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

#endif
