/* SBI 2.0 answered by the monitor itself (--mode para). */
#ifndef TREVO_RISCV_SBI_H
#define TREVO_RISCV_SBI_H

#include "cpu.h"

/* SBI calls counted per extension (hart stats, query-stats). */
enum { SBI_STAT_LEGACY, SBI_STAT_BASE, SBI_STAT_TIME, SBI_STAT_IPI, SBI_STAT_RFENCE,
       SBI_STAT_HSM, SBI_STAT_SRST, SBI_STAT_DBCN, SBI_STAT_OTHER, SBI_STAT_COUNT };
extern const char *const sbi_stat_names[SBI_STAT_COUNT];

/* Handle the ecall from S-mode at h->pc: reads a7/a6/a0-a5, writes a0/a1. */
void sbi_call(struct hart *h);

#endif
