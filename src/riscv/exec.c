/* The interpreter: runs decoded blocks with threaded dispatch (computed
 * goto). Per instruction it does only the instruction's own work; interrupt,
 * timer and budget checks happen between blocks (STYLE.md lesson 7). */
#include <string.h>

#include "../vm.h"
#include "amo.h"
#include "cpu.h"
#include "cache.h"
#include "sbi.h"
#include "jit/jit.h"

static inline int64_t sext32(uint64_t v)
{
	return (int64_t)(int32_t)(uint32_t)v;
}

/* Find or build the block at pc (cache.h). */
struct rv_block *rv_find_block(struct hart *h, uint64_t pc, const void *const *labels,
			       bool *cacheable)
{
	struct rv_cpu *m = h->cpu;
	uint64_t pa;
	uint8_t *page = mmu_fetch_page(h, pc, &pa);
	struct rv_block *b;

	if (!page) {
		hart_raise(h, h->exc_cause, h->exc_tval);
		return NULL;
	}
	*cacheable = true;
	if ((pc & 0xfff) == 0xffe && (page[0xffe] & 3) == 3) {
		uint16_t hi;
		uint32_t raw;
		if (mmu_fetch16(h, pc + 2, &hi)) {
			hart_raise(h, h->exc_cause, h->exc_tval);
			return NULL;
		}
		raw = page[0xffe] | (uint32_t)page[0xfff] << 8 | (uint32_t)hi << 16;
		b = h->xblock;
		rv_decode(raw, &b->insn[0]);
		b->insn[0].handler = labels[b->insn[0].op];
		b->insn[0].idx = 0;
		b->insn[0].pc_off = 0;
		memset(&b->insn[1], 0, sizeof(b->insn[1]));
		b->insn[1].op = OP_BLOCK_END;
		b->insn[1].handler = labels[OP_BLOCK_END];
		b->insn[1].pc_off = 4;
		b->insn[1].idx = 1;
		b->n = 1;
		b->bytes = 4;
		b->pa = pa;
		b->succ[0] = b->succ[1] = NULL;
		*cacheable = false;
		return b;
	}
	b = code_cache_lookup(m->blocks, pa);
	if (!b)
		b = code_cache_build(m->blocks, pa, page, labels);
	if (!b) {
		/* Out of host memory for decoded code: empty the cache (its
		 * blocks go to the dead list, freed between slices) and try
		 * once more; if that fails too, the fetch fails as a guest
		 * access fault rather than bringing trevo down. */
		code_cache_flush(m->blocks);
		b = code_cache_build(m->blocks, pa, page, labels);
	}
	if (!b) {
		hart_raise(h, CAUSE_FETCH_ACCESS, pc);
		return NULL;
	}
	return b;
}

void hart_run(struct hart *h, int64_t budget)
{
	static const void *const labels[OP_COUNT] = {
#define RV_OP_LABEL(name) [OP_##name] = &&op_##name,
		RV_OPS(RV_OP_LABEL)
#undef RV_OP_LABEL
	};
	uint64_t *const x = h->x;
	const struct rv_insn *i;
	struct rv_block *b, *link_from = NULL;
	int link_k = 0;
	uint64_t pc;

#define NEXT do { i++; goto *i->handler; } while (0)
#define RD x[i->rd]
#define RS1 x[i->rs1]
#define RS2 x[i->rs2]
#define IMM ((int64_t)i->imm)
#define PC (pc + i->pc_off)
/* Leave the block after the current instruction (it retired). */
#define JUMP(target) do { h->pc = (target); goto block_done; } while (0)
/* Go on to successor k (a direct target in the same page): straight into
 * the linked block when nothing asks for the loop's attention. */
/* A direct jump: linkable when the target is in the block's page. */
#define TAKEN(target) do {                                                     \
		uint64_t t_ = (target);                                        \
		if (((pc ^ t_) >> 12) == 0)                                    \
			CHAIN(t_, 0);                                          \
		JUMP(t_);                                                      \
	} while (0)
#define CHAIN(target, k) do {                                                  \
		struct rv_block *n_ = b->succ[k];                              \
		h->pc = (target);                                              \
		if (likely(n_ && h->budget > 0 &&                              \
			   !(atomic_load_explicit(&h->mip, memory_order_relaxed) & h->mie) && \
			   !atomic_load_explicit(&h->attention, memory_order_relaxed))) { \
			pc = h->pc;                                            \
			b = n_;                                                \
			h->budget -= b->n;                                     \
			h->instret += b->n;                                    \
			i = b->insn;                                           \
			goto *i->handler;                                      \
		}                                                              \
		link_from = b;                                                 \
		link_k = (k);                                                  \
		goto block_done;                                               \
	} while (0)
#define LEAVE_EARLY(target) do {                                  \
		h->instret -= b->n - i->idx - 1;                  \
		h->budget += b->n - i->idx - 1;                   \
		h->pc = (target);                                 \
		goto block_done;                                  \
	} while (0)
#define EXCEPTION(cause, tval) do {                               \
		h->exc_cause = (cause);                           \
		h->exc_tval = (tval);                             \
		goto exception;                                   \
	} while (0)
#define ILLEGAL() EXCEPTION(CAUSE_ILLEGAL_INSN, i->raw)

#define LOAD(type, size) do {                                                       \
		uint64_t va_ = RS1 + IMM;                                           \
		const struct rv_tlb_entry *e_ = &h->tlb_r[(va_ >> 12) & (TLB_SIZE - 1)]; \
		if (likely(e_->vpn == ((va_ >> 12) | h->tlb_dtag) && !(va_ & ((size) - 1)))) {          \
			RD = (uint64_t)(int64_t)*(const type *)(e_->addend + va_);  \
		} else {                                                            \
			uint64_t v_;                                                \
			if (mmu_load_slow(h, va_, size, &v_))                       \
				goto exception;                                     \
			RD = (uint64_t)(int64_t)(type)v_;                           \
		}                                                                   \
		NEXT;                                                               \
	} while (0)
#define STORE(type, size, value) do {                                               \
		uint64_t va_ = RS1 + IMM;                                           \
		const struct rv_tlb_entry *e_ = &h->tlb_w[(va_ >> 12) & (TLB_SIZE - 1)]; \
		if (likely(e_->vpn == ((va_ >> 12) | h->tlb_dtag) && !(va_ & ((size) - 1)))) {          \
			*(type *)(e_->addend + va_) = (type)(value);                \
		} else {                                                            \
			int r_ = mmu_store_slow(h, va_, size, (uint64_t)(value));   \
			if (r_ < 0)                                                 \
				goto exception;                                     \
			if (r_)                                                     \
				LEAVE_EARLY(PC + i->len);                           \
		}                                                                   \
		NEXT;                                                               \
	} while (0)

	if (h->cpu->jit) {
		/* --cpu jit: the translator runs this slice (jit/jit.c) */
		jit_run(h, budget);
		return;
	}
	h->budget = budget;
	h->reservation = ~0ULL;

	for (;;) {
		bool cacheable = true;

		if (unlikely(atomic_load_explicit(&h->attention, memory_order_relaxed))) {
			/* DMA into code, code dropped by another hart, requests */
			hart_attend(h);
			link_from = NULL;
		}
		if (unlikely(atomic_load_explicit(&h->mip, memory_order_relaxed) & h->mie) &&
		    hart_check_interrupts(h))
			link_from = NULL;
		if (unlikely(h->budget <= 0 || atomic_load_explicit(&h->state, memory_order_relaxed) != HART_RUNNING))
			break;
		pc = h->pc;
		b = jcache_find(h, pc, labels, &cacheable);
		if (!b) {
			/* a fetch fault was taken; charge it, so that a trap
			 * vector that faults itself still ends the slice */
			h->budget--;
			link_from = NULL;
			continue;
		}
		if (link_from) {
			if (cacheable && link_from != h->xblock && (link_from->pa >> 12) == (b->pa >> 12))
				link_from->succ[link_k] = b;
			link_from = NULL;
		}
		h->budget -= b->n;
		h->instret += b->n;
		i = b->insn;
		goto *i->handler;

	op_BLOCK_END:
		/* fall-through: linkable when the next instruction is in this page */
		if (((b->pa & 0xfff) + b->bytes) < 0x1000)
			CHAIN(PC, 1);
		h->pc = PC;
		continue;
	block_done:
		continue;
	exception:
		h->instret -= b->n - i->idx;
		h->pc = PC;
		hart_raise(h, h->exc_cause, h->exc_tval);
		continue;

	op_ILLEGAL:
		ILLEGAL();
	op_NOP:
		NEXT;
	op_FENCE:
		/* fences after stores (decode.c) */
		if (unlikely(atomic_load_explicit(&h->attention, memory_order_relaxed)))
			hart_attend(h);
		if (i->imm)  /* store -> load */
			atomic_thread_fence(memory_order_seq_cst);
		NEXT;
	op_LI:
		RD = IMM;
		NEXT;
	op_MV:
		RD = RS1;
		NEXT;
	op_LUI:
		RD = IMM;
		NEXT;
	op_AUIPC:
		RD = PC + IMM;
		NEXT;
	op_JAL: {
		uint64_t t = PC + IMM;
		RD = PC + i->len;
		TAKEN(t);
	}
	op_JALR: {
		uint64_t t = (RS1 + IMM) & ~1ULL;
		RD = PC + i->len;
		JUMP(t);
	}
	op_BEQ:
		if (RS1 == RS2)
			TAKEN(PC + IMM);
		NEXT;
	op_BNE:
		if (RS1 != RS2)
			TAKEN(PC + IMM);
		NEXT;
	op_BLT:
		if ((int64_t)RS1 < (int64_t)RS2)
			TAKEN(PC + IMM);
		NEXT;
	op_BGE:
		if ((int64_t)RS1 >= (int64_t)RS2)
			TAKEN(PC + IMM);
		NEXT;
	op_BLTU:
		if (RS1 < RS2)
			TAKEN(PC + IMM);
		NEXT;
	op_BGEU:
		if (RS1 >= RS2)
			TAKEN(PC + IMM);
		NEXT;

	op_LB: LOAD(int8_t, 1);
	op_LH: LOAD(int16_t, 2);
	op_LW: LOAD(int32_t, 4);
	op_LD: LOAD(int64_t, 8);
	op_LBU: LOAD(uint8_t, 1);
	op_LHU: LOAD(uint16_t, 2);
	op_LWU: LOAD(uint32_t, 4);
	op_SB: STORE(uint8_t, 1, RS2);
	op_SH: STORE(uint16_t, 2, RS2);
	op_SW: STORE(uint32_t, 4, RS2);
	op_SD: STORE(uint64_t, 8, RS2);

	op_ADDI: RD = RS1 + IMM; NEXT;
	op_SLTI: RD = (int64_t)RS1 < IMM; NEXT;
	op_SLTIU: RD = RS1 < (uint64_t)IMM; NEXT;
	op_XORI: RD = RS1 ^ IMM; NEXT;
	op_ORI: RD = RS1 | IMM; NEXT;
	op_ANDI: RD = RS1 & IMM; NEXT;
	op_SLLI: RD = RS1 << i->imm; NEXT;
	op_SRLI: RD = RS1 >> i->imm; NEXT;
	op_SRAI: RD = (uint64_t)((int64_t)RS1 >> i->imm); NEXT;
	op_ADD: RD = RS1 + RS2; NEXT;
	op_SUB: RD = RS1 - RS2; NEXT;
	op_SLL: RD = RS1 << (RS2 & 63); NEXT;
	op_SLT: RD = (int64_t)RS1 < (int64_t)RS2; NEXT;
	op_SLTU: RD = RS1 < RS2; NEXT;
	op_XOR: RD = RS1 ^ RS2; NEXT;
	op_SRL: RD = RS1 >> (RS2 & 63); NEXT;
	op_SRA: RD = (uint64_t)((int64_t)RS1 >> (RS2 & 63)); NEXT;
	op_OR: RD = RS1 | RS2; NEXT;
	op_AND: RD = RS1 & RS2; NEXT;
	op_ADDIW: RD = sext32(RS1 + IMM); NEXT;
	op_SLLIW: RD = sext32((uint32_t)RS1 << i->imm); NEXT;
	op_SRLIW: RD = sext32((uint32_t)RS1 >> i->imm); NEXT;
	op_SRAIW: RD = (uint64_t)(int64_t)((int32_t)RS1 >> i->imm); NEXT;
	op_ADDW: RD = sext32(RS1 + RS2); NEXT;
	op_SUBW: RD = sext32(RS1 - RS2); NEXT;
	op_SLLW: RD = sext32((uint32_t)RS1 << (RS2 & 31)); NEXT;
	op_SRLW: RD = sext32((uint32_t)RS1 >> (RS2 & 31)); NEXT;
	op_SRAW: RD = (uint64_t)(int64_t)((int32_t)RS1 >> (RS2 & 31)); NEXT;

	/* M: division by zero and overflow as in the table of section 7.2 */
	op_MUL: RD = RS1 * RS2; NEXT;
	op_MULH: RD = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)(int64_t)RS2) >> 64); NEXT;
	op_MULHSU: RD = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)RS2) >> 64); NEXT;
	op_MULHU: RD = (uint64_t)(((unsigned __int128)RS1 * RS2) >> 64); NEXT;
	op_DIV: {
		int64_t a = (int64_t)RS1, d = (int64_t)RS2;
		RD = d == 0 ? ~0ULL : (a == INT64_MIN && d == -1) ? (uint64_t)a : (uint64_t)(a / d);
		NEXT;
	}
	op_DIVU: {
		uint64_t a = RS1, d = RS2;
		RD = d == 0 ? ~0ULL : a / d;
		NEXT;
	}
	op_REM: {
		int64_t a = (int64_t)RS1, d = (int64_t)RS2;
		RD = d == 0 ? (uint64_t)a : (a == INT64_MIN && d == -1) ? 0 : (uint64_t)(a % d);
		NEXT;
	}
	op_REMU: {
		uint64_t a = RS1, d = RS2;
		RD = d == 0 ? a : a % d;
		NEXT;
	}
	op_MULW: RD = sext32(RS1 * RS2); NEXT;
	op_DIVW: {
		int32_t a = (int32_t)RS1, d = (int32_t)RS2;
		RD = d == 0 ? ~0ULL : (a == INT32_MIN && d == -1) ? (uint64_t)(int64_t)a
								 : (uint64_t)(int64_t)(a / d);
		NEXT;
	}
	op_DIVUW: {
		uint32_t a = (uint32_t)RS1, d = (uint32_t)RS2;
		RD = d == 0 ? ~0ULL : (uint64_t)sext32(a / d);
		NEXT;
	}
	op_REMW: {
		int32_t a = (int32_t)RS1, d = (int32_t)RS2;
		RD = d == 0 ? (uint64_t)(int64_t)a : (a == INT32_MIN && d == -1) ? 0
								   : (uint64_t)(int64_t)(a % d);
		NEXT;
	}
	op_REMUW: {
		uint32_t a = (uint32_t)RS1, d = (uint32_t)RS2;
		RD = (uint64_t)sext32(d == 0 ? a : a % d);
		NEXT;
	}

	/* A: src/riscv/amo.c, shared with every engine */
	op_LR_W:
		if (!rv_lr(h, RS1, 4, &RD))
			goto exception;
		NEXT;
	op_LR_D:
		if (!rv_lr(h, RS1, 8, &RD))
			goto exception;
		NEXT;
	op_SC_W:
		if (!rv_sc(h, RS1, 4, RS2, &RD))
			goto exception;
		NEXT;
	op_SC_D:
		if (!rv_sc(h, RS1, 8, RS2, &RD))
			goto exception;
		NEXT;
	op_AMO_W:
		if (!rv_amo(h, RS1, 4, i->imm, RS2, &RD))
			goto exception;
		NEXT;
	op_AMO_D:
		if (!rv_amo(h, RS1, 8, i->imm, RS2, &RD))
			goto exception;
		NEXT;

	op_FENCE_I:
		/* stores to decoded code already dropped it (PAGE_CODE), but
		 * another hart's may still be on their way (cache.c) */
		hart_fence_i(h);
		JUMP(PC + i->len);
	op_ECALL:
		if (h->para && h->priv == PRV_S) {
			h->pc = PC;
			sbi_call(h);
			JUMP(PC + 4);
		}
		EXCEPTION(CAUSE_USER_ECALL + (uint64_t)h->priv, 0);
	op_EBREAK:
		EXCEPTION(CAUSE_BREAKPOINT, PC);
	op_MRET:
		h->pc = PC;
		if (!hart_mret(h))
			ILLEGAL();
		goto block_done;
	op_SRET:
		h->pc = PC;
		if (!hart_sret(h))
			ILLEGAL();
		goto block_done;
	op_WFI:
		/* 3.1.6.5: TW traps WFI below M; U-mode WFI is illegal with S present */
		if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MSTATUS_TW)))
			ILLEGAL();
		hart_wfi(h);
		JUMP(PC + 4);
	op_SFENCE_VMA:
		if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MSTATUS_TVM)))
			ILLEGAL();
		tlb_sfence_vma(h, i->rs1 != 0, RS1, i->rs2 != 0, RS2);
		JUMP(PC + 4);
	op_CSR: {
		uint64_t old;
		bool wrote;

		if (csr_insn(h, i->raw, (unsigned)i->imm, i->rs1, i->rd, RS1, PC, b->n - i->idx,
			     &old, &wrote))
			ILLEGAL();
		RD = old;
		if (wrote)
			LEAVE_EARLY(PC + 4);
		NEXT;
	}

	op_FLW:
		if (!(h->mstatus & MSTATUS_FS))
			ILLEGAL();
		{
			uint64_t va = RS1 + IMM, v;
			const struct rv_tlb_entry *e = &h->tlb_r[(va >> 12) & (TLB_SIZE - 1)];
			if (likely(e->vpn == ((va >> 12) | h->tlb_dtag) && !(va & 3)))
				v = *(const uint32_t *)(e->addend + va);
			else if (mmu_load_slow(h, va, 4, &v))
				goto exception;
			h->fpu.f[i->rd] = v | 0xffffffff00000000ULL;
			h->mstatus |= MSTATUS_FS;
		}
		NEXT;
	op_FLD:
		if (!(h->mstatus & MSTATUS_FS))
			ILLEGAL();
		{
			uint64_t va = RS1 + IMM, v;
			const struct rv_tlb_entry *e = &h->tlb_r[(va >> 12) & (TLB_SIZE - 1)];
			if (likely(e->vpn == ((va >> 12) | h->tlb_dtag) && !(va & 7)))
				v = *(const uint64_t *)(e->addend + va);
			else if (mmu_load_slow(h, va, 8, &v))
				goto exception;
			h->fpu.f[i->rd] = v;
			h->mstatus |= MSTATUS_FS;
		}
		NEXT;
	op_FSW:
		if (!(h->mstatus & MSTATUS_FS))
			ILLEGAL();
		STORE(uint32_t, 4, h->fpu.f[i->rs2]);
	op_FSD:
		if (!(h->mstatus & MSTATUS_FS))
			ILLEGAL();
		STORE(uint64_t, 8, h->fpu.f[i->rs2]);
	op_FP:
		if (!(h->mstatus & MSTATUS_FS))
			ILLEGAL();
		if (rv_fpu_exec(&h->fpu, x, i->raw)) {
			x[0] = 0;
			ILLEGAL();
		}
		x[0] = 0;
		h->mstatus |= MSTATUS_FS;
		NEXT;
	}
#undef NEXT
}
