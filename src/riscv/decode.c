/* RISC-V instruction decoding (unprivileged spec: base formats 2.2-2.3,
 * RV64I chapter 5, M 7, A 8, F/D 11-12, C 16; privileged spec for SYSTEM). */
#include "decode.h"

#include <stdbool.h>
#include <string.h>

const char *const rv_op_names[OP_COUNT] = {
#define RV_OP_NAME(name) #name,
	RV_OPS(RV_OP_NAME)
#undef RV_OP_NAME
};

static inline uint32_t bits(uint32_t v, int hi, int lo)
{
	return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static inline int32_t sext(uint32_t v, int width)
{
	return (int32_t)(v << (32 - width)) >> (32 - width);
}

static void set(struct rv_insn *o, enum rv_op op, unsigned rd, unsigned rs1, unsigned rs2, int32_t imm)
{
	o->op = op;
	o->rd = rd ? rd : 32;
	o->rs1 = rs1;
	o->rs2 = rs2;
	o->imm = imm;
}

static void illegal(struct rv_insn *o)
{
	set(o, OP_ILLEGAL, 0, 0, 0, 0);
}

/* Rewrite a few common forms into cheaper micro-ops. */
static void simplify(struct rv_insn *o)
{
	switch (o->op) {
	case OP_ADDI:
		if (o->rd == 32)
			o->op = OP_NOP;
		else if (o->rs1 == 0)
			o->op = OP_LI;
		else if (o->imm == 0)
			o->op = OP_MV;
		break;
	case OP_ADD: case OP_SUB: case OP_SLL: case OP_SLT: case OP_SLTU: case OP_XOR:
	case OP_SRL: case OP_SRA: case OP_OR: case OP_AND: case OP_ADDIW: case OP_SLLIW:
	case OP_SRLIW: case OP_SRAIW: case OP_ADDW: case OP_SUBW: case OP_SLLW: case OP_SRLW:
	case OP_SRAW: case OP_SLTI: case OP_SLTIU: case OP_XORI: case OP_ORI: case OP_ANDI:
	case OP_SLLI: case OP_SRLI: case OP_SRAI: case OP_LUI: case OP_AUIPC:
	case OP_MUL: case OP_MULH: case OP_MULHSU: case OP_MULHU: case OP_DIV: case OP_DIVU:
	case OP_REM: case OP_REMU: case OP_MULW: case OP_DIVW: case OP_DIVUW: case OP_REMW:
	case OP_REMUW:
		/* HINTs: integer ops writing x0 have no architectural effect */
		if (o->rd == 32)
			o->op = OP_NOP;
		else if (o->op == OP_ADD && o->rs1 == 0)
			o->op = OP_MV, o->rs1 = o->rs2;
		break;
	default:
		break;
	}
}

static void decode32(uint32_t r, struct rv_insn *o)
{
	unsigned rd = bits(r, 11, 7), rs1 = bits(r, 19, 15), rs2 = bits(r, 24, 20);
	unsigned f3 = bits(r, 14, 12), f7 = bits(r, 31, 25);
	int32_t imm_i = (int32_t)r >> 20;
	int32_t imm_s = sext((bits(r, 31, 25) << 5) | bits(r, 11, 7), 12);
	int32_t imm_b = sext((bits(r, 31, 31) << 12) | (bits(r, 7, 7) << 11) |
			     (bits(r, 30, 25) << 5) | (bits(r, 11, 8) << 1), 13);
	int32_t imm_j = sext((bits(r, 31, 31) << 20) | (bits(r, 19, 12) << 12) |
			     (bits(r, 20, 20) << 11) | (bits(r, 30, 21) << 1), 21);
	static const enum rv_op branch[8] = { OP_BEQ, OP_BNE, OP_ILLEGAL, OP_ILLEGAL,
					      OP_BLT, OP_BGE, OP_BLTU, OP_BGEU };
	static const enum rv_op load[8] = { OP_LB, OP_LH, OP_LW, OP_LD,
					    OP_LBU, OP_LHU, OP_LWU, OP_ILLEGAL };
	static const enum rv_op store[8] = { OP_SB, OP_SH, OP_SW, OP_SD, OP_ILLEGAL,
					     OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL };
	static const enum rv_op opimm[8] = { OP_ADDI, OP_SLLI, OP_SLTI, OP_SLTIU,
					     OP_XORI, OP_SRLI, OP_ORI, OP_ANDI };
	static const enum rv_op op0[8] = { OP_ADD, OP_SLL, OP_SLT, OP_SLTU,
					   OP_XOR, OP_SRL, OP_OR, OP_AND };
	static const enum rv_op opm[8] = { OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU,
					   OP_DIV, OP_DIVU, OP_REM, OP_REMU };
	static const enum rv_op opmw[8] = { OP_MULW, OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL,
					    OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW };

	switch (r & 0x7f) {
	case 0x37: set(o, OP_LUI, rd, 0, 0, (int32_t)(r & 0xfffff000)); break;
	case 0x17: set(o, OP_AUIPC, rd, 0, 0, (int32_t)(r & 0xfffff000)); break;
	case 0x6f: set(o, OP_JAL, rd, 0, 0, imm_j); break;
	case 0x67:
		if (f3)
			return illegal(o);
		set(o, OP_JALR, rd, rs1, 0, imm_i);
		break;
	case 0x63:
		set(o, branch[f3], 0, rs1, rs2, imm_b);
		break;
	case 0x03: set(o, load[f3], rd, rs1, 0, imm_i); break;
	case 0x23: set(o, store[f3], 0, rs1, rs2, imm_s); break;
	case 0x13:
		set(o, opimm[f3], rd, rs1, 0, imm_i);
		if (f3 == 1) {
			if (bits(r, 31, 26))
				return illegal(o);
			o->imm = bits(r, 25, 20);
		} else if (f3 == 5) {
			if (bits(r, 31, 26) == 0x10)
				o->op = OP_SRAI;
			else if (bits(r, 31, 26))
				return illegal(o);
			o->imm = bits(r, 25, 20);
		}
		break;
	case 0x1b:
		if (f3 == 0)
			set(o, OP_ADDIW, rd, rs1, 0, imm_i);
		else if (f3 == 1 && f7 == 0)
			set(o, OP_SLLIW, rd, rs1, 0, rs2);
		else if (f3 == 5 && f7 == 0)
			set(o, OP_SRLIW, rd, rs1, 0, rs2);
		else if (f3 == 5 && f7 == 0x20)
			set(o, OP_SRAIW, rd, rs1, 0, rs2);
		else
			return illegal(o);
		break;
	case 0x33:
		if (f7 == 0)
			set(o, op0[f3], rd, rs1, rs2, 0);
		else if (f7 == 1)
			set(o, opm[f3], rd, rs1, rs2, 0);
		else if (f7 == 0x20 && f3 == 0)
			set(o, OP_SUB, rd, rs1, rs2, 0);
		else if (f7 == 0x20 && f3 == 5)
			set(o, OP_SRA, rd, rs1, rs2, 0);
		else
			return illegal(o);
		break;
	case 0x3b:
		if (f7 == 1)
			set(o, opmw[f3], rd, rs1, rs2, 0);
		else if (f7 == 0 && f3 == 0)
			set(o, OP_ADDW, rd, rs1, rs2, 0);
		else if (f7 == 0 && f3 == 1)
			set(o, OP_SLLW, rd, rs1, rs2, 0);
		else if (f7 == 0 && f3 == 5)
			set(o, OP_SRLW, rd, rs1, rs2, 0);
		else if (f7 == 0x20 && f3 == 0)
			set(o, OP_SUBW, rd, rs1, rs2, 0);
		else if (f7 == 0x20 && f3 == 5)
			set(o, OP_SRAW, rd, rs1, rs2, 0);
		else
			return illegal(o);
		break;
	case 0x0f:
		if (f3 == 0) {
			/* x86-TSO already orders everything RVWMO's fences ask for
			 * except an earlier store before a later load (unprivileged
			 * spec 17.1, A.5 "mapping to TSO"): only a fence whose
			 * predecessor set has W or O and whose successor set has R
			 * or I needs a host barrier (imm 1); FENCE.TSO (fm 1000)
			 * never does. A fence after stores (W or O in the
			 * predecessor set) is OP_FENCE, which also acts on the
			 * hart's pending requests (cache.c, code_drop_write_mappings:
			 * code another hart reads after it); the others are no-ops. */
			unsigned pred = (r >> 24) & 0xf, succ = (r >> 20) & 0xf;
			bool tso = (r >> 28) == 8;
			set(o, (pred & 5) ? OP_FENCE : OP_NOP, 0, 0, 0,
			    !tso && (pred & 5) && (succ & 0xa));
		} else if (f3 == 1)
			set(o, OP_FENCE_I, 0, 0, 0, 0);
		else
			return illegal(o);
		break;
	case 0x73:
		if (f3 == 0) {
			if (r == 0x00000073)
				set(o, OP_ECALL, 0, 0, 0, 0);
			else if (r == 0x00100073)
				set(o, OP_EBREAK, 0, 0, 0, 0);
			else if (r == 0x10200073)
				set(o, OP_SRET, 0, 0, 0, 0);
			else if (r == 0x30200073)
				set(o, OP_MRET, 0, 0, 0, 0);
			else if (r == 0x10500073)
				set(o, OP_WFI, 0, 0, 0, 0);
			else if (f7 == 0x09 && rd == 0)
				set(o, OP_SFENCE_VMA, 0, rs1, rs2, 0);
			else
				return illegal(o);
		} else if (f3 == 4) {
			return illegal(o);
		} else {
			set(o, OP_CSR, rd, rs1, 0, (int32_t)bits(r, 31, 20));
		}
		break;
	case 0x2f: {
		unsigned f5 = bits(r, 31, 27);
		bool dbl = f3 == 3;
		if (f3 != 2 && f3 != 3)
			return illegal(o);
		if (f5 == 0x02) {
			if (rs2)
				return illegal(o);
			set(o, dbl ? OP_LR_D : OP_LR_W, rd, rs1, 0, 0);
		} else if (f5 == 0x03) {
			set(o, dbl ? OP_SC_D : OP_SC_W, rd, rs1, rs2, 0);
		} else if (f5 == 0x00 || f5 == 0x01 || f5 == 0x04 || f5 == 0x08 || f5 == 0x0c ||
			   f5 == 0x10 || f5 == 0x14 || f5 == 0x18 || f5 == 0x1c) {
			set(o, dbl ? OP_AMO_D : OP_AMO_W, rd, rs1, rs2, (int32_t)f5);
		} else {
			return illegal(o);
		}
		break;
	}
	case 0x07:
		if (f3 == 2)
			set(o, OP_FLW, 0, rs1, 0, imm_i);
		else if (f3 == 3)
			set(o, OP_FLD, 0, rs1, 0, imm_i);
		else
			return illegal(o);
		o->rd = rd; /* an f register: no x0 sink */
		break;
	case 0x27:
		if (f3 == 2)
			set(o, OP_FSW, 0, rs1, rs2, imm_s);
		else if (f3 == 3)
			set(o, OP_FSD, 0, rs1, rs2, imm_s);
		else
			return illegal(o);
		break;
	case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53:
		set(o, OP_FP, 0, 0, 0, 0);
		break;
	default:
		return illegal(o);
	}
	simplify(o);
}

/* Compressed instructions (chapter 16) expand to their base equivalents. */
static void decode16(uint32_t r, struct rv_insn *o)
{
	unsigned f3 = bits(r, 15, 13);
	unsigned rd = bits(r, 11, 7), rs2 = bits(r, 6, 2);
	unsigned rdp = 8 + bits(r, 4, 2), rs1p = 8 + bits(r, 9, 7);
	int32_t imm6 = sext((bits(r, 12, 12) << 5) | bits(r, 6, 2), 6);
	uint32_t uimm;

	switch (((r & 3) << 3) | f3) {
	case 0x00: /* C.ADDI4SPN */
		uimm = (bits(r, 12, 11) << 4) | (bits(r, 10, 7) << 6) | (bits(r, 6, 6) << 2) |
		       (bits(r, 5, 5) << 3);
		if (!uimm)
			return illegal(o);
		set(o, OP_ADDI, rdp, 2, 0, (int32_t)uimm);
		break;
	case 0x01: /* C.FLD */
		uimm = (bits(r, 12, 10) << 3) | (bits(r, 6, 5) << 6);
		set(o, OP_FLD, 0, rs1p, 0, (int32_t)uimm);
		o->rd = rdp;
		return;
	case 0x02: /* C.LW */
		uimm = (bits(r, 12, 10) << 3) | (bits(r, 6, 6) << 2) | (bits(r, 5, 5) << 6);
		set(o, OP_LW, rdp, rs1p, 0, (int32_t)uimm);
		break;
	case 0x03: /* C.LD */
		uimm = (bits(r, 12, 10) << 3) | (bits(r, 6, 5) << 6);
		set(o, OP_LD, rdp, rs1p, 0, (int32_t)uimm);
		break;
	case 0x05: /* C.FSD */
		uimm = (bits(r, 12, 10) << 3) | (bits(r, 6, 5) << 6);
		set(o, OP_FSD, 0, rs1p, rdp, (int32_t)uimm);
		break;
	case 0x06: /* C.SW */
		uimm = (bits(r, 12, 10) << 3) | (bits(r, 6, 6) << 2) | (bits(r, 5, 5) << 6);
		set(o, OP_SW, 0, rs1p, rdp, (int32_t)uimm);
		break;
	case 0x07: /* C.SD */
		uimm = (bits(r, 12, 10) << 3) | (bits(r, 6, 5) << 6);
		set(o, OP_SD, 0, rs1p, rdp, (int32_t)uimm);
		break;
	case 0x08: /* C.ADDI, C.NOP */
		set(o, OP_ADDI, rd, rd, 0, imm6);
		break;
	case 0x09: /* C.ADDIW */
		if (!rd)
			return illegal(o);
		set(o, OP_ADDIW, rd, rd, 0, imm6);
		break;
	case 0x0a: /* C.LI */
		set(o, OP_ADDI, rd, 0, 0, imm6);
		break;
	case 0x0b:
		if (rd == 2) { /* C.ADDI16SP */
			int32_t imm = sext((bits(r, 12, 12) << 9) | (bits(r, 6, 6) << 4) |
					   (bits(r, 5, 5) << 6) | (bits(r, 4, 3) << 7) |
					   (bits(r, 2, 2) << 5), 10);
			if (!imm)
				return illegal(o);
			set(o, OP_ADDI, 2, 2, 0, imm);
		} else { /* C.LUI */
			int32_t imm = sext((bits(r, 12, 12) << 17) | (bits(r, 6, 2) << 12), 18);
			if (!imm)
				return illegal(o);
			set(o, OP_LUI, rd, 0, 0, imm);
		}
		break;
	case 0x0c:
		switch (bits(r, 11, 10)) {
		case 0: /* C.SRLI */
			set(o, OP_SRLI, rs1p, rs1p, 0, (int32_t)((bits(r, 12, 12) << 5) | bits(r, 6, 2)));
			break;
		case 1: /* C.SRAI */
			set(o, OP_SRAI, rs1p, rs1p, 0, (int32_t)((bits(r, 12, 12) << 5) | bits(r, 6, 2)));
			break;
		case 2: /* C.ANDI */
			set(o, OP_ANDI, rs1p, rs1p, 0, imm6);
			break;
		default: {
			static const enum rv_op ops[8] = { OP_SUB, OP_XOR, OP_OR, OP_AND,
							   OP_SUBW, OP_ADDW, OP_ILLEGAL, OP_ILLEGAL };
			enum rv_op op = ops[(bits(r, 12, 12) << 2) | bits(r, 6, 5)];
			if (op == OP_ILLEGAL)
				return illegal(o);
			set(o, op, rs1p, rs1p, rdp, 0);
		}
		}
		break;
	case 0x0d: { /* C.J */
		int32_t imm = sext((bits(r, 12, 12) << 11) | (bits(r, 11, 11) << 4) |
				   (bits(r, 10, 9) << 8) | (bits(r, 8, 8) << 10) |
				   (bits(r, 7, 7) << 6) | (bits(r, 6, 6) << 7) |
				   (bits(r, 5, 3) << 1) | (bits(r, 2, 2) << 5), 12);
		set(o, OP_JAL, 0, 0, 0, imm);
		break;
	}
	case 0x0e: case 0x0f: { /* C.BEQZ, C.BNEZ */
		int32_t imm = sext((bits(r, 12, 12) << 8) | (bits(r, 11, 10) << 3) |
				   (bits(r, 6, 5) << 6) | (bits(r, 4, 3) << 1) |
				   (bits(r, 2, 2) << 5), 9);
		set(o, f3 == 6 ? OP_BEQ : OP_BNE, 0, rs1p, 0, imm);
		break;
	}
	case 0x10: /* C.SLLI */
		set(o, OP_SLLI, rd, rd, 0, (int32_t)((bits(r, 12, 12) << 5) | bits(r, 6, 2)));
		break;
	case 0x11: /* C.FLDSP */
		uimm = (bits(r, 12, 12) << 5) | (bits(r, 6, 5) << 3) | (bits(r, 4, 2) << 6);
		set(o, OP_FLD, 0, 2, 0, (int32_t)uimm);
		o->rd = rd;
		return;
	case 0x12: /* C.LWSP */
		if (!rd)
			return illegal(o);
		uimm = (bits(r, 12, 12) << 5) | (bits(r, 6, 4) << 2) | (bits(r, 3, 2) << 6);
		set(o, OP_LW, rd, 2, 0, (int32_t)uimm);
		break;
	case 0x13: /* C.LDSP */
		if (!rd)
			return illegal(o);
		uimm = (bits(r, 12, 12) << 5) | (bits(r, 6, 5) << 3) | (bits(r, 4, 2) << 6);
		set(o, OP_LD, rd, 2, 0, (int32_t)uimm);
		break;
	case 0x14:
		if (!bits(r, 12, 12)) {
			if (!rs2) { /* C.JR */
				if (!rd)
					return illegal(o);
				set(o, OP_JALR, 0, rd, 0, 0);
			} else { /* C.MV */
				set(o, OP_ADD, rd, 0, rs2, 0);
			}
		} else {
			if (!rs2 && !rd)
				set(o, OP_EBREAK, 0, 0, 0, 0);
			else if (!rs2) /* C.JALR */
				set(o, OP_JALR, 1, rd, 0, 0);
			else /* C.ADD */
				set(o, OP_ADD, rd, rd, rs2, 0);
		}
		break;
	case 0x15: /* C.FSDSP */
		uimm = (bits(r, 12, 10) << 3) | (bits(r, 9, 7) << 6);
		set(o, OP_FSD, 0, 2, rs2, (int32_t)uimm);
		break;
	case 0x16: /* C.SWSP */
		uimm = (bits(r, 12, 9) << 2) | (bits(r, 8, 7) << 6);
		set(o, OP_SW, 0, 2, rs2, (int32_t)uimm);
		break;
	case 0x17: /* C.SDSP */
		uimm = (bits(r, 12, 10) << 3) | (bits(r, 9, 7) << 6);
		set(o, OP_SD, 0, 2, rs2, (int32_t)uimm);
		break;
	default: /* 0x04: reserved in RV64 quadrant 0 */
		return illegal(o);
	}
	simplify(o);
}

void rv_decode(uint32_t raw, struct rv_insn *out)
{
	memset(out, 0, sizeof(*out));
	if ((raw & 3) == 3) {
		out->len = 4;
		out->raw = raw;
		decode32(raw, out);
	} else {
		out->len = 2;
		out->raw = raw & 0xffff;
		decode16(raw & 0xffff, out);
	}
}

int rv_op_ends_block(const struct rv_insn *in)
{
	switch (in->op) {
	case OP_JAL: case OP_JALR: case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE:
	case OP_BLTU: case OP_BGEU: case OP_ECALL: case OP_EBREAK: case OP_MRET:
	case OP_SRET: case OP_WFI: case OP_SFENCE_VMA: case OP_FENCE_I: case OP_ILLEGAL:
	case OP_BLOCK_END:
		return 1;
	case OP_CSR: {
		/* Only pure reads (csrrs/csrrc with rs1 = x0 or uimm = 0) keep going:
		 * every write may change translation or enable an interrupt. */
		unsigned f3 = (in->raw >> 12) & 7;
		return !((f3 == 2 || f3 == 3 || f3 == 6 || f3 == 7) && in->rs1 == 0);
	}
	default:
		return 0;
	}
}
