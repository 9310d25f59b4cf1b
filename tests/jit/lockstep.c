/* Lockstep: the interpreter and the translator run the same random program,
 * one block at a time, and after every block their architectural state
 * (engine.h's struct vcpu_state) and the RAM the program can reach must be
 * identical. The programs come from a generator of valid instruction
 * streams: integer, M, A, F/D, CSR accesses, loads and stores to mapped,
 * read-only and unmapped pages (Sv39, with A/D bits left for the walker to
 * set), stores into the code itself, misaligned accesses, branches,
 * ecall/illegal traps, and privilege changes between M and U in the trap
 * handler; every other program with a code cache so small that it is
 * flushed again and again. Usage: lockstep [SECONDS [SEED]] (default 20 s,
 * seed 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "riscv/cpu.h"
#include "riscv/jit/jit.h"
#include "vm.h"
#include "unit/unit_vm.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (16 * MiB)
#define HANDLER  0x80000000ULL
#define STREAM   0x80001000ULL     /* 7 pages of generated code */
#define STREAM_WORDS (7 * 1024 - 2)
#define PT_ROOT  0x80010000ULL
#define PT_L1    0x80011000ULL
#define PT_L0    0x80012000ULL
#define DATA_RW  0x80020000ULL     /* U, RW, A/D clear: the walker sets them */
#define DATA_RO  0x80021000ULL     /* U, read-only */
#define DATA_NO  0x80022000ULL     /* not mapped */
#define CHECK_BYTES 0x30000        /* RAM compared after every block */

static uint64_t rng = 1;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}
static unsigned pick(unsigned n) { return (unsigned)(rnd() >> 33) % n; }

/* encoders */
static uint32_t r_type(unsigned f7, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd, unsigned op)
{
	return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static uint32_t i_type(int imm, unsigned rs1, unsigned f3, unsigned rd, unsigned op)
{
	return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static uint32_t s_type(int imm, unsigned rs2, unsigned rs1, unsigned f3, unsigned op)
{
	uint32_t u = (uint32_t)imm;
	return ((u >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (u & 0x1f) << 7 | op;
}
static uint32_t b_type(int imm, unsigned rs2, unsigned rs1, unsigned f3)
{
	uint32_t u = (uint32_t)imm;
	return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 |
	       ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | 0x63;
}
static uint32_t j_type(int imm, unsigned rd)
{
	uint32_t u = (uint32_t)imm;
	return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20 |
	       ((u >> 12) & 0xff) << 12 | rd << 7 | 0x6f;
}

/* registers the stream may write: not the bases x10-x13, not x28-x31 (the
 * trap handler's) */
static unsigned dst(void)
{
	static const uint8_t r[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15, 16, 17, 18, 19, 0 };
	return r[pick(sizeof(r))];
}
static unsigned src(void) { return pick(20); }

/* F/D operands worth meeting: zeros, infinities, quiet and signalling
 * NaNs (canonical or not, either sign), denormals, the extremes, integer
 * limits for the conversions, ties; NaN-boxed singles and unboxed ones.
 * At the start of the RW page, where fld/flw read them. */
static const uint64_t fp_special[] = {
	0, 0x8000000000000000, 0x7ff0000000000000, 0xfff0000000000000,
	0x7ff8000000000000, 0x7ff0000000000001, 0xfff8000000000123, 0x7ff4000000000000,
	0x0000000000000001, 0x800fffffffffffff, 0x0010000000000000, 0x7fefffffffffffff,
	0x3ff0000000000000, 0xbff0000000000000, 0x41e0000000000000, 0xc1e0000000000000,
	0x43e0000000000000, 0xc3e0000000000000, 0x41dfffffffc00000, 0x3fe0000000000000,
	0x4004000000000000, 0x3ff8000000000000, 0x000fffffffffffff, 0x3ca0000000000000,
	0xffffffff00000000, 0xffffffff80000000, 0xffffffff7f800000, 0xffffffffff800000,
	0xffffffff7fc00000, 0xffffffff7f800001, 0xffffffffffc00123, 0xffffffff00000001,
	0xffffffff00800000, 0xffffffff7f7fffff, 0xffffffff3f800000, 0xffffffff4f000000,
	0xffffffffcf000000, 0xffffffff5f000000, 0xffffffff3fc00000, 0xffffffff807fffff,
	0xffffffff4effffff, 0xffffffff33800000, 0x000000003f800000, 0x7fffffff3f800000,
	0x36a0000000000000, 0xc7efffffe0000000, 0x47efffffe0000000, 0x380fffffe0000000,
};
#define FP_SPECIAL (sizeof(fp_special) / sizeof(fp_special[0]))

static uint32_t pending[2];   /* the next words of a sequence, [0] first */

/* every F/D operation form, with all rounding modes (5 and 6 reserved),
 * FMA, conversions, frm/fflags/fcsr writes */
static uint32_t gen_fp(void)
{
	static const uint8_t rms[] = { 0, 0, 0, 1, 2, 3, 4, 7, 7, 7, 7, 7, 5, 6 };
	unsigned fd = pick(8), f1 = pick(8), f2 = pick(8), f3 = pick(8), fmt = pick(2);
	unsigned rm = rms[pick(sizeof(rms))];
	switch (pick(17)) {
	case 0: case 1: case 2:  /* fadd fsub fmul fdiv */
		return r_type(pick(4) << 2 | fmt, f2, f1, rm, fd, 0x53);
	case 3:
		return r_type(0x0b << 2 | fmt, pick(8) ? 0 : 1, f1, rm, fd, 0x53);   /* fsqrt */
	case 4:
		return r_type(0x04 << 2 | fmt, pick(3) ? f2 : f1, f1, pick(4), fd, 0x53); /* fsgnj* */
	case 5:  /* fmin fmax, every fourth of -0 and +0 made just before */
		if (pick(4) == 0) {
			unsigned a = 6 + pick(2);
			pending[0] = r_type(0x04 << 2 | fmt, a, a, 1, 13 - a, 0x53);  /* fneg */
			pending[1] = pick(2) ? r_type(0x05 << 2 | fmt, a, 13 - a, pick(2), fd, 0x53)
					     : r_type(0x05 << 2 | fmt, 13 - a, a, pick(2), fd, 0x53);
			return r_type(0x78 | fmt, 0, 0, 0, a, 0x53);            /* fmv.x from x0 */
		}
		return r_type(0x05 << 2 | fmt, f2, f1, pick(3), fd, 0x53);
	case 6:  /* fcvt.s.d, fcvt.d.s */
		return r_type(0x08 << 2 | fmt, pick(8) ? !fmt : fmt, f1, rm, fd, 0x53);
	case 7:  /* fle flt feq */
		return r_type(0x14 << 2 | fmt, f2, f1, pick(4), dst(), 0x53);
	case 8:  /* fcvt.{w,wu,l,lu}.{s,d}, mostly rtz as compilers emit */
		return r_type(0x18 << 2 | fmt, pick(4), f1, pick(2) ? 1 : rm, dst(), 0x53);
	case 9:  /* fcvt.{s,d}.{w,wu,l,lu} */
		return r_type(0x1a << 2 | fmt, pick(4), src(), rm, fd, 0x53);
	case 10:  /* fmv.x.{w,d}, fclass */
		return r_type(0x1c << 2 | fmt, 0, f1, pick(2), dst(), 0x53);
	case 11:  /* fmv.{w,d}.x */
		return r_type(0x1e << 2 | fmt, 0, src(), 0, fd, 0x53);
	case 12: case 13: {  /* fmadd fmsub fnmsub fnmadd */
		static const uint8_t opc[] = { 0x43, 0x47, 0x4b, 0x4f };
		return f3 << 27 | fmt << 25 | f2 << 20 | f1 << 15 | rm << 12 | fd << 7 | opc[pick(4)];
	}
	case 14:  /* flw / fld of the special values */
		return i_type((int)pick(FP_SPECIAL) * 8 + (pick(8) ? 0 : 4), 10, pick(2) ? 3 : 2, fd, 0x07);
	case 15:  /* fsw / fsd */
		return s_type((int)pick(FP_SPECIAL) * 8, f2, 10, pick(2) ? 3 : 2, 0x27);
	default: {
		/* csrrwi frm/fflags/fcsr (mostly frm = RNE), or FS switched
		 * off and on in mstatus (lui t, 6 (0x6000); csrc/csrs mstatus, t) */
		static const uint8_t frm[] = { 0, 0, 0, 0, 1, 2, 3, 4, 5, 7 };
		unsigned r = dst();
		if (pick(4) == 0 && r) {
			pending[0] = i_type(0x300, r, pick(2) ? 3 : 2, 0, 0x73);
			return 6 << 12 | r << 7 | 0x37;
		}
		return i_type(0x001 + pick(3), frm[pick(sizeof(frm))], 5, dst(), 0x73);
	}
	}
}

static uint32_t gen_one(int idx)
{
	unsigned k = pick(100);
	if (pending[0]) {
		uint32_t w = pending[0];
		pending[0] = pending[1];
		pending[1] = 0;
		return w;
	}
	if (pick(4) == 0 && idx + 3 < STREAM_WORDS)
		return gen_fp();
	if (k < 30) { /* OP / OP-32, M included */
		/* funct7 << 4 | funct3 */
		static const uint16_t f[] = { 0x000, 0x200, 0x001, 0x002, 0x003, 0x004, 0x005, 0x205,
					      0x006, 0x007, 0x010, 0x011, 0x012, 0x013, 0x014, 0x015,
					      0x016, 0x017 };
		unsigned x = f[pick(sizeof(f) / 2)];
		return r_type(x >> 4, src(), src(), x & 7, dst(), pick(3) ? 0x33 : 0x3b);
	}
	if (k < 50) { /* OP-IMM / OP-IMM-32 */
		unsigned f3 = pick(8), w = pick(4) == 0;
		int imm = (int)pick(4096) - 2048;
		if (f3 == 1 || f3 == 5)
			imm = (int)pick(w ? 32 : 64) | (f3 == 5 && pick(2) ? 0x400 : 0);
		if (w && f3 != 0 && f3 != 1 && f3 != 5)
			f3 = 0;
		return i_type(imm, src(), f3, dst(), w ? 0x1b : 0x13);
	}
	if (k < 54)
		return (uint32_t)(rnd() & 0xfffff000) | dst() << 7 | (pick(2) ? 0x37 : 0x17);
	if (k < 68) { /* loads: base x10 (RW), x11 (RO), x12 (unmapped), x13 (code) */
		unsigned base = 10 + pick(4), f3 = pick(7);
		int off = pick(4) ? (int)pick(64) * (1 << (f3 & 3)) : (int)pick(4096) - 2048;
		return i_type(off, base, f3, dst(), 0x03);  /* lb lh lw ld lbu lhu lwu */
	}
	if (k < 78) { /* stores: to code only rarely (self-modifying code) */
		unsigned base = 10 + pick(pick(8) ? 3 : 4), f3 = pick(4);
		int off = pick(4) ? (int)pick(64) * (1 << f3) : (int)pick(4096) - 2048;
		if (base == 13)
			off = 0x100 + (int)pick(0x600);
		return s_type(off, src(), base, f3, 0x23);
	}
	if (k < 84) { /* forward branches inside the stream */
		static const uint8_t f3[] = { 0, 1, 4, 5, 6, 7 };
		int skip = 4 * (1 + (int)pick(4));
		if (idx + skip / 4 >= STREAM_WORDS)
			skip = 4;
		return b_type(skip, src(), src(), f3[pick(6)]);
	}
	if (k < 86) {
		int skip = 4 * (1 + (int)pick(3));
		if (idx + skip / 4 >= STREAM_WORDS)
			skip = 4;
		return j_type(skip, dst());
	}
	if (k < 89) { /* A: aligned on x10 (RW page) or x11 (read-only: store faults) */
		static const uint8_t f5[] = { 0x00, 0x01, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c, 0x02, 0x03 };
		unsigned op5 = f5[pick(sizeof(f5))];
		unsigned rs2 = op5 == 0x02 ? 0 : src();
		return r_type(op5 << 2, rs2, 10 + pick(2), 2 + pick(2), dst(), 0x2f);
	}
	if (k < 93) { /* F/D: moves, arithmetic, loads and stores to the RW page */
		unsigned fd = pick(8), fs = pick(8);
		switch (pick(6)) {
		case 0: return r_type(0x79, 0, src(), 0, fd, 0x53);            /* fmv.d.x */
		case 1: return r_type(0x78, 0, src(), 0, fd, 0x53);            /* fmv.w.x */
		case 2: return r_type(pick(2) ? 0x01 : 0x09, fs, pick(8), pick(5), fd, 0x53); /* fadd/fmul.d */
		case 3: return r_type(0x71, 0, fs, 0, dst(), 0x53);            /* fmv.x.d */
		case 4: return i_type((int)pick(32) * 8, 10, 3, fd, 0x07);      /* fld */
		default: return s_type((int)pick(32) * 8, fs, 10, 3, 0x27);    /* fsd */
		}
	}
	if (k < 96) { /* CSRs: minstret, mscratch, fflags (illegal in U for the M ones) */
		static const uint16_t csr[] = { 0xb02, 0x340, 0x001, 0x002, 0xc02 };
		return i_type(csr[pick(5)], src(), 1 + pick(3), dst(), 0x73);
	}
	if (k < 97)
		return 0x00000073;  /* ecall: the handler switches privilege */
	if (k < 98)
		return 0x0000100f;  /* fence.i */
	if (k < 99)
		return 0xffffffff;  /* illegal */
	/* two compressed instructions: c.addi / c.mv */
	return (uint32_t)(0x0001 | (dst() & 0xf) << 7 | pick(32) << 2) |
	       (uint32_t)(0x8002 | 8 << 7 | (8 + pick(8)) << 2) << 16;
}

static void w32(uint8_t *ram, uint64_t pa, uint32_t v)
{
	memcpy(ram + (pa - RAM_BASE), &v, 4);
}
static void w64(uint8_t *ram, uint64_t pa, uint64_t v)
{
	memcpy(ram + (pa - RAM_BASE), &v, 8);
}

/* The program: trap handler, stream, page tables, data. */
static void gen_program(uint8_t *ram)
{
	/* trap handler (M-mode, bare): skip the trapping instruction, or go
	 * back to the stream's start after a fetch fault (causes 0, 1, 12);
	 * return to U after an even cause and to M after an odd one. */
	const uint32_t handler[] = {
		i_type(0x342, 0, 2, 30, 0x73),      /* 0: csrr t5, mcause */
		i_type(0x341, 0, 2, 29, 0x73),      /* 4: csrr t4, mepc */
		i_type(4, 29, 0, 29, 0x13),         /* 8: addi t4, t4, 4 */
		i_type(2, 0, 0, 28, 0x13),          /* 12: li t3, 2 */
		b_type(12, 28, 30, 6),              /* 16: bltu t5, t3, 28 */
		i_type(12, 0, 0, 28, 0x13),         /* 20: li t3, 12 */
		b_type(12, 28, 30, 1),              /* 24: bne t5, t3, 36 */
		0x1000 | 29 << 7 | 0x17,            /* 28: auipc t4, 1 */
		i_type(-28, 29, 0, 29, 0x13),       /* 32: addi t4, t4, -28: STREAM */
		i_type(0x341, 29, 1, 0, 0x73),      /* 36: csrw mepc, t4 */
		2 << 12 | 31 << 7 | 0x37,           /* 40: lui t6, 2 */
		i_type(-0x800, 31, 0, 31, 0x1b),    /* 44: addiw t6, t6, -0x800: MPP */
		i_type(0x300, 31, 3, 0, 0x73),      /* 48: csrc mstatus, t6 */
		i_type(1, 30, 7, 30, 0x13),         /* 52: andi t5, t5, 1 */
		b_type(8, 0, 30, 0),                /* 56: beqz t5, 64 */
		i_type(0x300, 31, 2, 0, 0x73),      /* 60: csrs mstatus, t6 */
		0x30200073,                         /* 64: mret */
	};
	for (unsigned i = 0; i < sizeof(handler) / 4; i++)
		w32(ram, HANDLER + 4 * i, handler[i]);

	for (int i = 0; i < STREAM_WORDS; i++)
		w32(ram, STREAM + 4 * (uint64_t)i, gen_one(i));
	/* loop back to the start */
	w32(ram, STREAM + 4 * STREAM_WORDS, j_type(-4 * STREAM_WORDS, 0));

	/* Sv39: VA = PA for 0x80000000..0x801fffff, 4K pages */
	w64(ram, PT_ROOT + 2 * 8, (PT_L1 >> 12) << 10 | 1);
	w64(ram, PT_L1, (PT_L0 >> 12) << 10 | 1);
	for (uint64_t p = 0; p < 512; p++) {
		uint64_t pa = RAM_BASE + (p << 12), pte = (pa >> 12) << 10;
		if (pa == HANDLER)
			pte |= 0x4b;                       /* V R X A, not U */
		else if (pa >= STREAM && pa < STREAM + 0x7000)
			pte |= 0xdf;                       /* V R W X U A D */
		else if (pa == DATA_RW)
			pte |= 0x17;                       /* V R W U, A/D clear */
		else if (pa == DATA_RO)
			pte |= 0x53;                       /* V R U A */
		else if (pa == DATA_NO)
			pte = 0;
		else
			pte |= 0xc7;                       /* V R W A D, not U */
		w64(ram, PT_L0 + 8 * p, pte);
	}
	for (uint64_t a = DATA_RW; a < DATA_RW + 0x2000; a += 8)
		w64(ram, a, rnd());
	for (unsigned k = 0; k < FP_SPECIAL; k++)
		w64(ram, DATA_RW + 8 * k, fp_special[k]);
}

struct side {
	struct vm_config cfg;
	struct vm vm;
	struct hart *h;
};

static int make_side(struct side *s, const char *engine)
{
	memset(s, 0, sizeof(*s));
	s->cfg = (struct vm_config){ .engine = engine, .cpus = 1, .memory = RAM_SIZE };
	s->vm.cfg = &s->cfg;
	s->vm.engine = engine_find(engine);
	if (!s->vm.engine || gmem_add_region(&s->vm.mem, RAM_BASE, RAM_SIZE) ||
	    s->vm.engine->create(&s->vm))
		return -1;
	s->h = rv_cpu_of(&s->vm)->harts[0];
	return 0;
}

static void first_diff(const struct vcpu_state *a, const struct vcpu_state *b)
{
	const uint8_t *pa = (const void *)a, *pb = (const void *)b;
	for (size_t i = 0; i < sizeof(*a); i += 8)
		if (memcmp(pa + i, pb + i, 8)) {
			uint64_t va, vb;
			memcpy(&va, pa + i, 8);
			memcpy(&vb, pb + i, 8);
			printf("  state offset %zu (x[%zu] if < 256): interp %#llx jit %#llx; pc %#llx/%#llx\n",
			       i, i / 8, (unsigned long long)va, (unsigned long long)vb,
			       (unsigned long long)a->rv.pc, (unsigned long long)b->rv.pc);
			if (!getenv("LOCKSTEP_ALL_DIFFS"))
				return;
		}
}

/* One program; returns blocks run, or -1 on a divergence. */
static uint64_t flushes;

static long run_program(uint64_t seed, long max_blocks, uint64_t *reached)
{
	struct side a, b;
	struct vcpu_state sa, sb;
	long n = 0;

	if (make_side(&a, "interp") || make_side(&b, "jit")) {
		printf("FAIL jit-lockstep: cannot create the VMs\n");
		exit(1);
	}
	/* Every other program runs with a code cache of 24 KiB, so that it
	 * fills and is flushed many times (the mapping stays as it is). */
	if (seed & 1)
		rv_cpu_of(&b.vm)->jit->size = rv_cpu_of(&b.vm)->jit->start + 24 * 1024;
	rng = seed * 0x9E3779B97F4A7C15ULL | 1;
	pending[0] = pending[1] = 0;
	gen_program(a.vm.mem.region[0].host);
	memcpy(b.vm.mem.region[0].host, a.vm.mem.region[0].host, CHECK_BYTES);
	a.vm.engine->get_vcpu(&a.vm, 0, &sa);
	sa.rv.pc = STREAM;
	sa.rv.mtvec = HANDLER;
	sa.rv.satp = 8ULL << 60 | PT_ROOT >> 12;
	/* FS Off (every F/D instruction traps), Initial or Dirty */
	if (seed % 5 == 0)
		sa.rv.mstatus &= ~MSTATUS_FS;
	else
		sa.rv.mstatus |= seed % 2 ? 1ULL << 13 : MSTATUS_FS;
	for (int r = 0; r < 32; r++)
		sa.rv.f[r] = pick(2) ? fp_special[pick(FP_SPECIAL)] : rnd();
	if (seed & 2) {  /* zeros of both signs for fmin/fmax/fsgnj/feq */
		sa.rv.f[pick(8)] = 0x8000000000000000;
		sa.rv.f[pick(8)] = 0;
		sa.rv.f[pick(8)] = 0xffffffff80000000;
		sa.rv.f[pick(8)] = 0xffffffff00000000;
	}
	sa.rv.frm = pick(4) ? 0 : pick(8);
	sa.rv.fflags = pick(2) ? 0 : pick(32);
	/* every third program as on a host without FMA: the fused
	 * operations then call fpu.c */
	jit_host_fma = seed % 3 == 2 ? 0 : -1;
	for (int r = 1; r < 32; r++)
		sa.rv.x[r] = pick(3) ? rnd() : rnd() & 0xfff;
	sa.rv.x[10] = DATA_RW;
	sa.rv.x[11] = DATA_RO;
	sa.rv.x[12] = DATA_NO;
	sa.rv.x[13] = STREAM;
	if (a.vm.engine->set_vcpu(&a.vm, 0, &sa) || b.vm.engine->set_vcpu(&b.vm, 0, &sa)) {
		printf("FAIL jit-lockstep: set_vcpu refused the start state\n");
		exit(1);
	}
	for (; n < max_blocks; n++) {
		/* mostly one block at a time; every fourth step a longer slice,
		 * in which the translator chains blocks by patched jumps */
		int64_t budget = n % 4 == 3 ? 200 : 1;
		uint64_t prev_pc = sa.rv.pc;
		hart_run(a.h, budget);
		hart_run(b.h, budget);
		if (sa.rv.pc >= STREAM && sa.rv.pc < STREAM + 4 * STREAM_WORDS &&
		    (sa.rv.pc - STREAM) / 4 > *reached)
			*reached = (sa.rv.pc - STREAM) / 4;
		memset(&sa, 0, sizeof(sa));
		memset(&sb, 0, sizeof(sb));
		a.vm.engine->get_vcpu(&a.vm, 0, &sa);
		b.vm.engine->get_vcpu(&b.vm, 0, &sb);
		/* Where a block ends is the engines' own business as long as
		 * nothing shows: a store into a page that holds decoded code
		 * ends the block, and the translator's small code cache
		 * forgets code pages when it is flushed. So the one that
		 * retired fewer instructions catches up, a block at a time. */
		for (int k = 0; k < 8 && sa.rv.instret != sb.rv.instret; k++) {
			bool a_behind = sa.rv.instret < sb.rv.instret;
			hart_run(a_behind ? a.h : b.h, 1);
			if (a_behind)
				a.vm.engine->get_vcpu(&a.vm, 0, &sa);
			else
				b.vm.engine->get_vcpu(&b.vm, 0, &sb);
		}
		/* LOCKSTEP_TRACE=N: the 60 blocks from N on */
		if (getenv("LOCKSTEP_TRACE") && n >= atol(getenv("LOCKSTEP_TRACE")) &&
		    n < atol(getenv("LOCKSTEP_TRACE")) + 60)
			printf("block %ld: pc %#llx priv %u mcause %llu mepc %#llx\n", n,
			       (unsigned long long)sa.rv.pc, sa.rv.priv, (unsigned long long)sa.rv.mcause,
			       (unsigned long long)sa.rv.mepc);
		if (memcmp(&sa, &sb, sizeof(sa))) {
			printf("FAIL jit-lockstep: seed %llu: state differs after block %ld\n",
			       (unsigned long long)seed, n);
			first_diff(&sa, &sb);
			if (prev_pc >= RAM_BASE && prev_pc < RAM_BASE + CHECK_BYTES - 32) {
				printf("  the block ran from %#llx:", (unsigned long long)prev_pc);
				for (int k = 0; k < 8; k++) {
					uint32_t w;
					memcpy(&w, (uint8_t *)a.vm.mem.region[0].host + (prev_pc - RAM_BASE) + 4 * k, 4);
					printf(" %08x", w);
				}
				printf("\n");
			}
			n = -1;
			break;
		}
		if (memcmp(a.vm.mem.region[0].host, b.vm.mem.region[0].host, CHECK_BYTES)) {
			printf("FAIL jit-lockstep: seed %llu: RAM differs after block %ld (pc %#llx)\n",
			       (unsigned long long)seed, n, (unsigned long long)sa.rv.pc);
			n = -1;
			break;
		}
	}
	if (getenv("LOCKSTEP_VERBOSE")) {
		printf("seed %llu: stream word %llu reached, priv %u, exceptions:", (unsigned long long)seed,
		       (unsigned long long)*reached, a.h->priv);
		for (int c = 0; c < 16; c++)
			printf(" %llu", (unsigned long long)a.h->stats.exceptions[c]);
		printf("; jit tlb slow paths %llu, chains %llu\n",
		       (unsigned long long)rv_cpu_of(&b.vm)->jit->tlb_misses,
		       (unsigned long long)rv_cpu_of(&b.vm)->jit->chains);
	}
	flushes += rv_cpu_of(&b.vm)->jit->flushes;
	a.vm.engine->destroy(&a.vm);
	b.vm.engine->destroy(&b.vm);
	unit_vm_free(&a.vm);
	unit_vm_free(&b.vm);
	return n;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 20;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1, words = 0;
	struct timespec t0, t;
	long programs = 0, blocks = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		uint64_t reached = 0;
		long n = run_program(seed, 20000, &reached);
		if (n < 0)
			return 1;
		words += reached;
		blocks += n;
		programs++;
		seed++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
	/* a generator whose programs trap and restart at once would prove
	 * nothing: on average they must get well into their stream */
	if (words < (uint64_t)programs * 1000) {
		printf("FAIL jit-lockstep: the programs got only %llu words into their streams\n",
		       (unsigned long long)(words / (uint64_t)programs));
		return 1;
	}
	if (programs > 1 && !flushes) {
		printf("FAIL jit-lockstep: the small code cache was never flushed\n");
		return 1;
	}
	printf("PASS jit-lockstep: %ld programs (seeds %llu-), %ld block steps identical, "
	       "%llu code cache flushes\n",
	       programs, (unsigned long long)(seed - (uint64_t)programs), blocks,
	       (unsigned long long)flushes);
	return 0;
}
