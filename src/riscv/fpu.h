/* RISC-V F and D extensions (unprivileged spec, chapters 11-13): IEEE-754
 * single and double with every rounding mode, fflags, NaN boxing and the
 * canonical NaN. Independent of the rest of the hart. */
#ifndef TREVO_RISCV_FPU_H
#define TREVO_RISCV_FPU_H

#include <stdint.h>

struct rv_fpu {
	uint64_t f[32];   /* single values are NaN-boxed (upper 32 bits all ones) */
	uint32_t fflags;  /* NV DZ OF UF NX in bits 4..0 */
	uint32_t frm;     /* dynamic rounding mode, 3 bits */
};

/* The x86 SSE MXCSR exception flags (IE DE ZE OE UE PE, bits 0-5) as
 * fflags (NV DZ OF UF NX): the denormal-operand flag has no RISC-V
 * counterpart. A constant expression, for tables too (fpu.c, and the
 * translator's inline F/D). */
#define FPU_FFLAGS_OF_MXCSR(m) \
	((((m) & 0x01) << 4) | (((m) & 0x04) << 1) | (((m) & 0x08) >> 1) | \
	 (((m) & 0x10) >> 3) | (((m) & 0x20) >> 5))

/* Execute one OP-FP, FMADD, FMSUB, FNMSUB or FNMADD instruction (not loads
 * and stores). x is the integer register file; the instruction may write
 * x[rd] including x[0] (the caller zeroes it again). The caller has checked
 * that mstatus.FS is not Off and marks it Dirty after a successful return.
 * Returns 0, or -1 for an illegal instruction (reserved rm, bad encoding). */
int rv_fpu_exec(struct rv_fpu *fpu, uint64_t *x, uint32_t insn);

#endif
