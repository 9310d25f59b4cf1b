/* The translator's out-of-line instructions: whatever the generated code
 * does not do inline (CSRs, F/D, A, system instructions, divisions, and the
 * slow path of loads and stores) runs here, with exactly the interpreter's
 * semantics (exec.c), so the two engines cannot drift apart on them. */
#include "../amo.h"
#include "../cache.h"
#include "../sbi.h"
#include "jit.h"

static inline int64_t sext32(uint64_t v)
{
	return (int64_t)(int32_t)(uint32_t)v;
}

/* pc: this instruction's virtual address; adj: instructions of the block
 * from this one to its end (block n - idx), charged at block entry. */
int jit_op(struct hart *h, const struct rv_insn *i, uint64_t pc, uint64_t adj)
{
	uint64_t *const x = h->x;
	uint64_t rs1 = x[i->rs1], rs2 = x[i->rs2], imm = (uint64_t)(int64_t)i->imm;
	uint64_t *rd = &x[i->rd];

#define EXCEPTION(cause, tval) do { h->exc_cause = (cause); h->exc_tval = (tval); goto exception; } while (0)
#define ILLEGAL() EXCEPTION(CAUSE_ILLEGAL_INSN, i->raw)
#define JUMP(t) do { h->pc = (t); return 1; } while (0)
#define LEAVE_EARLY(t) do {                             \
		h->instret -= adj - 1;                  \
		h->budget += (int64_t)adj - 1;          \
		h->pc = (t);                            \
		return 1;                               \
	} while (0)

	switch (i->op) {
	case OP_NOP: return 0;
	case OP_FENCE:
		/* as exec.c: requests first (code another hart reads after
		 * this fence, cache.c), then the host barrier */
		if (atomic_load_explicit(&h->attention, memory_order_relaxed))
			hart_attend(h);
		if (i->imm)
			atomic_thread_fence(memory_order_seq_cst);
		return 0;
	case OP_LI: case OP_LUI: *rd = imm; return 0;
	case OP_MV: *rd = rs1; return 0;
	case OP_AUIPC: *rd = pc + imm; return 0;
	case OP_JAL: *rd = pc + i->len; JUMP(pc + imm);
	case OP_JALR: {
		uint64_t t = (rs1 + imm) & ~1ULL;
		*rd = pc + i->len;
		JUMP(t);
	}
	case OP_BEQ: if (rs1 == rs2) JUMP(pc + imm); return 0;
	case OP_BNE: if (rs1 != rs2) JUMP(pc + imm); return 0;
	case OP_BLT: if ((int64_t)rs1 < (int64_t)rs2) JUMP(pc + imm); return 0;
	case OP_BGE: if ((int64_t)rs1 >= (int64_t)rs2) JUMP(pc + imm); return 0;
	case OP_BLTU: if (rs1 < rs2) JUMP(pc + imm); return 0;
	case OP_BGEU: if (rs1 >= rs2) JUMP(pc + imm); return 0;
	case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU: {
		static const uint8_t size[] = { 1, 2, 4, 8, 1, 2, 4 };
		unsigned k = i->op - OP_LB;
		uint64_t v;
		JIT_STAT_ADD(h->cpu->jit[h->id].tlb_misses, 1);
		if (mmu_load_slow(h, rs1 + imm, size[k], &v))
			goto exception;
		switch (i->op) {
		case OP_LB: v = (uint64_t)(int64_t)(int8_t)v; break;
		case OP_LH: v = (uint64_t)(int64_t)(int16_t)v; break;
		case OP_LW: v = (uint64_t)sext32(v); break;
		default: break;
		}
		*rd = v;
		return 0;
	}
	case OP_SB: case OP_SH: case OP_SW: case OP_SD: {
		int r;
		JIT_STAT_ADD(h->cpu->jit[h->id].tlb_misses, 1);
		r = mmu_store_slow(h, rs1 + imm, 1u << (i->op - OP_SB), rs2);
		if (r < 0)
			goto exception;
		if (r)
			LEAVE_EARLY(pc + i->len);
		return 0;
	}
	case OP_ADDI: *rd = rs1 + imm; return 0;
	case OP_SLTI: *rd = (int64_t)rs1 < (int64_t)imm; return 0;
	case OP_SLTIU: *rd = rs1 < imm; return 0;
	case OP_XORI: *rd = rs1 ^ imm; return 0;
	case OP_ORI: *rd = rs1 | imm; return 0;
	case OP_ANDI: *rd = rs1 & imm; return 0;
	case OP_SLLI: *rd = rs1 << i->imm; return 0;
	case OP_SRLI: *rd = rs1 >> i->imm; return 0;
	case OP_SRAI: *rd = (uint64_t)((int64_t)rs1 >> i->imm); return 0;
	case OP_ADD: *rd = rs1 + rs2; return 0;
	case OP_SUB: *rd = rs1 - rs2; return 0;
	case OP_SLL: *rd = rs1 << (rs2 & 63); return 0;
	case OP_SLT: *rd = (int64_t)rs1 < (int64_t)rs2; return 0;
	case OP_SLTU: *rd = rs1 < rs2; return 0;
	case OP_XOR: *rd = rs1 ^ rs2; return 0;
	case OP_SRL: *rd = rs1 >> (rs2 & 63); return 0;
	case OP_SRA: *rd = (uint64_t)((int64_t)rs1 >> (rs2 & 63)); return 0;
	case OP_OR: *rd = rs1 | rs2; return 0;
	case OP_AND: *rd = rs1 & rs2; return 0;
	case OP_ADDIW: *rd = (uint64_t)sext32(rs1 + imm); return 0;
	case OP_SLLIW: *rd = (uint64_t)sext32((uint32_t)rs1 << i->imm); return 0;
	case OP_SRLIW: *rd = (uint64_t)sext32((uint32_t)rs1 >> i->imm); return 0;
	case OP_SRAIW: *rd = (uint64_t)(int64_t)((int32_t)rs1 >> i->imm); return 0;
	case OP_ADDW: *rd = (uint64_t)sext32(rs1 + rs2); return 0;
	case OP_SUBW: *rd = (uint64_t)sext32(rs1 - rs2); return 0;
	case OP_SLLW: *rd = (uint64_t)sext32((uint32_t)rs1 << (rs2 & 31)); return 0;
	case OP_SRLW: *rd = (uint64_t)sext32((uint32_t)rs1 >> (rs2 & 31)); return 0;
	case OP_SRAW: *rd = (uint64_t)(int64_t)((int32_t)rs1 >> (rs2 & 31)); return 0;
	/* M: division by zero and overflow as in the table of section 7.2 */
	case OP_MUL: *rd = rs1 * rs2; return 0;
	case OP_MULH: *rd = (uint64_t)(((__int128)(int64_t)rs1 * (__int128)(int64_t)rs2) >> 64); return 0;
	case OP_MULHSU: *rd = (uint64_t)(((__int128)(int64_t)rs1 * (__int128)rs2) >> 64); return 0;
	case OP_MULHU: *rd = (uint64_t)(((unsigned __int128)rs1 * rs2) >> 64); return 0;
	case OP_DIV: {
		int64_t a = (int64_t)rs1, d = (int64_t)rs2;
		*rd = d == 0 ? ~0ULL : (a == INT64_MIN && d == -1) ? (uint64_t)a : (uint64_t)(a / d);
		return 0;
	}
	case OP_DIVU: *rd = rs2 == 0 ? ~0ULL : rs1 / rs2; return 0;
	case OP_REM: {
		int64_t a = (int64_t)rs1, d = (int64_t)rs2;
		*rd = d == 0 ? (uint64_t)a : (a == INT64_MIN && d == -1) ? 0 : (uint64_t)(a % d);
		return 0;
	}
	case OP_REMU: *rd = rs2 == 0 ? rs1 : rs1 % rs2; return 0;
	case OP_MULW: *rd = (uint64_t)sext32(rs1 * rs2); return 0;
	case OP_DIVW: {
		int32_t a = (int32_t)rs1, d = (int32_t)rs2;
		*rd = d == 0 ? ~0ULL : (a == INT32_MIN && d == -1) ? (uint64_t)(int64_t)a
								  : (uint64_t)(int64_t)(a / d);
		return 0;
	}
	case OP_DIVUW: {
		uint32_t a = (uint32_t)rs1, d = (uint32_t)rs2;
		*rd = d == 0 ? ~0ULL : (uint64_t)sext32(a / d);
		return 0;
	}
	case OP_REMW: {
		int32_t a = (int32_t)rs1, d = (int32_t)rs2;
		*rd = d == 0 ? (uint64_t)(int64_t)a : (a == INT32_MIN && d == -1) ? 0
								    : (uint64_t)(int64_t)(a % d);
		return 0;
	}
	case OP_REMUW: {
		uint32_t a = (uint32_t)rs1, d = (uint32_t)rs2;
		*rd = (uint64_t)sext32(d == 0 ? a : a % d);
		return 0;
	}
	/* A: src/riscv/amo.c, shared with every engine */
	case OP_LR_W: case OP_LR_D:
		if (!rv_lr(h, rs1, i->op == OP_LR_W ? 4 : 8, rd))
			goto exception;
		return 0;
	case OP_SC_W: case OP_SC_D:
		if (!rv_sc(h, rs1, i->op == OP_SC_W ? 4 : 8, rs2, rd))
			goto exception;
		return 0;
	case OP_AMO_W: case OP_AMO_D:
		if (!rv_amo(h, rs1, i->op == OP_AMO_W ? 4 : 8, (unsigned)i->imm, rs2, rd))
			goto exception;
		return 0;
	case OP_FENCE_I:
		/* stores to decoded code already dropped it (PAGE_CODE), but
		 * another hart's may still be on their way (cache.c); the
		 * other harts answer the waits in hart_fence_i at their next
		 * block entry (jit.c) */
		hart_fence_i(h);
		JUMP(pc + i->len);
	case OP_ECALL:
		if (h->para && h->priv == PRV_S) {
			h->pc = pc;
			sbi_call(h);
			JUMP(pc + 4);
		}
		EXCEPTION(CAUSE_USER_ECALL + (uint64_t)h->priv, 0);
	case OP_EBREAK:
		EXCEPTION(CAUSE_BREAKPOINT, pc);
	case OP_MRET:
		h->pc = pc;
		if (!hart_mret(h))
			ILLEGAL();
		return 1;
	case OP_SRET:
		h->pc = pc;
		if (!hart_sret(h))
			ILLEGAL();
		return 1;
	case OP_WFI:
		/* 3.1.6.5: TW traps WFI below M; U-mode WFI is illegal with S present */
		if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MSTATUS_TW)))
			ILLEGAL();
		hart_wfi(h);
		JUMP(pc + 4);
	case OP_SFENCE_VMA:
		if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MSTATUS_TVM)))
			ILLEGAL();
		tlb_sfence_vma(h, i->rs1 != 0, rs1, i->rs2 != 0, rs2);
		JUMP(pc + 4);
	case OP_CSR: {
		uint64_t old;
		bool wrote;

		if (csr_insn(h, i->raw, (unsigned)i->imm, i->rs1, i->rd, rs1, pc, adj, &old, &wrote))
			ILLEGAL();
		*rd = old;
		if (wrote)
			LEAVE_EARLY(pc + 4);
		return 0;
	}
	case OP_FLW: case OP_FLD: {
		unsigned size = i->op == OP_FLW ? 4 : 8;
		uint64_t v;
		if (!(h->mstatus & MSTATUS_FS))
			ILLEGAL();
		if (mmu_load_slow(h, rs1 + imm, size, &v))
			goto exception;
		h->fpu.f[i->rd] = size == 4 ? v | 0xffffffff00000000ULL : v;
		h->mstatus |= MSTATUS_FS;
		return 0;
	}
	case OP_FSW: case OP_FSD: {
		unsigned size = i->op == OP_FSW ? 4 : 8;
		uint64_t v = h->fpu.f[i->rs2];
		int r;
		if (!(h->mstatus & MSTATUS_FS))
			ILLEGAL();
		r = mmu_store_slow(h, rs1 + imm, size, size == 4 ? (uint32_t)v : v);
		if (r < 0)
			goto exception;
		if (r)
			LEAVE_EARLY(pc + i->len);
		return 0;
	}
	case OP_FP:
		if (!(h->mstatus & MSTATUS_FS))
			ILLEGAL();
		if (rv_fpu_exec(&h->fpu, x, i->raw)) {
			x[0] = 0;
			ILLEGAL();
		}
		x[0] = 0;
		h->mstatus |= MSTATUS_FS;
		return 0;
	case OP_ILLEGAL:
	default:
		ILLEGAL();
	}
exception:
	h->instret -= adj;
	h->pc = pc;
	hart_raise(h, h->exc_cause, h->exc_tval);
	return 1;
#undef EXCEPTION
#undef ILLEGAL
#undef JUMP
#undef LEAVE_EARLY
}
