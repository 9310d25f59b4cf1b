/* Instruction decoding: a 16- or 32-bit RISC-V instruction becomes one
 * struct rv_insn, decoded once and kept in a block of the code cache. */
#ifndef TREVO_RISCV_DECODE_H
#define TREVO_RISCV_DECODE_H

#include <stdint.h>

#define RV_OPS(X)                                                            \
	X(ILLEGAL) X(BLOCK_END)                                              \
	X(LUI) X(AUIPC) X(JAL) X(JALR)                                       \
	X(BEQ) X(BNE) X(BLT) X(BGE) X(BLTU) X(BGEU)                          \
	X(LB) X(LH) X(LW) X(LD) X(LBU) X(LHU) X(LWU)                         \
	X(SB) X(SH) X(SW) X(SD)                                              \
	X(ADDI) X(SLTI) X(SLTIU) X(XORI) X(ORI) X(ANDI)                      \
	X(SLLI) X(SRLI) X(SRAI)                                              \
	X(ADD) X(SUB) X(SLL) X(SLT) X(SLTU) X(XOR) X(SRL) X(SRA) X(OR) X(AND) \
	X(ADDIW) X(SLLIW) X(SRLIW) X(SRAIW)                                  \
	X(ADDW) X(SUBW) X(SLLW) X(SRLW) X(SRAW)                              \
	X(MUL) X(MULH) X(MULHSU) X(MULHU) X(DIV) X(DIVU) X(REM) X(REMU)      \
	X(MULW) X(DIVW) X(DIVUW) X(REMW) X(REMUW)                            \
	X(LR_W) X(SC_W) X(AMO_W) X(LR_D) X(SC_D) X(AMO_D)                    \
	X(FENCE) X(FENCE_I) X(ECALL) X(EBREAK) X(MRET) X(SRET) X(WFI)        \
	X(SFENCE_VMA) X(CSR)                                                 \
	X(FLW) X(FLD) X(FSW) X(FSD) X(FP)                                    \
	X(LI) X(MV) X(NOP)

enum rv_op {
#define RV_OP_ENUM(name) OP_##name,
	RV_OPS(RV_OP_ENUM)
#undef RV_OP_ENUM
	OP_COUNT
};

struct rv_insn {
	const void *handler;  /* interpreter label, filled in by exec.c */
	uint8_t op;           /* enum rv_op */
	uint8_t rd;           /* 32 stands for x0 as a destination (a sink) */
	uint8_t rs1, rs2;
	uint8_t len;          /* 2 or 4 bytes */
	uint8_t idx;          /* position in the block */
	uint16_t pc_off;      /* offset of this instruction from the block start */
	int32_t imm;          /* immediate; CSR number; AMO funct5 */
	uint32_t raw;         /* the instruction bits (mtval, FP, CSR funct3) */
};

/* Decode the instruction whose low bits are in raw (a compressed one uses
 * only raw[15:0]); fills every field but handler/idx/pc_off. Unknown or
 * reserved encodings become OP_ILLEGAL. */
void rv_decode(uint32_t raw, struct rv_insn *out);
/* True when the op ends a block (control flow, traps, CSR writes...). */
int rv_op_ends_block(const struct rv_insn *in);
extern const char *const rv_op_names[OP_COUNT];

#endif
