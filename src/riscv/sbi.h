/* SBI 2.0 answered by the monitor itself (--mode para). */
#ifndef TREVO_RISCV_SBI_H
#define TREVO_RISCV_SBI_H

#include "cpu.h"

/* Handle the ecall from S-mode at h->pc: reads a7/a6/a0-a5, writes a0/a1. */
void sbi_call(struct hart *h);

#endif
