/* RV64 block -> x86-64 code.
 *
 * Conventions inside generated code: rbx = struct hart *, r12 = the virtual
 * pc of the running block's first instruction (a block is keyed by its
 * physical address, so the same code serves every virtual alias of it; the
 * pc of an instruction is r12 + its offset). Guest registers live in h->x[]
 * ([rbx + 8*r]); within a block the ones it uses most are held in host
 * registers (rbp, rsi, rdi, r8-r11, r13-r15): loaded at the body's entry,
 * written back before every exit and helper call (a helper and a trap see
 * h->x[] exact), and the helper's destination reloaded after it. rax, rcx,
 * rdx are scratch. rsp stays 16-byte aligned, so C helpers are called
 * directly.
 *
 * A block has two entries: the checked one, where chained jumps from other
 * blocks land (it leaves to the dispatcher when the slice is spent, an
 * enabled interrupt is pending or device DMA wants code dropped: the checks
 * the interpreter's CHAIN makes), and the body, where the dispatcher enters
 * after making those checks itself. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache.h"
#include "../fpu.h"
#include "emit.h"
#include "jit.h"

#define XR(r) x86_m(RBX, (int32_t)(offsetof(struct hart, x) + 8 * (r)))
#define HF(field) x86_m(RBX, (int32_t)offsetof(struct hart, field))

struct stub {
	uint8_t *jump_site;   /* the jne/jnz into the stub (several) */
	uint8_t *jump_site2;
	uint8_t *jump_site3;  /* the F/D loads' and stores' mstatus.FS check */
	uint8_t *back;        /* where the fast path continues */
	const struct rv_insn *i;
	uint64_t dirty;       /* t->dirty at the jump into the stub */
};

#define NR_CACHED 10
/* callee-saved first: they survive helper calls, the others are reloaded */
static const int8_t cache_regs[NR_CACHED] = { RBP, R13, R14, R15, RSI, RDI, R8, R9, R10, R11 };

struct tctx {
	struct x86_buf b;     /* first: ctx_of() recovers the context from it */
	int8_t map[33];       /* guest register -> host register, -1: in memory */
	uint64_t dirty;       /* guest registers whose host copy is newer */
	struct jit *j;
	struct rv_block *blk;
	bool linkable;
	struct stub stubs[BLOCK_MAX_INSNS + 1];
	int nr_stubs;
	uint8_t *fs_site;     /* a pending mstatus.FS == Off check for the next stub */
	/* forward jumps to the block's shared tails */
	uint8_t *to_noset[BLOCK_MAX_INSNS * 2 + 4];
	int nr_noset;
};

static struct tctx *ctx_of(struct x86_buf *b)
{
	return (struct tctx *)(void *)b;
}

static void load_x(struct x86_buf *b, int w, int dst, unsigned r)
{
	int h = ctx_of(b)->map[r];

	if (r == 0)
		x86_alu_rr(b, 0, ALU_XOR, dst, dst);
	else if (h >= 0)
		x86_mov_rr(b, w, dst, h);
	else
		x86_load(b, w, dst, XR(r));
}

static void store_x(struct x86_buf *b, unsigned r, int src)
{
	struct tctx *t = ctx_of(b);

	if (r == 0 || r == 32)
		return;
	if (t->map[r] >= 0) {
		x86_mov_rr(b, 1, t->map[r], src);
		t->dirty |= 1ULL << r;
	} else {
		x86_store(b, 8, XR(r), src);
	}
}

/* dst op= guest register r */
static void alu_x(struct x86_buf *b, int w, enum x86_alu op, int dst, unsigned r)
{
	int h = ctx_of(b)->map[r];

	if (h >= 0)
		x86_alu_rr(b, w, op, dst, h);
	else
		x86_alu_rm(b, w, op, dst, XR(r));
}

static void li_x(struct x86_buf *b, unsigned r, int32_t imm)
{
	struct tctx *t = ctx_of(b);

	if (r == 0 || r == 32)
		return;
	if (t->map[r] >= 0) {
		x86_mov_imm(b, t->map[r], (uint64_t)(int64_t)imm);
		t->dirty |= 1ULL << r;
	} else {
		x86_store_imm32(b, XR(r), imm);
	}
}

/* h->x[] exact again: store the held registers written since the last sync */
static void write_back(struct tctx *t)
{
	for (unsigned r = 1; r < 32; r++)
		if ((t->dirty >> r) & 1)
			x86_store(&t->b, 8, XR(r), t->map[r]);
}

static void reload(struct tctx *t, unsigned r)
{
	if (r > 0 && r < 32 && t->map[r] >= 0)
		x86_load(&t->b, 1, t->map[r], XR(r));
}

/* Leave for the guest pc r12 + d (a direct target): a patchable jump when
 * it is in the block's own page, else back to the dispatcher. */
static void exit_direct(struct tctx *t, int32_t d)
{
	struct x86_buf *b = &t->b;
	int64_t off = (int64_t)(t->blk->pa & 0xfff) + d;

	write_back(t);
	if (d)
		x86_lea(b, R12, x86_m(R12, d));
	x86_store(b, 8, HF(pc), R12);
	if (t->linkable && off >= 0 && off < 0x1000) {
		/* jmp +0 to the return below until the dispatcher patches it */
		uint8_t *site = x86_jmp32(b, NULL);
		if (b->overflow)
			return;
		x86_patch_rel32(site, b->p);
		x86_mov_imm(b, RAX, (uint64_t)(uintptr_t)site);
		x86_mov_imm(b, RDX, t->blk->pa >> 12);
		x86_jmp32(b, t->j->epilogue);
		return;
	}
	x86_alu_rr(b, 0, ALU_XOR, RAX, RAX);
	x86_jmp32(b, t->j->epilogue);
}

/* An indirect jump to the pc in rax (h->pc already holds it): straight into
 * the target's checked entry when the hart's jump cache knows it (the cache
 * holds only live blocks, each for the fetch context of its tag: cache.c
 * and mmu.c drop them when that changes), else to the dispatcher. */
_Static_assert(sizeof(struct rv_jcache_entry) == 32, "jcache entry size");
static void jump_cache(struct tctx *t)
{
	struct x86_buf *b = &t->b;
	int32_t jc = (int32_t)offsetof(struct hart, jcache);
	uint8_t *miss[4], *hit;

	x86_mov_rr(b, 0, RCX, RAX);
	x86_shift_ri(b, 0, SH_SHR, RCX, 1);
	x86_alu_ri(b, 0, ALU_AND, RCX, JCACHE_SIZE - 1);
	x86_shift_ri(b, 0, SH_SHL, RCX, 5);
	x86_alu_rm(b, 1, ALU_CMP, RAX, x86_mi(RBX, RCX, jc + (int32_t)offsetof(struct rv_jcache_entry, va)));
	miss[0] = x86_jcc32(b, CC_NE, NULL);
	x86_load(b, 1, RDX, x86_mi(RBX, RCX, jc + (int32_t)offsetof(struct rv_jcache_entry, tag)));
	x86_alu_rm(b, 1, ALU_CMP, RDX, HF(tlb_xtag));
	hit = x86_jcc32(b, CC_E, NULL);
	x86_alu_rm(b, 1, ALU_CMP, RDX, HF(tlb_gxtag));
	miss[3] = x86_jcc32(b, CC_NE, NULL);
	if (!b->overflow)
		x86_patch_rel32(hit, b->p);
	x86_load(b, 1, RDX, x86_mi(RBX, RCX, jc + (int32_t)offsetof(struct rv_jcache_entry, block)));
	x86_test_rr(b, 1, RDX, RDX);
	miss[1] = x86_jcc32(b, CC_E, NULL);
	x86_load(b, 1, RDX, x86_m(RDX, (int32_t)offsetof(struct rv_block, jit)));
	x86_test_rr(b, 1, RDX, RDX);
	miss[2] = x86_jcc32(b, CC_E, NULL);
	x86_mov_rr(b, 1, R12, RAX);
	x86_jmp_r(b, RDX);
	if (b->overflow)
		return;
	for (int k = 0; k < 4; k++)
		x86_patch_rel32(miss[k], b->p);
	x86_alu_rr(b, 0, ALU_XOR, RAX, RAX);
	x86_jmp32(b, t->j->epilogue);
}

/* Call jit_op (or fn, with its signature) for instruction i; leave when it
 * says the block ends. */
static void call_fn(struct tctx *t, const struct rv_insn *i, const void *fn);
static void call_helper(struct tctx *t, const struct rv_insn *i)
{
	call_fn(t, i, (const void *)jit_op);
}

static void call_fn(struct tctx *t, const struct rv_insn *i, const void *fn)
{
	struct x86_buf *b = &t->b;

	write_back(t);
	t->dirty = 0;
	x86_mov_rr(b, 1, RDI, RBX);
	x86_mov_imm(b, RSI, (uint64_t)(uintptr_t)i);
	x86_lea(b, RDX, x86_m(R12, i->pc_off));
	x86_mov_imm(b, RCX, t->blk->n - i->idx);
	x86_call_abs(b, fn);
	x86_test_ri(b, 0, RAX, 0xff);
	if (t->nr_noset < (int)(sizeof(t->to_noset) / sizeof(t->to_noset[0])))
		t->to_noset[t->nr_noset++] = x86_jcc32(b, CC_NE, NULL);
	else
		b->overflow = true;
	/* Going on: the call clobbered the caller-saved host registers, and
	 * a helper writes no integer register but the instruction's
	 * destination (OP-FP's is in the raw bits). */
	{
		unsigned rd = i->op == OP_FP ? (i->raw >> 7) & 31 : i->rd;
		for (unsigned r = 1; r < 32; r++) {
			int h = t->map[r];
			if (h >= 0 && (r == rd || (h != RBP && h < R12)))
				reload(t, r);
		}
	}
}

/* The soft-TLB hit of mmu.c inline: the entry for va's page in tlb (whose
 * fast-path rules, page flags included, mmu.c decides when it fills it),
 * keyed with the data context's tag (cpu.h), and natural alignment;
 * anything else goes to the stub, which runs the instruction in jit_op.
 * Leaves the host address in rax. */
static void tlb_lookup(struct tctx *t, const struct rv_insn *i, size_t tlb_off, unsigned size)
{
	struct x86_buf *b = &t->b;
	struct stub *s = &t->stubs[t->nr_stubs];

	load_x(b, 1, RAX, i->rs1);
	if (i->imm)
		x86_alu_ri(b, 1, ALU_ADD, RAX, i->imm);
	x86_mov_rr(b, 1, RCX, RAX);
	x86_shift_ri(b, 1, SH_SHR, RCX, 12);
	x86_mov_rr(b, 0, RDX, RCX);
	x86_alu_ri(b, 0, ALU_AND, RDX, TLB_SIZE - 1);
	x86_imul_rri(b, 0, RDX, RDX, (int32_t)sizeof(struct rv_tlb_entry));
	x86_alu_rm(b, 1, ALU_OR, RCX, HF(tlb_dtag));
	x86_alu_rm(b, 1, ALU_CMP, RCX,
		   x86_mi(RBX, RDX, (int32_t)(tlb_off + offsetof(struct rv_tlb_entry, vpn))));
	s->jump_site = x86_jcc32(b, CC_NE, NULL);
	s->jump_site2 = NULL;
	s->jump_site3 = t->fs_site;
	t->fs_site = NULL;
	if (size > 1) {
		x86_test_ri(b, 0, RAX, (int32_t)size - 1);
		s->jump_site2 = x86_jcc32(b, CC_NE, NULL);
	}
	x86_alu_rm(b, 1, ALU_ADD, RAX,
		   x86_mi(RBX, RDX, (int32_t)(tlb_off + offsetof(struct rv_tlb_entry, addend))));
	s->i = i;
	s->dirty = t->dirty;
}

static void tlb_done(struct tctx *t)
{
	t->stubs[t->nr_stubs++].back = t->b.p;
}

static enum x86_cc branch_cc(unsigned op)
{
	switch (op) {
	case OP_BEQ: return CC_E;
	case OP_BNE: return CC_NE;
	case OP_BLT: return CC_L;
	case OP_BGE: return CC_GE;
	case OP_BLTU: return CC_B;
	default: return CC_AE;
	}
}

static void alu_imm(struct x86_buf *b, int w, enum x86_alu op, const struct rv_insn *i)
{
	load_x(b, w, RAX, i->rs1);
	if (i->imm || op == ALU_AND)
		x86_alu_ri(b, w, op, RAX, i->imm);
	if (!w)
		x86_movsxd_rr(b, RAX, RAX);
	store_x(b, i->rd, RAX);
}

static void alu_reg(struct x86_buf *b, int w, enum x86_alu op, const struct rv_insn *i)
{
	load_x(b, w, RAX, i->rs1);
	alu_x(b, w, op, RAX, i->rs2);
	if (!w)
		x86_movsxd_rr(b, RAX, RAX);
	store_x(b, i->rd, RAX);
}

static void shift_imm(struct x86_buf *b, int w, enum x86_shift op, const struct rv_insn *i)
{
	load_x(b, w, RAX, i->rs1);
	x86_shift_ri(b, w, op, RAX, (uint8_t)i->imm);
	if (!w)
		x86_movsxd_rr(b, RAX, RAX);
	store_x(b, i->rd, RAX);
}

static void shift_reg(struct x86_buf *b, int w, enum x86_shift op, const struct rv_insn *i)
{
	/* x86 masks the count to 6 (5 for 32-bit) bits, as RISC-V does */
	load_x(b, w, RAX, i->rs1);
	load_x(b, 0, RCX, i->rs2);
	x86_shift_rcl(b, w, op, RAX);
	if (!w)
		x86_movsxd_rr(b, RAX, RAX);
	store_x(b, i->rd, RAX);
}

static void set_cc(struct x86_buf *b, enum x86_cc cc, const struct rv_insn *i, bool imm)
{
	load_x(b, 1, RAX, i->rs1);
	x86_alu_rr(b, 0, ALU_XOR, RCX, RCX);
	if (imm)
		x86_alu_ri(b, 1, ALU_CMP, RAX, i->imm);
	else
		alu_x(b, 1, ALU_CMP, RAX, i->rs2);
	x86_setcc(b, cc, RCX);
	store_x(b, i->rd, RCX);
}

/* M's divisions with the results of the table in section 7.2 for a zero
 * divisor (quotient all ones, remainder the dividend) and for overflow
 * (-2^(L-1) / -1: quotient the dividend, remainder 0); x86's div would
 * fault on both, so they are branched around. */
static void divide(struct tctx *t, const struct rv_insn *i)
{
	struct x86_buf *b = &t->b;
	bool rem = i->op == OP_REM || i->op == OP_REMU || i->op == OP_REMW || i->op == OP_REMUW;
	bool sgn = i->op == OP_DIV || i->op == OP_REM || i->op == OP_DIVW || i->op == OP_REMW;
	int w = i->op == OP_DIV || i->op == OP_DIVU || i->op == OP_REM || i->op == OP_REMU;
	uint8_t *zero, *minus1 = NULL, *done[2];

	load_x(b, w, RAX, i->rs1);
	load_x(b, w, RCX, i->rs2);
	x86_test_rr(b, w, RCX, RCX);
	zero = x86_jcc32(b, CC_E, NULL);
	if (sgn) {
		x86_alu_ri(b, w, ALU_CMP, RCX, -1);
		minus1 = x86_jcc32(b, CC_E, NULL);
		if (w)
			x86_u8(b, 0x48);
		x86_u8(b, 0x99);                       /* cqo / cdq */
	} else {
		x86_alu_rr(b, 0, ALU_XOR, RDX, RDX);
	}
	/* F7 /6 div, /7 idiv */
	if (w)
		x86_u8(b, 0x48);
	x86_u8(b, 0xf7);
	x86_u8(b, (uint8_t)(0xc0 | (sgn ? 7 : 6) << 3 | RCX));
	if (rem)
		x86_mov_rr(b, 1, RAX, RDX);
	done[0] = x86_jmp32(b, NULL);
	/* divisor 0: quotient ~0, remainder the dividend (already in rax) */
	if (b->overflow)
		return;
	x86_patch_rel32(zero, b->p);
	if (!rem)
		x86_mov_imm(b, RAX, ~0ULL);
	done[1] = NULL;
	if (sgn) {
		done[1] = x86_jmp32(b, NULL);
		if (b->overflow)
			return;
		/* divisor -1: quotient -dividend (the dividend itself on
		 * overflow), remainder 0 */
		x86_patch_rel32(minus1, b->p);
		if (rem) {
			x86_alu_rr(b, 0, ALU_XOR, RAX, RAX);
		} else {
			if (w)
				x86_u8(b, 0x48);
			x86_u8(b, 0xf7);
			x86_u8(b, 0xd8);                   /* neg rax / eax */
		}
	}
	if (b->overflow)
		return;
	x86_patch_rel32(done[0], b->p);
	if (done[1])
		x86_patch_rel32(done[1], b->p);
	if (!w)
		x86_movsxd_rr(b, RAX, RAX);
	store_x(b, i->rd, RAX);
}

/* OP-FP and the fused multiply-adds: rv_fpu_exec called straight from the
 * block when mstatus.FS is on. FS off, or an encoding rv_fpu_exec refuses
 * (it refuses before touching any state), goes to a stub whose jit_op
 * raises the illegal instruction exactly as the interpreter does. */
static void fp_inline(struct tctx *t, const struct rv_insn *i)
{
	struct x86_buf *b = &t->b;
	struct stub *s = &t->stubs[t->nr_stubs];
	unsigned rd = (i->raw >> 7) & 31;

	write_back(t);
	t->dirty = 0;
	x86_load(b, 1, RAX, HF(mstatus));
	x86_test_ri(b, 0, RAX, (int32_t)MSTATUS_FS);
	s->jump_site = x86_jcc32(b, CC_E, NULL);
	x86_lea(b, RDI, HF(fpu));
	x86_lea(b, RSI, HF(x));
	x86_mov_imm(b, RDX, i->raw);
	x86_call_abs(b, (const void *)rv_fpu_exec);
	x86_store_imm32(b, XR(0), 0);    /* it may have written x0 */
	x86_test_rr(b, 0, RAX, RAX);
	s->jump_site2 = x86_jcc32(b, CC_NE, NULL);
	s->jump_site3 = NULL;
	x86_alu_mi(b, 1, ALU_OR, HF(mstatus), (int32_t)MSTATUS_FS);
	for (unsigned r = 1; r < 32; r++) {
		int h = t->map[r];
		if (h >= 0 && (r == rd || (h != RBP && h < R12)))
			reload(t, r);
	}
	s->i = i;
	s->dirty = 0;
	s->back = b->p;
	t->nr_stubs++;
}

/* One instruction. */
static void translate_insn(struct tctx *t, const struct rv_insn *i)
{
	struct x86_buf *b = &t->b;

	switch (i->op) {
	case OP_NOP: case OP_FENCE:
		break;
	case OP_LI: case OP_LUI:
		li_x(b, i->rd, i->imm);
		break;
	case OP_MV:
		load_x(b, 1, RAX, i->rs1);
		store_x(b, i->rd, RAX);
		break;
	case OP_AUIPC:
		x86_lea(b, RAX, x86_m(R12, (int32_t)(i->pc_off + i->imm)));
		store_x(b, i->rd, RAX);
		break;
	case OP_ADDI: alu_imm(b, 1, ALU_ADD, i); break;
	case OP_XORI: alu_imm(b, 1, ALU_XOR, i); break;
	case OP_ORI: alu_imm(b, 1, ALU_OR, i); break;
	case OP_ANDI: alu_imm(b, 1, ALU_AND, i); break;
	case OP_ADDIW: alu_imm(b, 0, ALU_ADD, i); break;
	case OP_SLTI: set_cc(b, CC_L, i, true); break;
	case OP_SLTIU: set_cc(b, CC_B, i, true); break;
	case OP_SLT: set_cc(b, CC_L, i, false); break;
	case OP_SLTU: set_cc(b, CC_B, i, false); break;
	case OP_SLLI: shift_imm(b, 1, SH_SHL, i); break;
	case OP_SRLI: shift_imm(b, 1, SH_SHR, i); break;
	case OP_SRAI: shift_imm(b, 1, SH_SAR, i); break;
	case OP_SLLIW: shift_imm(b, 0, SH_SHL, i); break;
	case OP_SRLIW: shift_imm(b, 0, SH_SHR, i); break;
	case OP_SRAIW: shift_imm(b, 0, SH_SAR, i); break;
	case OP_SLL: shift_reg(b, 1, SH_SHL, i); break;
	case OP_SRL: shift_reg(b, 1, SH_SHR, i); break;
	case OP_SRA: shift_reg(b, 1, SH_SAR, i); break;
	case OP_SLLW: shift_reg(b, 0, SH_SHL, i); break;
	case OP_SRLW: shift_reg(b, 0, SH_SHR, i); break;
	case OP_SRAW: shift_reg(b, 0, SH_SAR, i); break;
	case OP_ADD: alu_reg(b, 1, ALU_ADD, i); break;
	case OP_SUB: alu_reg(b, 1, ALU_SUB, i); break;
	case OP_XOR: alu_reg(b, 1, ALU_XOR, i); break;
	case OP_OR: alu_reg(b, 1, ALU_OR, i); break;
	case OP_AND: alu_reg(b, 1, ALU_AND, i); break;
	case OP_ADDW: alu_reg(b, 0, ALU_ADD, i); break;
	case OP_SUBW: alu_reg(b, 0, ALU_SUB, i); break;
	case OP_MUL: case OP_MULW: {
		int w = i->op == OP_MUL;
		load_x(b, w, RAX, i->rs1);
		if (t->map[i->rs2] >= 0)
			x86_imul_rr(b, w, RAX, t->map[i->rs2]);
		else
			x86_imul_rm(b, w, RAX, XR(i->rs2));
		if (!w)
			x86_movsxd_rr(b, RAX, RAX);
		store_x(b, i->rd, RAX);
		break;
	}
	case OP_MULH: case OP_MULHU:
		load_x(b, 1, RAX, i->rs1);
		if (t->map[i->rs2] >= 0)
			x86_mul_r(b, i->op == OP_MULH, t->map[i->rs2]);
		else
			x86_mul_m(b, i->op == OP_MULH, XR(i->rs2));
		store_x(b, i->rd, RDX);
		break;
	case OP_JAL:
		if (i->rd != 32) {
			x86_lea(b, RAX, x86_m(R12, i->pc_off + i->len));
			store_x(b, i->rd, RAX);
		}
		exit_direct(t, i->pc_off + i->imm);
		break;
	case OP_JALR:
		load_x(b, 1, RAX, i->rs1);
		if (i->imm)
			x86_alu_ri(b, 1, ALU_ADD, RAX, i->imm);
		x86_alu_ri(b, 1, ALU_AND, RAX, -2);
		if (i->rd != 32) {
			x86_lea(b, RCX, x86_m(R12, i->pc_off + i->len));
			store_x(b, i->rd, RCX);
		}
		write_back(t);
		x86_store(b, 8, HF(pc), RAX);
		jump_cache(t);
		break;
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU: {
		uint8_t *skip;
		load_x(b, 1, RAX, i->rs1);
		alu_x(b, 1, ALU_CMP, RAX, i->rs2);
		skip = x86_jcc32(b, (enum x86_cc)(branch_cc(i->op) ^ 1), NULL);
		exit_direct(t, i->pc_off + i->imm);
		if (!b->overflow)
			x86_patch_rel32(skip, b->p);
		break;
	}
	case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU: {
		static const uint8_t size[] = { 1, 2, 4, 8, 1, 2, 4 };
		unsigned sz = size[i->op - OP_LB];
		struct x86_mem m = x86_m(RAX, 0);
		tlb_lookup(t, i, offsetof(struct hart, tlb_r), sz);
		switch (i->op) {
		case OP_LB: case OP_LH: case OP_LW: x86_movsx(b, sz, RAX, m); break;
		case OP_LBU: case OP_LHU: x86_movzx(b, sz, RAX, m); break;
		case OP_LWU: x86_load(b, 0, RAX, m); break;
		default: x86_load(b, 1, RAX, m); break;
		}
		store_x(b, i->rd, RAX);
		tlb_done(t);
		break;
	}
	case OP_SB: case OP_SH: case OP_SW: case OP_SD: {
		unsigned sz = 1u << (i->op - OP_SB);
		tlb_lookup(t, i, offsetof(struct hart, tlb_w), sz);
		load_x(b, 1, RCX, i->rs2);
		x86_store(b, (int)sz, x86_m(RAX, 0), RCX);
		tlb_done(t);
		break;
	}
	case OP_FLW: case OP_FLD: case OP_FSW: case OP_FSD: {
		/* FS == Off: the stub's jit_op raises the illegal instruction */
		bool load = i->op == OP_FLW || i->op == OP_FLD;
		unsigned sz = i->op == OP_FLW || i->op == OP_FSW ? 4 : 8;
		struct x86_mem f = x86_m(RBX, (int32_t)(offsetof(struct hart, fpu.f) +
						       8 * (load ? i->rd : i->rs2)));
		x86_load(b, 1, RAX, HF(mstatus));
		x86_test_ri(b, 0, RAX, (int32_t)MSTATUS_FS);
		t->fs_site = x86_jcc32(b, CC_E, NULL);
		tlb_lookup(t, i, load ? offsetof(struct hart, tlb_r) : offsetof(struct hart, tlb_w), sz);
		if (load) {
			x86_load(b, sz == 8, RAX, x86_m(RAX, 0));
			if (sz == 4) {  /* NaN-boxed */
				x86_mov_imm(b, RCX, 0xffffffff00000000ULL);
				x86_alu_rr(b, 1, ALU_OR, RAX, RCX);
			}
			x86_store(b, 8, f, RAX);
			x86_alu_mi(b, 1, ALU_OR, HF(mstatus), (int32_t)MSTATUS_FS);
		} else {
			x86_load(b, 1, RCX, f);
			x86_store(b, (int)sz, x86_m(RAX, 0), RCX);
		}
		tlb_done(t);
		break;
	}
	case OP_DIV: case OP_DIVU: case OP_REM: case OP_REMU:
	case OP_DIVW: case OP_DIVUW: case OP_REMW: case OP_REMUW:
		divide(t, i);
		break;
	case OP_FP:
		fp_inline(t, i);
		break;
	default:
		/* CSRs, A, system instructions, illegal ones */
		call_helper(t, i);
		break;
	}
}

/* The block's most used guest registers (three uses at least) get host ones. */
static void choose_cached(struct tctx *t)
{
	unsigned uses[33] = { 0 };

	memset(t->map, -1, sizeof(t->map));
	t->dirty = 0;
	for (uint32_t k = 0; k < t->blk->n; k++) {
		const struct rv_insn *i = &t->blk->insn[k];
		uses[i->rs1]++;
		uses[i->rs2]++;
		uses[i->rd]++;
	}
	uses[0] = uses[32] = 0;
	for (int n = 0; n < NR_CACHED; n++) {
		unsigned best = 0;
		for (unsigned r = 1; r < 32; r++)
			if (t->map[r] < 0 && uses[r] > uses[best])
				best = r;
		if (uses[best] < 3)
			break;
		t->map[best] = cache_regs[n];
	}
}

void *jit_translate(struct rv_cpu *m, struct rv_block *blk, bool linkable)
{
	struct jit *j = m->jit;
	struct tctx *t = calloc(1, sizeof(*t));
	uint8_t *start, *body;
	void *ret = NULL;

	if (!t)
		return NULL;
	t->j = j;
	t->blk = blk;
	t->linkable = linkable;
	choose_cached(t);
	t->b.p = j->rw + j->used;
	t->b.end = j->rw + j->size;
	start = t->b.p;
	struct x86_buf *b = &t->b;
	uint8_t *bail[3];

	/* checked entry */
	x86_alu_mi(b, 1, ALU_CMP, HF(budget), 0);
	bail[0] = x86_jcc32(b, CC_LE, NULL);
	x86_load(b, 1, RAX, HF(mip));
	x86_test_rm(b, 1, RAX, HF(mie));
	bail[1] = x86_jcc32(b, CC_NE, NULL);
	x86_alu_mi(b, 0, ALU_CMP, HF(attention), 0);
	bail[2] = x86_jcc32(b, CC_NE, NULL);
	/* body: the block's instructions are charged up front, as exec.c does */
	body = b->p;
	if (blk->n) {
		x86_alu_mi(b, 1, ALU_SUB, HF(budget), (int32_t)blk->n);
		x86_alu_mi(b, 1, ALU_ADD, HF(instret), (int32_t)blk->n);
	}
	/* Every held register is loaded: a decoded instruction's rd field is
	 * not always a destination (branches, stores), so "written before
	 * read" cannot be told from it safely. */
	for (unsigned r = 1; r < 32; r++)
		reload(t, r);
	for (uint32_t k = 0; k < blk->n && !b->overflow; k++)
		translate_insn(t, &blk->insn[k]);
	/* the end of a block that did not jump: fall through to the next pc */
	exit_direct(t, (int32_t)blk->bytes);

	/* slow paths of loads and stores */
	for (int s = 0; s < t->nr_stubs && !b->overflow; s++) {
		struct stub *st = &t->stubs[s];
		x86_patch_rel32(st->jump_site, b->p);
		if (st->jump_site2)
			x86_patch_rel32(st->jump_site2, b->p);
		if (st->jump_site3)
			x86_patch_rel32(st->jump_site3, b->p);
		t->dirty = st->dirty;
		call_helper(t, st->i);
		x86_jmp32(b, st->back);
	}
	/* shared tails */
	if (!b->overflow) {
		for (int k = 0; k < 3; k++)
			x86_patch_rel32(bail[k], b->p);
		x86_store(b, 8, HF(pc), R12);
		x86_alu_rr(b, 0, ALU_XOR, RAX, RAX);
		x86_jmp32(b, j->epilogue);
	}
	if (!b->overflow) {
		for (int k = 0; k < t->nr_noset; k++)
			x86_patch_rel32(t->to_noset[k], b->p);
		x86_alu_rr(b, 0, ALU_XOR, RAX, RAX);
		x86_jmp32(b, j->epilogue);
	}
	if (!b->overflow) {
		size_t len = (size_t)(b->p - start);
		size_t used = j->used + ((len + 15) & ~(size_t)15);

		/* under the turn (jit.c); the stats reader loads them */
		JIT_STAT_SET(j->used, used > j->size ? j->size : used);
		JIT_STAT_ADD(j->blocks, 1);
		JIT_STAT_ADD(j->code_bytes, len);
		j->code_seq++;
		blk->jit = start + j->delta;
		blk->jit_body = body + j->delta;
		ret = blk->jit;
		if (j->trace) {
			fprintf(stderr, "jit: block pa %#llx, %u insns, %zu bytes of x86-64 at %p\n",
				(unsigned long long)blk->pa, blk->n, len, ret);
			for (uint32_t k = 0; k <= blk->n; k++)
				fprintf(stderr, "jit:   +%03x %08x %s\n", blk->insn[k].pc_off,
					blk->insn[k].raw, rv_op_names[blk->insn[k].op]);
			fprintf(stderr, "jit:   host:");
			for (size_t k = 0; k < len; k++)
				fprintf(stderr, "%s%02x", k % 32 ? "" : "\njit:   ", start[k]);
			fprintf(stderr, "\n");
		}
	}
	free(t);
	return ret;
}
