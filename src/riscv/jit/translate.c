/* RV64 block -> x86-64 code.
 *
 * Conventions inside generated code: rbx = struct hart *, r12 = the slice
 * budget (h->budget, counted down by each block's checked entry; stored,
 * with instret brought up to date, before every call to C and way out:
 * sync_out). A block is keyed by its physical address, so the same code
 * serves every virtual alias of it: the pc of an instruction is
 * h->jit_vpage (the virtual page the running chain is in; chains never
 * leave a page) + its offset in the page (emit_pc). Guest registers live in h->x[]
 * ([rbx + 8*r]), but ten of them, chosen for each physical page
 * (choose_held), live in host registers (rbp, r13-r15, rsi, rdi, r8-r11)
 * in every block of the page: chained jumps pass them
 * on, the dispatcher's entry loads them, and they are written back before
 * every way out to the dispatcher and every helper call (a helper and a
 * trap see h->x[] exact); after a call the helper's destination and the
 * caller-saved ones are loaded again. rax, rcx, rdx are scratch. rsp stays
 * 16-byte aligned, so C helpers are called directly; the red zone below it
 * holds the MXCSR word (F/D below).
 *
 * A block has two entries: the checked one, first, where chained jumps
 * from other blocks land (it leaves to the dispatcher when the block does
 * not fit in the slice, an enabled interrupt is pending or device DMA wants
 * code dropped: the checks the interpreter's CHAIN makes), and the body,
 * at the end of the block's code, where the dispatcher enters after making
 * those checks itself. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache.h"
#include "../fpu.h"
#include "emit.h"
#include "jit.h"

#define XR(r) x86_m(RBX, (int32_t)(offsetof(struct hart, x) + 8 * (r)))
#define FR(r) x86_m(RBX, (int32_t)(offsetof(struct hart, fpu.f) + 8 * (r)))
#define FR_HI(r) x86_m(RBX, (int32_t)(offsetof(struct hart, fpu.f) + 8 * (r) + 4))
#define HF(field) x86_m(RBX, (int32_t)offsetof(struct hart, field))

#define STUB_SITES 6
struct stub {
	uint8_t *sites[STUB_SITES];  /* the jumps into the stub */
	int nr_sites;
	uint8_t *back;        /* where the fast path continues */
	const struct rv_insn *i;
	uint64_t dirty;       /* t->dirty at the jumps into the stub */
	bool mx;              /* t->mx_on there: make MXCSR the guest's again after the call */
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
	uint64_t held;        /* the guest registers held: 5 bits each (held_pack) */
	struct stub stubs[BLOCK_MAX_INSNS + 1];
	int nr_stubs;
	/* What the code at the current point knows (fp section below):
	 * mstatus.FS is not Off / is Dirty; the host's MXCSR exception flags
	 * hold only guest flags not yet folded into fflags (h->jit_mxp is 1:
	 * mx_need ran on this path since the last call to C). */
	bool fs_on, fs_dirty, mx_on;
	/* direct exits, their ways to the dispatcher emitted after the
	 * body (exit_direct) */
	struct exit_stub {
		uint8_t *site;
		int32_t d;
		bool chain, fwd;
		uint64_t dirty;
	} exits[BLOCK_MAX_INSNS + 2];
	int nr_exits;
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

static int held(struct tctx *t, unsigned r)
{
	return r && r < 32 ? t->map[r] : -1;
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

/* An out-of-line slow path for instruction i (emitted after the block's
 * body): it runs i in jit_op, as the interpreter would, and jumps back. */
static struct stub *stub_open(struct tctx *t, const struct rv_insn *i)
{
	struct stub *s = &t->stubs[t->nr_stubs];

	memset(s, 0, sizeof(*s));
	s->i = i;
	s->dirty = t->dirty;
	s->mx = t->mx_on;
	return s;
}

static void stub_jcc(struct tctx *t, struct stub *s, enum x86_cc cc)
{
	if (s->nr_sites < STUB_SITES)
		s->sites[s->nr_sites++] = x86_jcc32(&t->b, cc, NULL);
	else
		t->b.overflow = true;
}

static void stub_close(struct tctx *t, struct stub *s)
{
	if (!s->nr_sites)
		return;
	s->back = t->b.p;
	t->nr_stubs++;
}

/* Inline F/D arithmetic leaves its exceptions in the host's sticky MXCSR
 * flags; they become fflags bits (IE ZE OE UE PE -> NV DZ OF UF NX; DE,
 * the denormal-operand flag, has no RISC-V counterpart) before anything
 * can look at fflags or MXCSR: every call to C (mx_fold) and the way back
 * to the dispatcher (jit.c). fflags only accumulates, so the flags can
 * wait that long: chained blocks pass them on in MXCSR. h->jit_mxp says
 * whether MXCSR's flags are such pending guest flags (1) or whatever C
 * (fpu.c) left there (0): a block's first F/D operation clears them when
 * they are C's (mx_need). Both use the red zone below rsp (no call
 * between the store and the load). */
#define MX(m) FPU_FFLAGS_OF_MXCSR(m)
#define MX4(m) MX(m), MX(m + 1), MX(m + 2), MX(m + 3)
#define MX16(m) MX4(m), MX4(m + 4), MX4(m + 8), MX4(m + 12)
static const uint8_t mxcsr_to_fflags[64] = { MX16(0), MX16(16), MX16(32), MX16(48) };
#define MXCSR_DEFAULT 0x1f80   /* all exceptions masked, RNE, no DAZ/FTZ: fpu.c's */
#define FFLAGS x86_m(RBX, (int32_t)offsetof(struct hart, fpu.fflags))

#define MXP HF(jit_mxp)

/* Before an inline F/D operation: MXCSR's flags are the guest's (cleared
 * first when C left them), once per straight-line path after a call. */
static void mx_need(struct tctx *t)
{
	struct x86_buf *b = &t->b;
	uint8_t *ours;

	if (t->mx_on)
		return;
	x86_alu_mi(b, 0, ALU_CMP, MXP, 0);
	ours = x86_jcc32(b, CC_NE, NULL);
	x86_mov_imm(b, RAX, MXCSR_DEFAULT);
	x86_store(b, 4, x86_m(RSP, -8), RAX);
	x86_sse_rm(b, SSE_PS, 0, SSE_MXCSR, 2, x86_m(RSP, -8));   /* ldmxcsr */
	x86_store_imm32d(b, MXP, 1);
	if (!b->overflow)
		x86_patch_rel32(ours, b->p);
	t->mx_on = true;
}

/* Before a call to C: pending flags into fflags (what any earlier block
 * of the chain raised, too) */
static void mx_fold(struct tctx *t)
{
	struct x86_buf *b = &t->b;
	uint8_t *none;

	x86_alu_mi(b, 0, ALU_CMP, MXP, 0);
	none = x86_jcc32(b, CC_E, NULL);
	x86_sse_rm(b, SSE_PS, 0, SSE_MXCSR, 3, x86_m(RSP, -8));   /* stmxcsr */
	x86_movzx(b, 1, RAX, x86_m(RSP, -8));
	x86_alu_ri(b, 0, ALU_AND, RAX, 0x3d);
	x86_mov_imm(b, RCX, (uint64_t)(uintptr_t)mxcsr_to_fflags);
	x86_movzx(b, 1, RAX, x86_mi(RCX, RAX, 0));
	x86_alu_rm(b, 0, ALU_OR, RAX, FFLAGS);
	x86_store(b, 4, FFLAGS, RAX);
	x86_store_imm32d(b, MXP, 0);
	if (!b->overflow)
		x86_patch_rel32(none, b->p);
}

#define BUDGET R12

/* reg = the virtual address of byte off of the block (its first
 * instruction's pc + off) */
static void emit_pc(struct tctx *t, int reg, int64_t off)
{
	struct x86_buf *b = &t->b;
	int64_t d = (int64_t)(t->blk->pa & 0xfff) + off;

	if (d == (int32_t)d) {
		x86_load(b, 1, reg, HF(jit_vpage));
		if (d)
			x86_alu_ri(b, 1, ALU_ADD, reg, (int32_t)d);
	} else {
		x86_mov_imm(b, reg, (uint64_t)d);
		x86_alu_rm(b, 1, ALU_ADD, reg, HF(jit_vpage));
	}
}

/* Before C or the dispatcher: h->budget from the host register, and
 * instret charged with what the code ran since budget_mark (rax). */
static void sync_out(struct tctx *t)
{
	struct x86_buf *b = &t->b;

	x86_store(b, 8, HF(budget), BUDGET);
	x86_load(b, 1, RAX, HF(instret));
	x86_alu_rm(b, 1, ALU_ADD, RAX, HF(budget_mark));
	x86_alu_rr(b, 1, ALU_SUB, RAX, BUDGET);
	x86_store(b, 8, HF(instret), RAX);
}

/* After a call to C that goes on: the budget as C left it */
static void sync_in(struct tctx *t)
{
	x86_load(&t->b, 1, BUDGET, HF(budget));
	x86_store(&t->b, 8, HF(budget_mark), BUDGET);
}

/* Leave for the guest pc at block offset d (a direct target), always
 * (cc < 0) or when the host flags say cc: a jump (jcc) to the way out
 * to the dispatcher, which exit_stubs emits after the body, so that the
 * block's hot code is dense. When the target is in the block's own page
 * the dispatcher patches the jump to go straight to the target's checked
 * entry: a chained jump keeps the held registers live in the host ones,
 * and only the way to the dispatcher stores them. */
static void exit_direct(struct tctx *t, int cc, int32_t d, bool fwd)
{
	struct x86_buf *b = &t->b;
	int64_t off = (int64_t)(t->blk->pa & 0xfff) + d;
	struct exit_stub *e;

	if (t->nr_exits >= (int)(sizeof(t->exits) / sizeof(t->exits[0]))) {
		b->overflow = true;
		return;
	}
	e = &t->exits[t->nr_exits++];
	e->site = cc < 0 ? x86_jmp32(b, NULL) : x86_jcc32(b, (enum x86_cc)cc, NULL);
	e->d = d;
	e->chain = t->linkable && off >= 0 && off < 0x1000;
	e->fwd = fwd;
	e->dirty = t->dirty;
}

static void jump_cache(struct tctx *t);

static void exit_stubs(struct tctx *t)
{
	struct x86_buf *b = &t->b;

	for (int k = 0; k < t->nr_exits && !b->overflow; k++) {
		struct exit_stub *e = &t->exits[k];

		x86_patch_rel32(e->site, b->p);
		t->dirty = e->dirty;
		if (!e->chain && t->linkable) {
			/* another page: through the jump cache, as an
			 * indirect jump goes */
			emit_pc(t, RAX, e->d);
			x86_store(b, 8, HF(pc), RAX);
			jump_cache(t);
			continue;
		}
		write_back(t);
		sync_out(t);
		emit_pc(t, RAX, e->d);
		x86_store(b, 8, HF(pc), RAX);
		if (e->chain) {
			/* the site the dispatcher patches, and the page
			 * (bit 63: a forward jump) */
			x86_mov_imm(b, RAX, (uint64_t)(uintptr_t)e->site);
			x86_mov_imm(b, RDX, t->blk->pa >> 12 | (uint64_t)e->fwd << 63);
		} else {
			x86_alu_rr(b, 0, ALU_XOR, RAX, RAX);
		}
		x86_jmp32(b, t->j->epilogue);
	}
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
	uint8_t *miss[7], *hit, *other;
	int32_t slot = (int32_t)(t->j->hart * sizeof(struct rv_jit_code));

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
	/* this hart's slot: rv_block.jit[t->j->hart].entry, when the code
	 * holds the registers this one does (jit_translate) */
	x86_load(b, 1, RDX, x86_m(RDX, (int32_t)offsetof(struct rv_block, jit)));
	x86_mov_imm(b, RCX, t->held);
	x86_alu_rm(b, 1, ALU_CMP, RCX, x86_m(RDX, slot + (int32_t)offsetof(struct rv_jit_code, held)));
	other = x86_jcc32(b, CC_NE, NULL);
	x86_load(b, 1, RDX, x86_m(RDX, slot + (int32_t)offsetof(struct rv_jit_code, entry)));
	x86_test_rr(b, 1, RDX, RDX);
	miss[2] = x86_jcc32(b, CC_E, NULL);
	/* the target's page is the chain's page from here on */
	x86_alu_ri(b, 1, ALU_AND, RAX, -4096);
	x86_store(b, 8, HF(jit_vpage), RAX);
	x86_jmp_r(b, RDX);
	if (b->overflow)
		return;
	/* Code that holds other registers (or none yet): into its body,
	 * which loads its own from h->x[], after the checks its checked
	 * entry would make (the body charges the slice). */
	x86_patch_rel32(other, b->p);
	x86_load(b, 1, RCX, x86_m(RDX, slot + (int32_t)offsetof(struct rv_jit_code, held)));
	x86_load(b, 1, RDX, x86_m(RDX, slot + (int32_t)offsetof(struct rv_jit_code, body)));
	x86_test_rr(b, 1, RDX, RDX);
	miss[4] = x86_jcc32(b, CC_E, NULL);
	x86_test_rr(b, 1, BUDGET, BUDGET);
	miss[5] = x86_jcc32(b, CC_LE, NULL);
	x86_alu_mi(b, 0, ALU_CMP, HF(attention), 0);
	miss[6] = x86_jcc32(b, CC_NE, NULL);
	x86_alu_ri(b, 1, ALU_AND, RAX, -4096);
	x86_store(b, 8, HF(jit_vpage), RAX);
	/* what the dispatcher chains what returns from here by (jit.c) */
	x86_store(b, 8, HF(jit_held), RCX);
	write_back(t);
	x86_jmp_r(b, RDX);
	if (b->overflow)
		return;
	for (int k = 0; k < 7; k++)
		x86_patch_rel32(miss[k], b->p);
	write_back(t);
	sync_out(t);
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

	mx_fold(t);
	t->mx_on = false;
	write_back(t);
	t->dirty = 0;
	sync_out(t);
	x86_mov_rr(b, 1, RDI, RBX);
	x86_mov_imm(b, RSI, (uint64_t)(uintptr_t)i);
	emit_pc(t, RDX, i->pc_off);
	x86_mov_imm(b, RCX, t->blk->n - i->idx);
	x86_call_abs(b, fn);
	x86_test_ri(b, 0, RAX, 0xff);
	if (t->nr_noset < (int)(sizeof(t->to_noset) / sizeof(t->to_noset[0])))
		t->to_noset[t->nr_noset++] = x86_jcc32(b, CC_NE, NULL);
	else
		b->overflow = true;
	sync_in(t);
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
 * anything else goes to stub s, which runs the instruction in jit_op.
 * Returns the host address as an operand: [rax + rs1 + imm] when rs1 is
 * held (rax the entry's addend), else [rax]. rcx and rdx are free after. */
static struct x86_mem tlb_lookup(struct tctx *t, struct stub *s, const struct rv_insn *i,
				 size_t tlb_off, unsigned size)
{
	struct x86_buf *b = &t->b;
	int h1 = held(t, i->rs1);
	struct x86_mem vpn, addend;

	/* rdx = the address, then its page number */
	if (h1 >= 0) {
		if (i->imm)
			x86_lea(b, RDX, x86_m(h1, i->imm));
		else
			x86_mov_rr(b, 1, RDX, h1);
	} else {
		load_x(b, 1, RAX, i->rs1);
		if (i->imm)
			x86_alu_ri(b, 1, ALU_ADD, RAX, i->imm);
		x86_mov_rr(b, 1, RDX, RAX);
	}
	if (size > 1) {
		x86_test_ri(b, 0, RDX, (int32_t)size - 1);
		stub_jcc(t, s, CC_NE);
	}
	/* rcx = the entry's index (times 3 when an entry is 24 bytes, so
	 * that the operand scales it by 8) */
	x86_shift_ri(b, 1, SH_SHR, RDX, 12);
	if (TLB_SIZE == 256) {
		x86_movzx8_rr(b, RCX, RDX);
	} else {
		x86_mov_rr(b, 0, RCX, RDX);
		x86_alu_ri(b, 0, ALU_AND, RCX, TLB_SIZE - 1);
	}
	if (sizeof(struct rv_tlb_entry) == 24) {
		x86_lea(b, RCX, (struct x86_mem){ RCX, RCX, 2, 0 });
		vpn = (struct x86_mem){ RBX, RCX, 8, (int32_t)(tlb_off + offsetof(struct rv_tlb_entry, vpn)) };
	} else {
		x86_imul_rri(b, 0, RCX, RCX, (int32_t)sizeof(struct rv_tlb_entry));
		vpn = x86_mi(RBX, RCX, (int32_t)(tlb_off + offsetof(struct rv_tlb_entry, vpn)));
	}
	/* the key: the page number with the data context's tag in its top
	 * bits (cpu.h), which the index above never reads */
	x86_alu_rm(b, 1, ALU_OR, RDX, HF(tlb_dtag));
	addend = vpn;
	addend.disp += (int32_t)(offsetof(struct rv_tlb_entry, addend) - offsetof(struct rv_tlb_entry, vpn));
	x86_alu_rm(b, 1, ALU_CMP, RDX, vpn);
	stub_jcc(t, s, CC_NE);
	if (h1 >= 0) {
		x86_load(b, 1, RAX, addend);
		return x86_mi(RAX, h1, i->imm);
	}
	x86_alu_rm(b, 1, ALU_ADD, RAX, addend);
	return x86_m(RAX, 0);
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

/* The host register to compute guest rd's new value in: rd's own when the
 * block holds it, else rax (then put_x stores it). */
static int dst_of(struct tctx *t, unsigned rd)
{
	return rd && rd < 32 && t->map[rd] >= 0 ? t->map[rd] : RAX;
}

static void put_x(struct tctx *t, unsigned rd, int h)
{
	if (h == RAX)
		store_x(&t->b, rd, RAX);
	else
		t->dirty |= 1ULL << rd;
}

/* host register h = guest r; nothing to do when r lives in h */
static void get_x(struct x86_buf *b, int w, int h, unsigned r)
{
	if (!r || ctx_of(b)->map[r] != h)
		load_x(b, w, h, r);
}

static void alu_imm(struct x86_buf *b, int w, enum x86_alu op, const struct rv_insn *i)
{
	struct tctx *t = ctx_of(b);
	int d = dst_of(t, i->rd), h1 = held(t, i->rs1);

	if (w && op == ALU_ADD && i->imm && h1 >= 0 && h1 != d) {
		x86_lea(b, d, x86_m(h1, i->imm));
	} else if (!w && op == ALU_ADD && !i->imm && h1 >= 0) {
		/* sext.w: one movsxd */
		x86_movsxd_rr(b, d, h1);
		put_x(t, i->rd, d);
		return;
	} else {
		get_x(b, w, d, i->rs1);
		if (i->imm || op == ALU_AND)
			x86_alu_ri(b, w, op, d, i->imm);
	}
	if (!w)
		x86_movsxd_rr(b, d, d);
	put_x(t, i->rd, d);
}

static void alu_reg(struct x86_buf *b, int w, enum x86_alu op, const struct rv_insn *i)
{
	struct tctx *t = ctx_of(b);
	int d = dst_of(t, i->rd);
	unsigned rs1 = i->rs1, rs2 = i->rs2;

	/* rd == rs2 != rs1: loading rs1 into rd's register would lose rs2 */
	if (d != RAX && rs1 != rs2 && held(t, rs2) == d) {
		if (op == ALU_SUB) {
			d = RAX;
		} else {
			rs2 = rs1;
			rs1 = i->rs2;
		}
	}
	get_x(b, w, d, rs1);
	alu_x(b, w, op, d, rs2);
	if (!w)
		x86_movsxd_rr(b, d, d);
	put_x(t, i->rd, d);
}

static void shift_imm(struct x86_buf *b, int w, enum x86_shift op, const struct rv_insn *i)
{
	struct tctx *t = ctx_of(b);
	int d = dst_of(t, i->rd);

	get_x(b, w, d, i->rs1);
	x86_shift_ri(b, w, op, d, (uint8_t)i->imm);
	if (!w)
		x86_movsxd_rr(b, d, d);
	put_x(t, i->rd, d);
}

static void shift_reg(struct x86_buf *b, int w, enum x86_shift op, const struct rv_insn *i)
{
	struct tctx *t = ctx_of(b);
	int d = dst_of(t, i->rd);

	/* x86 masks the count to 6 (5 for 32-bit) bits, as RISC-V does */
	load_x(b, 0, RCX, i->rs2);
	get_x(b, w, d, i->rs1);
	x86_shift_rcl(b, w, op, d);
	if (!w)
		x86_movsxd_rr(b, d, d);
	put_x(t, i->rd, d);
}

/* guest rs1 compared with rs2 (or imm): flags set */
static void compare(struct tctx *t, const struct rv_insn *i, bool imm)
{
	struct x86_buf *b = &t->b;
	int h1 = held(t, i->rs1);

	if (h1 < 0 && i->rs1 && (imm || !i->rs2)) {
		/* rs1 in h->x[] against a constant: cmp qword [rs1], imm */
		x86_alu_mi(b, 1, ALU_CMP, XR(i->rs1), imm ? i->imm : 0);
		return;
	}
	if (h1 < 0) {
		load_x(b, 1, RAX, i->rs1);
		h1 = RAX;
	}
	if (imm)
		x86_alu_ri(b, 1, ALU_CMP, h1, i->imm);
	else if (!i->rs2)
		x86_test_rr(b, 1, h1, h1);
	else
		alu_x(b, 1, ALU_CMP, h1, i->rs2);
}

static void set_cc(struct x86_buf *b, enum x86_cc cc, const struct rv_insn *i, bool imm)
{
	struct tctx *t = ctx_of(b);
	int d = dst_of(t, i->rd);

	x86_alu_rr(b, 0, ALU_XOR, RCX, RCX);
	compare(t, i, imm);
	x86_setcc(b, cc, RCX);
	if (d != RAX) {
		x86_mov_rr(b, 1, d, RCX);
		put_x(t, i->rd, d);
	} else {
		store_x(b, i->rd, RCX);
	}
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

/* ---- F and D ----------------------------------------------------------------
 *
 * The common operations run as SSE/FMA instructions on h->fpu.f[] in
 * memory, with results bit for bit those of fpu.c (which the interpreter
 * runs): x86 and RISC-V agree on every non-NaN result of +, -, *, /, sqrt,
 * fused multiply-add, the conversions and the comparisons in the same
 * rounding mode, and on their exception flags (both detect tininess after
 * rounding, and x86's masked underflow, like RISC-V's UF, needs an inexact
 * result; fpu.c's header). What they do not share goes to the instruction's
 * stub, i.e. to fpu.c, before the destination is written:
 *  - a NaN result (RISC-V writes the canonical NaN, x86 a quieted operand;
 *    fma(0, inf, qNaN) raises NV only on RISC-V). The flags x86 raised on
 *    the way are a subset of what fpu.c raises again (NV), so they may stay;
 *  - a single operand that is not NaN-boxed (it reads as the canonical NaN);
 *  - an effective rounding mode other than RNE (frm checked at run time for
 *    rm = DYN), or a reserved one (the stub raises the illegal instruction);
 *  - fcvt to an integer whose result is x86's "integer indefinite"
 *    (0x80000000..., for NaN and out-of-range inputs where RISC-V saturates,
 *    11.7; the flags agree: NV alone, no NX, which this host confirms);
 *  - mstatus.FS Off (checked once per block, as FS cannot change within one
 *    but through a helper call).
 * fclass, fcvt to and from unsigned, the other rounding modes and, on a
 * host without FMA, the fused operations call rv_fpu_exec straight away.
 * Every OP-FP sets FS Dirty on success, as the interpreter does. */
int jit_host_fma = -1;

static bool host_has_fma(void)
{
	/* GCC's cpu model reports FMA only when the OS also saves the AVX
	 * state (XCR0), as VEX-encoded instructions need */
	if (jit_host_fma < 0)
		jit_host_fma = __builtin_cpu_supports("fma") ? 1 : 0;
	return jit_host_fma > 0;
}

static void fs_check(struct tctx *t, struct stub *s)
{
	struct x86_buf *b = &t->b;

	if (t->fs_on)
		return;
	x86_load(b, 1, RAX, HF(mstatus));
	x86_test_ri(b, 0, RAX, (int32_t)MSTATUS_FS);
	stub_jcc(t, s, CC_E);
	t->fs_on = true;
}

static void fs_set_dirty(struct tctx *t)
{
	if (t->fs_dirty)
		return;
	x86_alu_mi(&t->b, 1, ALU_OR, HF(mstatus), (int32_t)MSTATUS_FS);
	t->fs_dirty = true;
}

/* OP-FP or a fused multiply-add through rv_fpu_exec. FS off, or an
 * encoding rv_fpu_exec refuses (it refuses before touching any state),
 * goes to a stub whose jit_op raises the illegal instruction exactly as
 * the interpreter does. */
static void fp_call(struct tctx *t, const struct rv_insn *i)
{
	struct x86_buf *b = &t->b;
	struct stub *s;
	unsigned rd = (i->raw >> 7) & 31;

	mx_fold(t);
	t->mx_on = false;
	write_back(t);
	t->dirty = 0;
	s = stub_open(t, i);
	fs_check(t, s);
	x86_lea(b, RDI, HF(fpu));
	x86_lea(b, RSI, HF(x));
	x86_mov_imm(b, RDX, i->raw);
	x86_call_abs(b, (const void *)rv_fpu_exec);
	x86_store_imm32(b, XR(0), 0);    /* it may have written x0 */
	x86_test_rr(b, 0, RAX, RAX);
	stub_jcc(t, s, CC_NE);
	for (unsigned r = 1; r < 32; r++) {
		int h = t->map[r];
		if (h >= 0 && (r == rd || (h != RBP && h < R12)))
			reload(t, r);
	}
	stub_close(t, s);
	fs_set_dirty(t);
}

/* rm == DYN: frm decides at run time. rne: only RNE is done inline;
 * otherwise any valid mode (the operation is exact). */
static void rm_check(struct tctx *t, struct stub *s, unsigned rm, bool rne)
{
	if (rm != 7)
		return;
	x86_alu_mi(&t->b, 0, ALU_CMP, x86_m(RBX, (int32_t)offsetof(struct hart, fpu.frm)), rne ? 0 : 4);
	stub_jcc(t, s, rne ? CC_NE : CC_A);
}

static bool rm_inline(unsigned rm, bool rne)
{
	return rm == 7 || (rne ? rm == 0 : rm <= 4);
}

/* 12.2: a single operand must be NaN-boxed */
static void box_check(struct tctx *t, struct stub *s, unsigned r)
{
	x86_alu_mi(&t->b, 0, ALU_CMP, FR_HI(r), -1);
	stub_jcc(t, s, CC_NE);
}

static void nan_check(struct tctx *t, struct stub *s, bool dbl, int xmm)
{
	x86_sse_rr(&t->b, dbl ? SSE_PD : SSE_PS, 0, SSE_UCOMI, xmm, xmm);
	stub_jcc(t, s, CC_P);
}

static void store_f(struct tctx *t, unsigned rd, bool dbl, int xmm)
{
	x86_sse_rm(&t->b, dbl ? SSE_SD : SSE_SS, 0, SSE_MOV_STORE, xmm, FR(rd));
	if (!dbl)
		x86_store_imm32d(&t->b, FR_HI(rd), -1);
}

static void fp_op(struct tctx *t, const struct rv_insn *i)
{
	struct x86_buf *b = &t->b;
	uint32_t raw = i->raw;
	unsigned opc = raw & 0x7f, rd = (raw >> 7) & 31, rm = (raw >> 12) & 7;
	unsigned rs1 = (raw >> 15) & 31, rs2 = (raw >> 20) & 31, f5 = raw >> 27;
	unsigned fmt = (raw >> 25) & 3;
	bool dbl = fmt == 1;
	enum x86_sse_pfx sx = dbl ? SSE_SD : SSE_SS, px = dbl ? SSE_PD : SSE_PS;
	struct stub *s;

	if (fmt > 1)
		goto call;
	if (opc != 0x53) {
		/* fmadd fmsub fnmsub fnmadd: a*b+c, a*b-c, -(a*b)+c, -(a*b)-c,
		 * which are x86's vfmadd, vfmsub, vfnmadd, vfnmsub */
		static const uint8_t x86_op[4] = { 0xb9, 0xbb, 0xbd, 0xbf };
		unsigned rs3 = raw >> 27;
		if (!host_has_fma() || !rm_inline(rm, true))
			goto call;
		mx_need(t);
		s = stub_open(t, i);
		fs_check(t, s);
		rm_check(t, s, rm, true);
		if (!dbl) {
			box_check(t, s, rs1);
			box_check(t, s, rs2);
			box_check(t, s, rs3);
		}
		x86_sse_rm(b, sx, 0, SSE_MOV_LOAD, 0, FR(rs3));
		x86_sse_rm(b, sx, 0, SSE_MOV_LOAD, 1, FR(rs1));
		x86_fma231_rm(b, dbl, x86_op[(opc >> 2) & 3], 0, 1, FR(rs2));
		nan_check(t, s, dbl, 0);
		store_f(t, rd, dbl, 0);
		goto done;
	}
	switch (f5) {
	case 0x00: case 0x01: case 0x02: case 0x03: case 0x0b: {  /* add sub mul div sqrt */
		static const enum x86_sse_op ops[4] = { SSE_ADD, SSE_SUB, SSE_MUL, SSE_DIV };
		if ((f5 == 0x0b && rs2) || !rm_inline(rm, true))
			goto call;
		mx_need(t);
		s = stub_open(t, i);
		fs_check(t, s);
		rm_check(t, s, rm, true);
		if (!dbl) {
			box_check(t, s, rs1);
			if (f5 != 0x0b)
				box_check(t, s, rs2);
		}
		if (f5 == 0x0b) {
			x86_sse_rm(b, sx, 0, SSE_SQRT, 0, FR(rs1));
		} else {
			x86_sse_rm(b, sx, 0, SSE_MOV_LOAD, 0, FR(rs1));
			x86_sse_rm(b, sx, 0, ops[f5], 0, FR(rs2));
		}
		nan_check(t, s, dbl, 0);
		store_f(t, rd, dbl, 0);
		break;
	}
	case 0x04: {  /* fsgnj, fsgnjn, fsgnjx: bits only, no flags */
		int w = dbl, sign = dbl ? 63 : 31;
		if (rm > 2)
			goto call;
		s = stub_open(t, i);
		fs_check(t, s);
		if (!dbl) {
			box_check(t, s, rs1);
			box_check(t, s, rs2);
		}
		x86_load(b, w, RAX, FR(rs1));
		if (!(rs1 == rs2 && rm == 0)) {     /* not fmv */
			x86_load(b, w, RCX, FR(rs2));
			if (rm == 1)
				x86_alu_ri(b, w, ALU_XOR, RCX, -1);
			else if (rm == 2)
				x86_alu_rr(b, w, ALU_XOR, RCX, RAX);
			x86_shift_ri(b, w, SH_SHL, RAX, 1);
			x86_shift_ri(b, w, SH_SHR, RAX, 1);
			x86_shift_ri(b, w, SH_SHR, RCX, (uint8_t)sign);
			x86_shift_ri(b, w, SH_SHL, RCX, (uint8_t)sign);
			x86_alu_rr(b, w, ALU_OR, RAX, RCX);
		}
		x86_store(b, dbl ? 8 : 4, FR(rd), RAX);
		if (!dbl)
			x86_store_imm32d(b, FR_HI(rd), -1);
		break;
	}
	case 0x05: {  /* fmin, fmax (11.6): NaN operands go to the stub */
		uint8_t *ne, *done;
		if (rm > 1)
			goto call;
		s = stub_open(t, i);
		fs_check(t, s);
		if (!dbl) {
			box_check(t, s, rs1);
			box_check(t, s, rs2);
		}
		x86_sse_rm(b, sx, 0, SSE_MOV_LOAD, 0, FR(rs1));
		x86_sse_rm(b, sx, 0, SSE_MOV_LOAD, 1, FR(rs2));
		x86_sse_rr(b, px, 0, SSE_UCOMI, 0, 1);
		stub_jcc(t, s, CC_P);
		ne = x86_jcc32(b, CC_NE, NULL);
		/* equal: the same value, or -0 and +0 where min is -0 and max +0 */
		x86_sse_rr(b, px, 0, rm == 0 ? SSE_OR : SSE_AND, 0, 1);
		done = x86_jmp32(b, NULL);
		if (b->overflow)
			return;
		x86_patch_rel32(ne, b->p);
		x86_sse_rr(b, sx, 0, rm == 0 ? SSE_MIN : SSE_MAX, 0, 1);
		if (b->overflow)
			return;
		x86_patch_rel32(done, b->p);
		store_f(t, rd, dbl, 0);
		break;
	}
	case 0x08:  /* fcvt.s.d (fmt S, rs2 1), fcvt.d.s (fmt D, rs2 0: exact) */
		if (rs2 != (dbl ? 0u : 1u) || !rm_inline(rm, !dbl))
			goto call;
		if (!dbl)
			mx_need(t);
		s = stub_open(t, i);
		fs_check(t, s);
		rm_check(t, s, rm, !dbl);
		if (dbl)
			box_check(t, s, rs1);
		x86_sse_rm(b, dbl ? SSE_SS : SSE_SD, 0, SSE_CVT_FP, 0, FR(rs1));
		nan_check(t, s, dbl, 0);
		store_f(t, rd, dbl, 0);
		break;
	case 0x14:  /* fle, flt, feq (11.8: feq quiet, flt and fle signalling) */
		if (rm > 2)
			goto call;
		mx_need(t);
		s = stub_open(t, i);
		fs_check(t, s);
		if (!dbl) {
			box_check(t, s, rs1);
			box_check(t, s, rs2);
		}
		x86_alu_rr(b, 0, ALU_XOR, RAX, RAX);
		if (rm == 2) {
			x86_alu_rr(b, 0, ALU_XOR, RCX, RCX);
			x86_sse_rm(b, sx, 0, SSE_MOV_LOAD, 0, FR(rs1));
			x86_sse_rm(b, px, 0, SSE_UCOMI, 0, FR(rs2));
			x86_setcc(b, CC_E, RAX);
			x86_setcc(b, CC_NP, RCX);
			x86_alu_rr(b, 0, ALU_AND, RAX, RCX);
		} else {
			/* rs2 > rs1 (above) or >= (above or equal); unordered
			 * sets CF, so both read 0 */
			x86_sse_rm(b, sx, 0, SSE_MOV_LOAD, 0, FR(rs2));
			x86_sse_rm(b, px, 0, SSE_COMI, 0, FR(rs1));
			x86_setcc(b, rm == 1 ? CC_A : CC_AE, RAX);
		}
		store_x(b, rd, RAX);
		break;
	case 0x18: {  /* fcvt.{w,l}.{s,d}; wu and lu through the call */
		int w = rs2 == 2;
		if ((rs2 != 0 && rs2 != 2) || (rm != 1 && !rm_inline(rm, true)))
			goto call;
		mx_need(t);
		s = stub_open(t, i);
		fs_check(t, s);
		rm_check(t, s, rm, true);
		if (!dbl)
			box_check(t, s, rs1);
		x86_sse_rm(b, sx, w, rm == 1 ? SSE_CVTT : SSE_CVT, RAX, FR(rs1));
		x86_alu_ri(b, w, ALU_CMP, RAX, 1);  /* overflows for 0x80000...: indefinite */
		stub_jcc(t, s, CC_O);
		if (!w)
			x86_movsxd_rr(b, RAX, RAX);
		store_x(b, rd, RAX);
		break;
	}
	case 0x1a: {  /* fcvt.{s,d}.{w,wu,l,lu} */
		/* exact: a double from a 32-bit integer */
		bool exact = dbl && rs2 < 2;
		if (rs2 > 3 || !rm_inline(rm, !exact))
			goto call;
		if (!exact)
			mx_need(t);
		s = stub_open(t, i);
		fs_check(t, s);
		rm_check(t, s, rm, !exact);
		/* w: the low 32 bits, signed; wu: zero-extended, then as l */
		load_x(b, rs2 >= 1, RAX, rs1);
		if (rs2 == 1)
			x86_mov_rr(b, 0, RAX, RAX);
		if (rs2 == 3) {  /* lu: below 2^63 it is l */
			x86_test_rr(b, 1, RAX, RAX);
			stub_jcc(t, s, CC_S);
		}
		x86_sse_rr(b, sx, rs2 != 0, SSE_CVTSI, 0, RAX);
		store_f(t, rd, dbl, 0);
		break;
	}
	case 0x1c:  /* fmv.x.w / fmv.x.d (12.2: the NaN box is ignored); fclass called */
		if (rs2 != 0 || rm != 0)
			goto call;
		s = stub_open(t, i);
		fs_check(t, s);
		if (dbl)
			x86_load(b, 1, RAX, FR(rs1));
		else
			x86_movsx(b, 4, RAX, FR(rs1));
		store_x(b, rd, RAX);
		break;
	case 0x1e:  /* fmv.w.x / fmv.d.x */
		if (rs2 != 0 || rm != 0)
			goto call;
		s = stub_open(t, i);
		fs_check(t, s);
		load_x(b, dbl, RAX, rs1);
		x86_store(b, dbl ? 8 : 4, FR(rd), RAX);
		if (!dbl)
			x86_store_imm32d(b, FR_HI(rd), -1);
		break;
	default:
		goto call;
	}
done:
	stub_close(t, s);
	fs_set_dirty(t);
	return;
call:
	fp_call(t, i);
}

/* One instruction. */
/* slli rd, rs, 32; srli rd, rd, 32 (zext.w, which compiled RV64GC
 * code uses for every unsigned 32-bit index): one 32-bit mov, which
 * zero-extends. Neither instruction can trap. */
static bool zext_w(struct tctx *t, const struct rv_insn *a, const struct rv_insn *c)
{
	int d;

	if (a->op != OP_SLLI || c->op != OP_SRLI || a->imm != 32 || c->imm != 32 ||
	    a->rd != c->rd || c->rs1 != a->rd || a->rd == 32 || !a->rs1)
		return false;
	d = dst_of(t, a->rd);
	load_x(&t->b, 0, d, a->rs1);   /* mov d32, rs32 (also when d holds rs) */
	put_x(t, a->rd, d);
	return true;
}

static void translate_insn(struct tctx *t, const struct rv_insn *i)
{
	struct x86_buf *b = &t->b;

	switch (i->op) {
	case OP_NOP:
		break;
	case OP_FENCE: {
		/* harts run in parallel (jit.c): the host barrier when the
		 * fence orders a store before a load (decode.c), then, as
		 * the interpreter does, the hart's requests if any (the
		 * stub's jit_op) */
		struct stub *s = stub_open(t, i);

		if (i->imm) {
			x86_u8(b, 0x0f);
			x86_u8(b, 0xae);
			x86_u8(b, 0xf0);  /* mfence */
		}
		x86_alu_mi(b, 0, ALU_CMP, HF(attention), 0);
		stub_jcc(t, s, CC_NE);
		stub_close(t, s);
		break;
	}
	case OP_LI: case OP_LUI:
		li_x(b, i->rd, i->imm);
		break;
	case OP_MV: {
		int d = dst_of(t, i->rd), h1 = held(t, i->rs1);
		if (d == RAX && h1 >= 0) {
			store_x(b, i->rd, h1);
		} else {
			get_x(b, 1, d, i->rs1);
			put_x(t, i->rd, d);
		}
		break;
	}
	case OP_AUIPC:
		emit_pc(t, RAX, (int64_t)i->pc_off + i->imm);
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
			emit_pc(t, RAX, i->pc_off + i->len);
			store_x(b, i->rd, RAX);
		}
		exit_direct(t, -1, i->pc_off + i->imm, i->imm > 0);
		break;
	case OP_JALR:
		load_x(b, 1, RAX, i->rs1);
		if (i->imm)
			x86_alu_ri(b, 1, ALU_ADD, RAX, i->imm);
		x86_alu_ri(b, 1, ALU_AND, RAX, -2);
		if (i->rd != 32) {
			emit_pc(t, RCX, i->pc_off + i->len);
			store_x(b, i->rd, RCX);
		}
		x86_store(b, 8, HF(pc), RAX);
		jump_cache(t);
		break;
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU: {
		compare(t, i, false);
		exit_direct(t, branch_cc(i->op), i->pc_off + i->imm, i->imm > 0);
		break;
	}
	case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU: {
		static const uint8_t size[] = { 1, 2, 4, 8, 1, 2, 4 };
		unsigned sz = size[i->op - OP_LB];
		struct stub *s = stub_open(t, i);
		int d = dst_of(t, i->rd);
		struct x86_mem m = tlb_lookup(t, s, i, offsetof(struct hart, tlb_r), sz);
		switch (i->op) {
		case OP_LB: case OP_LH: case OP_LW: x86_movsx(b, sz, d, m); break;
		case OP_LBU: case OP_LHU: x86_movzx(b, sz, d, m); break;
		case OP_LWU: x86_load(b, 0, d, m); break;
		default: x86_load(b, 1, d, m); break;
		}
		put_x(t, i->rd, d);
		stub_close(t, s);
		break;
	}
	case OP_SB: case OP_SH: case OP_SW: case OP_SD: {
		unsigned sz = 1u << (i->op - OP_SB);
		struct stub *s = stub_open(t, i);
		int h2 = held(t, i->rs2);
		struct x86_mem m = tlb_lookup(t, s, i, offsetof(struct hart, tlb_w), sz);
		if (h2 < 0) {
			load_x(b, 1, RCX, i->rs2);
			h2 = RCX;
		}
		x86_store(b, (int)sz, m, h2);
		stub_close(t, s);
		break;
	}
	case OP_FLW: case OP_FLD: case OP_FSW: case OP_FSD: {
		/* FS == Off: the stub's jit_op raises the illegal instruction */
		bool load = i->op == OP_FLW || i->op == OP_FLD;
		unsigned sz = i->op == OP_FLW || i->op == OP_FSW ? 4 : 8;
		unsigned fr = load ? i->rd : i->rs2;
		struct stub *s = stub_open(t, i);
		fs_check(t, s);
		struct x86_mem m = tlb_lookup(t, s, i, load ? offsetof(struct hart, tlb_r) :
							     offsetof(struct hart, tlb_w), sz);
		if (load) {
			x86_load(b, sz == 8, RAX, m);
			x86_store(b, (int)sz, FR(fr), RAX);
			if (sz == 4)  /* NaN-boxed */
				x86_store_imm32d(b, FR_HI(fr), -1);
		} else {
			x86_load(b, sz == 8, RCX, FR(fr));
			x86_store(b, (int)sz, m, RCX);
		}
		stub_close(t, s);
		if (load)  /* as the interpreter: loads set FS Dirty, stores do not */
			fs_set_dirty(t);
		break;
	}
	case OP_DIV: case OP_DIVU: case OP_REM: case OP_REMU:
	case OP_DIVW: case OP_DIVUW: case OP_REMW: case OP_REMUW:
		divide(t, i);
		break;
	case OP_FP:
		fp_op(t, i);
		break;
	default:
		/* CSRs, A, system instructions, illegal ones: they may read
		 * fflags or change mstatus (call_fn folds MXCSR first) */
		call_helper(t, i);
		t->mx_on = t->fs_on = t->fs_dirty = false;
		break;
	}
}

/* The guest registers held in host registers are the same in every block
 * of a physical page (the only blocks a chained jump links, jit.c), so
 * that chained jumps pass them on without storing and loading them (only
 * the ways to the dispatcher and to C store them): the ten the page's
 * code uses most, the most used in the callee-saved host registers, which
 * survive helper calls. The code is read when the hart translates the
 * page's first block: a use inside d loops (the ranges of backward
 * branches) counts 4^d times (d up to 6), as inner loops run most. A guess, read
 * from guest memory that may change under it, which costs speed only
 * when wrong: code whose choice differs is never chained together, nor
 * reached through the jump cache (jump_cache). Pages that are not RAM,
 * and ties, take the registers compiled RISC-V code uses most. */
static const uint8_t held_default[NR_CACHED] = { 15, 14, 10, 2, 8, 9, 11, 12, 13, 1 };
#define SWEEP_MAX 1024

static uint64_t held_pack(const uint8_t *guest)
{
	uint64_t v = 0;

	for (int n = 0; n < NR_CACHED; n++)
		v |= (uint64_t)guest[n] << (5 * n);
	return v;
}

/* the integer registers insn reads and writes, into r[] (0 for none) */
static void insn_regs(const struct rv_insn *in, uint8_t r[3])
{
	r[0] = r[1] = r[2] = 0;
	switch (in->op) {
	case OP_ILLEGAL: case OP_BLOCK_END: case OP_FP: case OP_FENCE: case OP_FENCE_I:
	case OP_ECALL: case OP_EBREAK: case OP_MRET: case OP_SRET: case OP_WFI: case OP_NOP:
		return;
	case OP_LUI: case OP_AUIPC: case OP_JAL: case OP_LI:
		break;
	case OP_FLW: case OP_FLD: case OP_FSW: case OP_FSD:
		r[0] = in->rs1;
		return;
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
	case OP_SB: case OP_SH: case OP_SW: case OP_SD:
	case OP_ADD: case OP_SUB: case OP_SLL: case OP_SLT: case OP_SLTU: case OP_XOR:
	case OP_SRL: case OP_SRA: case OP_OR: case OP_AND:
	case OP_ADDW: case OP_SUBW: case OP_SLLW: case OP_SRLW: case OP_SRAW:
	case OP_MUL: case OP_MULH: case OP_MULHSU: case OP_MULHU: case OP_DIV: case OP_DIVU:
	case OP_REM: case OP_REMU: case OP_MULW: case OP_DIVW: case OP_DIVUW: case OP_REMW:
	case OP_REMUW: case OP_SC_W: case OP_AMO_W: case OP_SC_D: case OP_AMO_D:
		r[0] = in->rs1;
		r[1] = in->rs2;
		break;
	default:
		r[0] = in->rs1;
		break;
	}
	if (in->rd < 32)
		r[2] = in->rd;
}

static uint16_t code_u16(const uint8_t *page, unsigned off)
{
	return __atomic_load_n((const uint16_t *)(const void *)(page + off), __ATOMIC_RELAXED);
}

/* Decode the page's code from byte off on (to the end, an illegal
 * encoding or stop): each instruction's offset and registers. */
static int sweep(const uint8_t *page, unsigned off, unsigned stop, uint16_t *at, uint8_t (*regs)[3],
		 int n, int16_t *loop)
{
	struct rv_insn in;

	while (n < SWEEP_MAX && off < stop && off + 2 <= 0x1000) {
		uint32_t raw = code_u16(page, off);
		if ((raw & 3) == 3) {
			if (off + 4 > 0x1000)
				break;
			raw |= (uint32_t)code_u16(page, off + 2) << 16;
		}
		rv_decode(raw, &in);
		if (in.op == OP_ILLEGAL)
			break;
		at[n] = (uint16_t)off;
		insn_regs(&in, regs[n++]);
		if (in.imm < 0 && ((in.op >= OP_BEQ && in.op <= OP_BGEU) ||
				   (in.op == OP_JAL && in.rd == 32))) {
			int64_t to = (int64_t)off + in.imm;
			loop[to < 0 ? 0 : to]++;
			loop[off + in.len]--;
		}
		off += in.len;
	}
	return n;
}

static uint64_t choose_held(struct jit *j, const struct rv_block *blk)
{
	struct rv_cpu *m = j->m;
	uint64_t pa = blk->pa, page_nr = pa >> 12;
	unsigned slot = (unsigned)(page_nr % JIT_HELD_PAGES), off = pa & 0xfff;
	uint8_t guest[NR_CACHED];
	uint64_t weight[32] = { 0 }, held;
	uint16_t at[SWEEP_MAX];
	uint8_t regs[SWEEP_MAX][3];
	int16_t loop[0x1001] = { 0 };
	const uint8_t *page;
	int n, depth = 0;
	bool keep = false;

	if (j->held_pages[slot].held && j->held_pages[slot].page == page_nr)
		return j->held_pages[slot].held;
	memcpy(guest, held_default, sizeof(guest));
	if (pa - m->ram_base < m->ram_size && !(m->ram_base & 0xfff)) {
		page = m->ram + ((pa - m->ram_base) & ~0xfffULL);
		/* the page before the block (where a 4-byte instruction may
		 * straddle offset 0: a guess), then from the block on */
		n = sweep(page, 0, off, at, regs, 0, loop);
		n = sweep(page, off, 0x1000, at, regs, n, loop);
		for (int k = 0, o = 0; k < n; k++) {
			while (o <= at[k])
				depth += loop[o++];
			uint64_t w = 1ULL << (2 * (depth < 0 ? 0 : depth > 6 ? 6 : depth));
			for (int r = 0; r < 3; r++)
				weight[regs[k][r]] += w;
		}
		weight[0] = 0;
		/* the heaviest ten; a tie keeps the default's order */
		for (int a = 1; a < 32; a++) {
			int pos;
			bool in_default = memchr(held_default, a, sizeof(held_default)) != NULL;
			if (in_default)
				continue;
			/* a non-default register displaces the lightest
			 * chosen one when strictly heavier */
			pos = 0;
			for (int c = 1; c < NR_CACHED; c++)
				if (weight[guest[c]] <= weight[guest[pos]])
					pos = c;
			if (weight[a] > weight[guest[pos]])
				guest[pos] = (uint8_t)a;
		}
		/* Pages whose code the default serves nearly as well keep
		 * it: jumps between pages holding the same go straight
		 * through the jump cache, others through a store and load of
		 * every held register (jump_cache). */
		{
			uint64_t chosen = 0, dflt = 0;
			for (int c = 0; c < NR_CACHED; c++) {
				chosen += weight[guest[c]];
				dflt += weight[held_default[c]];
			}
			keep = chosen * 2 < dflt * 3;
		}
		/* heaviest first: they get the callee-saved host registers
		 * (the default's own order is the same on every page) */
		if (keep)
			memcpy(guest, held_default, sizeof(guest));
		for (int a = 1; a < NR_CACHED && !keep; a++)
			for (int c = a; c > 0 && weight[guest[c]] > weight[guest[c - 1]]; c--) {
				uint8_t tmp = guest[c];
				guest[c] = guest[c - 1];
				guest[c - 1] = tmp;
			}
	}
	held = held_pack(guest);
	j->held_pages[slot].page = page_nr;
	j->held_pages[slot].held = held;
	return held;
}

static void choose_cached(struct tctx *t)
{
	memset(t->map, -1, sizeof(t->map));
	/* what the block came in with may be newer than h->x[] */
	t->dirty = 0;
	for (int n = 0; n < NR_CACHED; n++) {
		unsigned r = (t->held >> (5 * n)) & 31;
		t->map[r] = cache_regs[n];
		t->dirty |= 1ULL << r;
	}
}

bool jit_translate(struct jit *j, struct rv_block *blk, bool linkable, struct rv_jit_code *out)
{
	struct tctx *t = calloc(1, sizeof(*t));
	uint8_t *start, *body = NULL, *code, *fwd;
	bool ret = false;

	if (!t)
		return false;
	t->j = j;
	t->blk = blk;
	t->linkable = linkable;
	t->held = linkable ? choose_held(j, blk) : held_pack(held_default);
	choose_cached(t);
	t->b.p = j->rw + j->used;
	t->b.end = j->rw + j->size;
	start = t->b.p;
	struct x86_buf *b = &t->b;
	uint8_t *bail[2];   /* budget, attention */

	/* Checked entry. It charges the slice for the block's instructions
	 * up front, as exec.c does, and leaves when the block does not fit
	 * in what is left; the dispatcher then runs it if anything is left
	 * at all (its own check), so slices end where they always did. It
	 * leaves too when the hart's attention is wanted: requests, code
	 * dropped, and an interrupt newly pending (hart_set_mip sets the
	 * attention word; mie, mstatus and the privilege change only in
	 * helpers that end the block and return to the dispatcher, which
	 * looks at mip & mie each time). Instret is not counted here: it is
	 * what the budget spent says (sync_out). A forward jump in the page
	 * enters after the attention check (fwd): a run of forward jumps
	 * ends within the page, at a backward jump, a jump elsewhere or the
	 * dispatcher, which all look, so the attention word still has an
	 * answer within the slice (what dropped code, requests and
	 * interrupts need), a few blocks later at most. */
	x86_alu_mi(b, 0, ALU_CMP, HF(attention), 0);
	bail[1] = x86_jcc32(b, CC_NE, NULL);
	fwd = b->p;
	if (blk->n) {
		x86_alu_ri(b, 1, ALU_SUB, BUDGET, (int32_t)blk->n);
		bail[0] = x86_jcc32(b, CC_L, NULL);
	} else {
		x86_test_rr(b, 1, BUDGET, BUDGET);
		bail[0] = x86_jcc32(b, CC_LE, NULL);
	}
	code = b->p;
	for (uint32_t k = 0; k < blk->n && !b->overflow; k++) {
		if (k + 1 < blk->n && zext_w(t, &blk->insn[k], &blk->insn[k + 1])) {
			k++;
			continue;
		}
		translate_insn(t, &blk->insn[k]);
	}
	/* the end of a block that did not jump: fall through to the next pc */
	exit_direct(t, -1, (int32_t)blk->bytes, true);
	exit_stubs(t);

	/* slow paths: jit_op runs the instruction */
	for (int s = 0; s < t->nr_stubs && !b->overflow; s++) {
		struct stub *st = &t->stubs[s];
		for (int k = 0; k < st->nr_sites; k++)
			x86_patch_rel32(st->sites[k], b->p);
		t->dirty = st->dirty;
		call_helper(t, st->i);
		if (st->mx) {
			/* the fast path goes on with flags of its own only */
			t->mx_on = false;
			mx_need(t);
		}
		x86_jmp32(b, st->back);
	}
	/* shared tails */
	if (!b->overflow) {
		/* the dispatcher's entry: the held registers from h->x[] */
		body = b->p;
		for (unsigned r = 1; r < 32; r++)
			reload(t, r);
		if (blk->n)
			x86_alu_ri(b, 1, ALU_SUB, BUDGET, (int32_t)blk->n);
		x86_jmp32(b, code);
	}
	if (!b->overflow) {
		/* the checks failed: back to the dispatcher with h->x[] exact */
		x86_patch_rel32(bail[0], b->p);
		if (blk->n)
			x86_alu_ri(b, 1, ALU_ADD, BUDGET, (int32_t)blk->n);
		x86_patch_rel32(bail[1], b->p);
		choose_cached(t);
		write_back(t);
		sync_out(t);
		emit_pc(t, RAX, 0);
		x86_store(b, 8, HF(pc), RAX);
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

		/* the hart's own cache (jit.c); the stats reader loads them */
		JIT_STAT_SET(j->used, used > j->size ? j->size : used);
		JIT_STAT_ADD(j->blocks, 1);
		JIT_STAT_ADD(j->code_bytes, len);
		ret = true;
		out->entry = start + j->delta;
		out->fwd = fwd + j->delta;
		out->body = body + j->delta;
		out->held = t->held;
		if (j->trace) {
			fprintf(stderr, "jit: block pa %#llx, %u insns, %zu bytes of x86-64 at %p, holds",
				(unsigned long long)blk->pa, blk->n, len, out->entry);
			for (int n = 0; n < NR_CACHED; n++)
				fprintf(stderr, " x%u", (unsigned)(t->held >> (5 * n)) & 31);
			fprintf(stderr, "\n");
			for (uint32_t k = 0; k <= blk->n; k++)
				fprintf(stderr, "jit:   +%03x %08x %s\n", blk->insn[k].pc_off,
					blk->insn[k].raw, rv_op_names[blk->insn[k].op]);
			jit_trace_host(start, len, (uint64_t)(uintptr_t)out->entry);
		}
	}
	free(t);
	return ret;
}
