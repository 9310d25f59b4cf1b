/* The A extension's memory operations (LR, SC, AMO*) in one place, called by
 * every CPU engine (the interpreter's handlers and the translator's helper
 * calls), so that their atomicity against other harts and device threads is
 * decided here alone. Each returns false when the access trapped; the trap
 * is then recorded in h->exc_cause/exc_tval as for any memory access. */
#ifndef TREVO_RISCV_AMO_H
#define TREVO_RISCV_AMO_H

#include "cpu.h"

/* LR.W/LR.D (size 4 or 8): *rd = sign-extended loaded value; reserves. */
bool rv_lr(struct hart *h, uint64_t va, unsigned size, uint64_t *rd);
/* SC.W/SC.D: *rd = 0 if stored, 1 if the reservation was lost. */
bool rv_sc(struct hart *h, uint64_t va, unsigned size, uint64_t val, uint64_t *rd);
/* AMO*.W/.D; funct5 is instruction bits 31:27 (0x00 add, 0x01 swap,
 * 0x04 xor, 0x08 or, 0x0c and, 0x10 min, 0x14 max, 0x18 minu, 0x1c maxu).
 * *rd = the old value, sign-extended. */
bool rv_amo(struct hart *h, uint64_t va, unsigned size, unsigned funct5, uint64_t src,
	    uint64_t *rd);

#endif
