/* The architectural state of one RISC-V hart (struct vcpu_state, engine.h):
 * what get_vcpu returns and set_vcpu takes, and what a snapshot holds. */
#ifndef TREVO_RISCV_STATE_H
#define TREVO_RISCV_STATE_H

#include <stdint.h>

struct rv_vcpu_state {
	uint64_t x[32];        /* x[0] is 0 */
	uint64_t pc;
	uint64_t f[32];        /* NaN-boxed as the registers hold them */
	uint32_t fflags, frm;
	uint32_t priv;         /* PRV_U, PRV_S, PRV_M */
	uint32_t run_state;    /* 0 running, 1 waiting (WFI), 2 stopped (HSM) */
	uint64_t mstatus, misa, medeleg, mideleg, mie, mip, mtvec, mscratch, mepc;
	uint64_t mcause, mtval, mcounteren, mcountinhibit, menvcfg, mhartid;
	uint64_t stvec, sscratch, sepc, scause, stval, satp, scounteren, senvcfg;
	uint64_t pmpcfg[8], pmpaddr[64];
	uint64_t instret;
	uint64_t timecmp;      /* CLINT mtimecmp (full) or SBI set_timer (para) */
	uint64_t reservation;  /* LR/SC reservation (physical), ~0 for none */
};

#endif
