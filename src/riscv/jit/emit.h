/* Trevo's small x86-64 emitter: just the encodings the RV64 translator
 * needs (Intel SDM vol. 2, chapter 2: REX, ModR/M, SIB). Code is written
 * into a buffer; a full buffer sets overflow and writes nothing more, so the
 * translator checks once per block instead of per instruction. */
#ifndef TREVO_RISCV_JIT_EMIT_H
#define TREVO_RISCV_JIT_EMIT_H

#include <stdbool.h>
#include <stdint.h>

enum x86_reg {
	RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	R8, R9, R10, R11, R12, R13, R14, R15,
	X86_NOREG = -1,
};

/* condition codes (the low nibble of Jcc/SETcc) */
enum x86_cc {
	CC_O = 0, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
	CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G,
};

/* two-operand ALU ops, as the /digit of 81/83 and bits 5:3 of 01..3B */
enum x86_alu { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 };
/* shifts: the /digit of C1/D3 */
enum x86_shift { SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

struct x86_buf {
	uint8_t *p, *end;
	bool overflow;
};

/* A memory operand [base + index*scale + disp]; index X86_NOREG for none. */
struct x86_mem {
	int base, index, scale;
	int32_t disp;
};
static inline struct x86_mem x86_m(int base, int32_t disp)
{
	return (struct x86_mem){ base, X86_NOREG, 1, disp };
}
static inline struct x86_mem x86_mi(int base, int index, int32_t disp)
{
	return (struct x86_mem){ base, index, 1, disp };
}

void x86_bytes(struct x86_buf *b, const void *p, unsigned n);
void x86_u8(struct x86_buf *b, uint8_t v);
void x86_u32(struct x86_buf *b, uint32_t v);

/* mov */
void x86_mov_rr(struct x86_buf *b, int w, int dst, int src);       /* w: 1 = 64-bit */
void x86_load(struct x86_buf *b, int w, int dst, struct x86_mem m);  /* mov dst, [m] */
void x86_store(struct x86_buf *b, int size, struct x86_mem m, int src); /* size 1,2,4,8 */
void x86_store_imm32(struct x86_buf *b, struct x86_mem m, int32_t imm); /* qword, sign-extended */
void x86_mov_imm(struct x86_buf *b, int dst, uint64_t imm);         /* shortest form */
void x86_movsx(struct x86_buf *b, int size, int dst, struct x86_mem m); /* size 1,2,4 -> 64 */
void x86_movzx(struct x86_buf *b, int size, int dst, struct x86_mem m); /* size 1,2 -> 64 */
void x86_movzx8_rr(struct x86_buf *b, int dst, int src);  /* movzx dst32, src8 */
void x86_movsxd_rr(struct x86_buf *b, int dst, int src);
void x86_lea(struct x86_buf *b, int dst, struct x86_mem m);

/* ALU */
void x86_alu_rr(struct x86_buf *b, int w, enum x86_alu op, int dst, int src);
void x86_alu_rm(struct x86_buf *b, int w, enum x86_alu op, int dst, struct x86_mem m);
void x86_alu_ri(struct x86_buf *b, int w, enum x86_alu op, int dst, int32_t imm);
void x86_alu_mi(struct x86_buf *b, int w, enum x86_alu op, struct x86_mem m, int32_t imm);
void x86_test_rr(struct x86_buf *b, int w, int a, int c);
void x86_test_ri(struct x86_buf *b, int w, int reg, int32_t imm);
void x86_shift_ri(struct x86_buf *b, int w, enum x86_shift op, int reg, uint8_t n);
void x86_shift_rcl(struct x86_buf *b, int w, enum x86_shift op, int reg);
void x86_imul_rm(struct x86_buf *b, int w, int dst, struct x86_mem m);
void x86_imul_rr(struct x86_buf *b, int w, int dst, int src);
void x86_mul_r(struct x86_buf *b, bool is_signed, int reg);
void x86_imul_rri(struct x86_buf *b, int w, int dst, int src, int32_t imm);
/* one-operand F7 group on rdx:rax: /4 mul, /5 imul */
void x86_mul_m(struct x86_buf *b, bool is_signed, struct x86_mem m);
void x86_setcc(struct x86_buf *b, enum x86_cc cc, int reg8);

/* SSE and FMA (SDM vol. 2: the legacy-prefix 0F maps and VEX). xmm registers
 * are numbered as the general ones (0-15). */
enum x86_sse_pfx { SSE_PS = 0, SSE_PD = 0x66, SSE_SD = 0xf2, SSE_SS = 0xf3 };
enum x86_sse_op {
	SSE_MOV_LOAD = 0x10, SSE_MOV_STORE = 0x11,   /* movss/movsd */
	SSE_CVTSI = 0x2a,                            /* cvtsi2ss/sd xmm, r/m32/64 */
	SSE_CVTT = 0x2c, SSE_CVT = 0x2d,             /* cvt(t)ss/sd2si r32/64, xmm/m */
	SSE_UCOMI = 0x2e, SSE_COMI = 0x2f,           /* with SSE_PS: ss, SSE_PD: sd */
	SSE_SQRT = 0x51, SSE_AND = 0x54, SSE_OR = 0x56,
	SSE_ADD = 0x58, SSE_MUL = 0x59, SSE_CVT_FP = 0x5a, /* cvtsd2ss / cvtss2sd */
	SSE_SUB = 0x5c, SSE_MIN = 0x5d, SSE_DIV = 0x5e, SSE_MAX = 0x5f,
	SSE_MOVD_TO = 0x6e, SSE_MOVD_FROM = 0x7e,    /* 66 (REX.W) movd/movq xmm <-> r */
	SSE_MXCSR = 0xae,                            /* reg 2: ldmxcsr, 3: stmxcsr */
};
/* pfx [REX] 0F op /r with reg and a memory or register operand; w: REX.W
 * (the 64-bit integer operand of cvtsi2sd, cvttsd2si, movq) */
void x86_sse_rm(struct x86_buf *b, enum x86_sse_pfx pfx, int w, enum x86_sse_op op, int reg,
		struct x86_mem m);
void x86_sse_rr(struct x86_buf *b, enum x86_sse_pfx pfx, int w, enum x86_sse_op op, int reg, int rm);
/* FMA3, the 231 forms: dst = src1 * [m] op dst (VEX.LIG.66.0F38, W1 for
 * double). op: 0xb9 vfmadd, 0xbb vfmsub, 0xbd vfnmadd, 0xbf vfnmsub. */
void x86_fma231_rm(struct x86_buf *b, int dbl, uint8_t op, int dst, int src1, struct x86_mem m);
void x86_store_imm32d(struct x86_buf *b, struct x86_mem m, int32_t imm); /* dword */

/* control flow; the rel32 forms return the address of the displacement to
 * patch with x86_patch_rel32 */
uint8_t *x86_jmp32(struct x86_buf *b, const uint8_t *target);
uint8_t *x86_jcc32(struct x86_buf *b, enum x86_cc cc, const uint8_t *target);
void x86_call_abs(struct x86_buf *b, const void *fn);  /* via rax */
void x86_jmp_r(struct x86_buf *b, int reg);             /* jmp reg */
void x86_push(struct x86_buf *b, int reg);
void x86_pop(struct x86_buf *b, int reg);
void x86_ret(struct x86_buf *b);
/* Point the rel32 at site to target. Both are addresses in the one view the
 * buffer writes (the translator's writable mapping): a displacement is the
 * same in either view of the code. */
void x86_patch_rel32(uint8_t *site, const uint8_t *target);

#endif
