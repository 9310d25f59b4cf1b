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

/* Execute one OP-FP, FMADD, FMSUB, FNMSUB or FNMADD instruction (not loads
 * and stores). x is the integer register file; the instruction may write
 * x[rd] including x[0] (the caller zeroes it again). The caller has checked
 * that mstatus.FS is not Off and marks it Dirty after a successful return.
 * Returns 0, or -1 for an illegal instruction (reserved rm, bad encoding). */
int rv_fpu_exec(struct rv_fpu *fpu, uint64_t *x, uint32_t insn);

#endif
