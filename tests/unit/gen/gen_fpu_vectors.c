/* Reference vectors for tests/unit/test_fpu.c, made on a riscv64 machine
 * (QEMU user mode will do). Every vector is one F or D instruction, run by
 * patching its encoding into a small stub: the stub loads f1-f3, a1 and frm,
 * clears fflags, executes the instruction (rd = f4 or a2, rs1 = f1 or a1,
 * rs2 = f2, rs3 = f3) and stores f4, a2 and fflags. SIGILL marks an illegal
 * encoding. The output is a C table; see gen/README for the command line.
 * The pseudo-random stream is fixed, so a rerun gives the same file. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct ctx {
	uint64_t f1, f2, f3, xin, fout, xout, flags, frm;
};

enum kind { K_FREG, K_XREG, K_ILLEGAL };

#define SENTINEL_F 0x5a5a5a5a5a5a5a5aull
#define SENTINEL_X 0xa5a5a5a5a5a5a5a5ull

static uint32_t *stub;
static unsigned stub_slot;
static sigjmp_buf ill_jmp;

static uint32_t i_type(uint32_t imm, unsigned rs1, unsigned f3, unsigned rd, unsigned opc)
{
	return imm << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opc;
}

static uint32_t s_type(uint32_t imm, unsigned rs2, unsigned rs1, unsigned f3, unsigned opc)
{
	return (imm >> 5) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (imm & 31) << 7 | opc;
}

enum { A0 = 10, A1 = 11, A2 = 12, T0 = 5 };

static void build_stub(void)
{
	uint32_t code[32];
	unsigned n = 0;
	code[n++] = i_type(0, A0, 3, 1, 0x07);       /* fld f1, 0(a0) */
	code[n++] = i_type(8, A0, 3, 2, 0x07);       /* fld f2, 8(a0) */
	code[n++] = i_type(16, A0, 3, 3, 0x07);      /* fld f3, 16(a0) */
	code[n++] = i_type(32, A0, 3, 4, 0x07);      /* fld f4, 32(a0) */
	code[n++] = i_type(24, A0, 3, A1, 0x03);     /* ld a1, 24(a0) */
	code[n++] = i_type(40, A0, 3, A2, 0x03);     /* ld a2, 40(a0) */
	code[n++] = i_type(56, A0, 3, T0, 0x03);     /* ld t0, 56(a0) */
	code[n++] = i_type(0x002, T0, 1, 0, 0x73);   /* csrw frm, t0 */
	code[n++] = i_type(0x001, 0, 1, 0, 0x73);    /* csrw fflags, x0 */
	stub_slot = n;
	code[n++] = 0x00000013;                      /* the instruction */
	code[n++] = s_type(32, 4, A0, 3, 0x27);      /* fsd f4, 32(a0) */
	code[n++] = s_type(40, A2, A0, 3, 0x23);     /* sd a2, 40(a0) */
	code[n++] = i_type(0x001, 0, 2, T0, 0x73);   /* csrr t0, fflags */
	code[n++] = s_type(48, T0, A0, 3, 0x23);     /* sd t0, 48(a0) */
	code[n++] = 0x00008067;                      /* ret */
	stub = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stub == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memcpy(stub, code, n * 4);
}

static void on_sigill(int sig)
{
	(void)sig;
	siglongjmp(ill_jmp, 1);
}

static unsigned long count;
static int scale = 1;

/* Run insn on the operands and print one table row. */
static void emit(uint32_t insn, unsigned frm, uint64_t a, uint64_t b, uint64_t c, uint64_t xin, int xdest)
{
	struct ctx cx = { a, b, c, xin, SENTINEL_F, SENTINEL_X, 0, frm };
	enum kind k;
	uint64_t out;
	stub[stub_slot] = insn;
	__builtin___clear_cache((char *)stub, (char *)(stub + 32));
	if (sigsetjmp(ill_jmp, 1)) {
		k = K_ILLEGAL;
		out = 0;
		cx.flags = 0;
	} else {
		((void (*)(struct ctx *))(void *)stub)(&cx);
		k = xdest ? K_XREG : K_FREG;
		out = xdest ? cx.xout : cx.fout;
	}
	printf("{0x%08x,%u,%u,0x%02x,0x%llx,0x%llx,0x%llx,0x%llx,0x%llx},\n", insn, frm, k,
	       (unsigned)cx.flags, (unsigned long long)a, (unsigned long long)b,
	       (unsigned long long)c, (unsigned long long)xin, (unsigned long long)out);
	count++;
}

/* ---- operands --------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static unsigned rndn(unsigned n) { return (unsigned)(rnd() % n); }

static const uint32_t special_s[] = {
	0x00000000, 0x80000000, 0x7f800000, 0xff800000,      /* zeros, infinities */
	0x7fc00000, 0xffc00000, 0x7fc12345, 0x7fffffff,      /* quiet NaNs */
	0x7f800001, 0xff800001, 0x7fa00000, 0x7fbfffff,      /* signalling NaNs */
	0x00000001, 0x80000001, 0x007fffff, 0x807fffff,      /* subnormals */
	0x00800000, 0x80800000, 0x00800001, 0x7f7fffff, 0xff7fffff, 0x7f7ffffe,
	0x3f800000, 0xbf800000, 0x3fc00000, 0xbfc00000, 0x40000000, 0x3f000000,
	0xbf000000, 0x40200000, 0xc0200000, 0x3effffff, 0x3f7fffff, 0x3f800001,
	0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x4f7fffff, 0x4f800000,  /* 2^31, 2^32 */
	0x5effffff, 0x5f000000, 0xdf000000, 0xdf000001, 0x5f7fffff, 0x5f800000,  /* 2^63, 2^64 */
	0x33800000, 0x34000000, 0x33800001, 0xb3800000,      /* 2^-24, 2^-23 */
	0x0c800000, 0x1f800000, 0x5f800000, 0x72800000,
};

static const uint64_t special_d[] = {
	0x0000000000000000, 0x8000000000000000, 0x7ff0000000000000, 0xfff0000000000000,
	0x7ff8000000000000, 0xfff8000000000000, 0x7ff8000000012345, 0x7fffffffffffffff,
	0x7ff0000000000001, 0xfff0000000000001, 0x7ff4000000000000, 0x7ff7ffffffffffff,
	0x0000000000000001, 0x8000000000000001, 0x000fffffffffffff, 0x800fffffffffffff,
	0x0010000000000000, 0x8010000000000000, 0x0010000000000001, 0x7fefffffffffffff,
	0xffefffffffffffff, 0x7feffffffffffffe,
	0x3ff0000000000000, 0xbff0000000000000, 0x3ff8000000000000, 0xbff8000000000000,
	0x4000000000000000, 0x3fe0000000000000, 0xbfe0000000000000, 0x4004000000000000,
	0xc004000000000000, 0x3fdfffffffffffff, 0x3fefffffffffffff, 0x3ff0000000000001,
	0x41dfffffffc00000, 0x41dfffffffe00000, 0x41dfffffffffffff, 0x41e0000000000000,  /* 2^31 - 1, -0.5, 2^31 */
	0xc1e0000000000000, 0xc1e0000000100000, 0xc1e0000000200000, 0xc1dfffffffffffff,
	0x41efffffffe00000, 0x41efffffffffffff, 0x41f0000000000000, 0x41effffffff00000,
	0x43dfffffffffffff, 0x43e0000000000000, 0xc3e0000000000000, 0xc3e0000000000001,
	0x43efffffffffffff, 0x43f0000000000000,
	0x3ca0000000000000, 0x3cb0000000000000, 0x3ca0000000000001, 0xbca0000000000000,
	0x36a0000000000000, 0x3690000000000000, 0x47efffffe0000000, 0x47f0000000000000,  /* float limits */
	0x380fffffffffffff, 0x3810000000000000, 0x3800000000000000, 0x36a8000000000000,
};

/* A value with a short random significand (so sums and products often land
 * on ties) and an exponent drawn from interesting ranges. */
static uint64_t shaped(int dbl)
{
	unsigned p = dbl ? 53 : 24, fb = p - 1;
	int emin = dbl ? -1022 : -126, emax = dbl ? 1023 : 127, bias = dbl ? 1023 : 127;
	int e;
	switch (rndn(6)) {
	case 0: e = (int)rndn(11) - 5; break;
	case 1: e = emin - (int)fb - 2 + (int)rndn(fb + 8); break;  /* subnormal and just above */
	case 2: e = emax - (int)rndn(4); break;
	case 3: { static const int ints[] = { 30, 31, 32, 52, 53, 62, 63, 64, 23, 24 };
		e = ints[rndn(10)] - (int)rndn(2); break; }
	case 4: e = (int)rndn(60) - 30; break;
	default: e = emin + (int)rndn((unsigned)(emax - emin)); break;
	}
	uint64_t frac;
	unsigned len = rndn(4) == 0 ? fb : rndn(fb + 1);   /* significant fraction bits */
	frac = rnd() & (fb == 52 ? (1ull << 52) - 1 : (1ull << fb) - 1);
	if (len < fb)
		frac &= ~((1ull << (fb - len)) - 1);
	if (rndn(8) == 0)
		frac = ((1ull << fb) - 1) & ~((1ull << rndn(fb)) - 1);  /* run of ones */
	uint64_t sign = rndn(2);
	uint64_t v;
	if (e < emin) {
		/* subnormal: value = (1.frac) * 2^e shifted into the fraction */
		int sh = emin - e;
		if (sh > (int)p)
			sh = (int)p;
		v = ((frac | (1ull << fb)) >> sh);
	} else {
		v = ((uint64_t)(e + bias) << fb) | frac;
	}
	return v | sign << (dbl ? 63 : 31);
}

static uint64_t operand(int dbl)
{
	switch (rndn(10)) {
	case 0: case 1: case 2:
		return dbl ? special_d[rndn(sizeof special_d / 8)] : special_s[rndn(sizeof special_s / 4)];
	case 3:
		return dbl ? rnd() : (uint32_t)rnd();
	default:
		return shaped(dbl);
	}
}

/* A single in an f register: NaN-boxed, sometimes not. */
static uint64_t freg(int dbl)
{
	uint64_t v = operand(dbl);
	if (dbl)
		return v;
	if (rndn(40) == 0)
		return rndn(2) ? v : (rnd() & 0xffffffff00000000ull & ~(1ull << 63 >> rndn(32))) | v;
	return 0xffffffff00000000ull | v;
}

static uint64_t int_operand(void)
{
	static const uint64_t sp[] = {
		0, 1, (uint64_t)-1, 2, 3, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
		0xffffffff80000000, 0x7fffffffffffffff, 0x8000000000000000, 0xfffffffffffffffe,
		0x1000001, 0x1000003, 0xffffff, 0x20000000000001, 0x20000000000003,
		0x7fffff80, 0x7fffffc0, 0xffffff80, 0xffffffffffffff80, 0x7ffffffffffffc00,
		0x7ffffffffffffe00, 0x7ffffffffffffdff,
	};
	switch (rndn(4)) {
	case 0: return sp[rndn(sizeof sp / 8)];
	case 1: return rnd();
	case 2: return rnd() >> rndn(64);
	default: {
		/* short runs of bits at a random place: ties when converting */
		uint64_t m = (rnd() & 0xff) | 1;
		uint64_t v = m << rndn(56);
		return rndn(2) ? 0 - v : v;
	}
	}
}

/* ---- instructions ------------------------------------------------------ */

static uint32_t op_fp(unsigned f5, unsigned fmt, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd)
{
	return f5 << 27 | fmt << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | 0x53;
}

static const unsigned rms[] = { 0, 1, 2, 3, 4 };

int main(int argc, char **argv)
{
	/* Optional: a seed and a count multiplier, for one-off larger runs. The
	 * committed table uses neither. */
	if (argc > 1)
		rng_state = strtoull(argv[1], NULL, 0) | 1;
	if (argc > 2)
		scale = atoi(argv[2]);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigill;
	sigaction(SIGILL, &sa, NULL);
	build_stub();

	printf("/* Generated by tests/unit/gen/gen_fpu_vectors.c under qemu-riscv64; do not edit. */\n");
	for (int dbl = 0; dbl <= 1; dbl++) {
		/* fadd fsub fmul fdiv */
		for (unsigned f5 = 0; f5 < 4; f5++)
			for (unsigned i = 0; i < 5; i++)
				for (int n = 0; n < scale * 160; n++)
					emit(op_fp(f5, dbl, 2, 1, rms[i], 4), 0, freg(dbl), freg(dbl), 0, 0, 0);
		/* fsqrt */
		for (unsigned i = 0; i < 5; i++)
			for (int n = 0; n < scale * 70; n++) {
				uint64_t a = freg(dbl);
				if (rndn(2))   /* mostly positive */
					a &= dbl ? ~(1ull << 63) : ~(1ull << 31);
				emit(op_fp(0x0b, dbl, 0, 1, rms[i], 4), 0, a, 0, 0, 0, 0);
			}
		/* fmadd fmsub fnmsub fnmadd */
		for (unsigned o = 0; o < 4; o++)
			for (unsigned i = 0; i < 5; i++)
				for (int n = 0; n < scale * 120; n++) {
					uint32_t insn = 3u << 27 | (unsigned)dbl << 25 | 2u << 20 | 1u << 15 |
							rms[i] << 12 | 4u << 7 | (0x43 + 4 * o);
					uint64_t a = freg(dbl), b = freg(dbl), c = freg(dbl);
					if (rndn(6) == 0) {
						/* c close to -a*b: cancellation */
						if (dbl) {
							double x, y, z;
							memcpy(&x, &a, 8); memcpy(&y, &b, 8);
							z = -(x * y);
							memcpy(&c, &z, 8);
						} else {
							float x, y, z;
							uint32_t ua = (uint32_t)a, ub = (uint32_t)b, uc;
							memcpy(&x, &ua, 4); memcpy(&y, &ub, 4);
							z = -(x * y);
							memcpy(&uc, &z, 4);
							c = 0xffffffff00000000ull | uc;
						}
					}
					emit(insn, 0, a, b, c, 0, 0);
				}
		/* fsgnj fsgnjn fsgnjx, fmin fmax */
		for (unsigned f3 = 0; f3 < 3; f3++)
			for (int n = 0; n < scale * 60; n++)
				emit(op_fp(0x04, dbl, 2, 1, f3, 4), 0, freg(dbl), freg(dbl), 0, 0, 0);
		for (unsigned f3 = 0; f3 < 2; f3++)
			for (int n = 0; n < scale * 150; n++) {
				uint64_t a = freg(dbl), b = rndn(5) ? freg(dbl) : a ^ (dbl ? 1ull << 63 : 1ull << 31);
				emit(op_fp(0x05, dbl, 2, 1, f3, 4), 0, a, b, 0, 0, 0);
			}
		/* fle flt feq */
		for (unsigned f3 = 0; f3 < 3; f3++)
			for (int n = 0; n < scale * 150; n++) {
				uint64_t a = freg(dbl), b = rndn(4) ? freg(dbl) : rndn(2) ? a : a ^ (dbl ? 1ull << 63 : 1ull << 31);
				emit(op_fp(0x14, dbl, 2, 1, f3, A2), 0, a, b, 0, 0, 1);
			}
		/* fclass */
		for (unsigned i = 0; i < (dbl ? sizeof special_d / 8 : sizeof special_s / 4); i++)
			emit(op_fp(0x1c, dbl, 0, 1, 1, A2), 0, dbl ? special_d[i] : 0xffffffff00000000ull | special_s[i], 0, 0, 0, 1);
		for (int n = 0; n < scale * 60; n++)
			emit(op_fp(0x1c, dbl, 0, 1, 1, A2), 0, freg(dbl), 0, 0, 0, 1);
		/* fcvt.{w,wu,l,lu}.fmt */
		for (unsigned t = 0; t < 4; t++)
			for (unsigned i = 0; i < 5; i++)
				for (int n = 0; n < scale * 90; n++)
					emit(op_fp(0x18, dbl, t, 1, rms[i], A2), 0, freg(dbl), 0, 0, 0, 1);
		/* fcvt.fmt.{w,wu,l,lu} */
		for (unsigned t = 0; t < 4; t++)
			for (unsigned i = 0; i < 5; i++)
				for (int n = 0; n < scale * 50; n++)
					emit(op_fp(0x1a, dbl, t, A1, rms[i], 4), 0, 0, 0, 0, int_operand(), 0);
		/* fcvt.s.d, fcvt.d.s */
		for (unsigned i = 0; i < 5; i++)
			for (int n = 0; n < scale * (dbl ? 20 : 150); n++) {
				uint64_t a;
				if (dbl) {
					a = freg(0);
				} else {
					a = operand(1);
					if (rndn(2)) {   /* near the single range: overflow, subnormals */
						double v; float f = 0;
						uint32_t u = (uint32_t)shaped(0);
						memcpy(&f, &u, 4);
						v = (double)f * (1.0 + (double)(rnd() & 0xffffff) * 0x1p-52);
						memcpy(&a, &v, 8);
						a ^= rnd() & 0x1fffffff & (rndn(2) ? 0 : ~0ull);
					}
				}
				emit(op_fp(0x08, dbl, dbl ? 0 : 1, 1, rms[i], 4), 0, a, 0, 0, 0, 0);
			}
		/* fmv.x.{w,d}, fmv.{w,d}.x */
		for (int n = 0; n < scale * 30; n++) {
			uint64_t v = rndn(3) ? freg(dbl) : rnd();
			emit(op_fp(0x1c, dbl, 0, 1, 0, A2), 0, v, 0, 0, 0, 1);
			emit(op_fp(0x1e, dbl, 0, A1, 0, 4), 0, 0, 0, 0, rnd() >> rndn(2) * 32, 0);
		}
		/* the dynamic rounding mode, legal and not */
		for (unsigned frm = 0; frm < 8; frm++)
			for (int n = 0; n < scale * 25; n++) {
				emit(op_fp(0x00, dbl, 2, 1, 7, 4), frm, freg(dbl), freg(dbl), 0, 0, 0);
				emit(op_fp(0x18, dbl, rndn(4), 1, 7, A2), frm, freg(dbl), 0, 0, 0, 1);
				emit(op_fp(0x1a, dbl, rndn(4), A1, 7, 4), frm, 0, 0, 0, int_operand(), 0);
				emit(0x18000000u | (unsigned)dbl << 25 | 2u << 20 | 1u << 15 | 7u << 12 | 4u << 7 | 0x43,
				     frm, freg(dbl), freg(dbl), freg(dbl), 0, 0);
			}
		/* reserved static rounding modes and other bad encodings */
		for (unsigned rm = 5; rm <= 6; rm++) {
			emit(op_fp(0x00, dbl, 2, 1, rm, 4), 0, freg(dbl), freg(dbl), 0, 0, 0);
			emit(op_fp(0x0b, dbl, 0, 1, rm, 4), 0, freg(dbl), 0, 0, 0, 0);
			emit(op_fp(0x18, dbl, 0, 1, rm, A2), 0, freg(dbl), 0, 0, 0, 1);
			emit(op_fp(0x1a, dbl, 0, A1, rm, 4), 0, 0, 0, 0, 5, 0);
			emit(op_fp(0x08, dbl, dbl ? 0 : 1, 1, rm, 4), 0, freg(!dbl), 0, 0, 0, 0);
			emit(0x18000000u | (unsigned)dbl << 25 | 2u << 20 | 1u << 15 | rm << 12 | 4u << 7 | 0x43,
			     0, freg(dbl), freg(dbl), freg(dbl), 0, 0);
		}
		emit(op_fp(0x0b, dbl, 1, 1, 0, 4), 0, freg(dbl), 0, 0, 0, 0);       /* fsqrt rs2 != 0 */
		emit(op_fp(0x04, dbl, 2, 1, 3, 4), 0, freg(dbl), freg(dbl), 0, 0, 0);  /* fsgnj funct3 3 */
		emit(op_fp(0x05, dbl, 2, 1, 2, 4), 0, freg(dbl), freg(dbl), 0, 0, 0);  /* fmin funct3 2 */
		emit(op_fp(0x14, dbl, 2, 1, 3, A2), 0, freg(dbl), freg(dbl), 0, 0, 1);
		emit(op_fp(0x1c, dbl, 0, 1, 2, A2), 0, freg(dbl), 0, 0, 0, 1);
		emit(op_fp(0x1c, dbl, 1, 1, 0, A2), 0, freg(dbl), 0, 0, 0, 1);
		emit(op_fp(0x1e, dbl, 0, A1, 1, 4), 0, 0, 0, 0, 7, 0);
		emit(op_fp(0x18, dbl, 4, 1, 0, A2), 0, freg(dbl), 0, 0, 0, 1);
		emit(op_fp(0x08, dbl, 3, 1, 0, 4), 0, freg(dbl), 0, 0, 0, 0);
		emit(op_fp(0x06, dbl, 2, 1, 0, 4), 0, freg(dbl), freg(dbl), 0, 0, 0);
	}
	/* Results at the edges of the exponent range: a product or quotient
	 * whose exact value sits just below or above the smallest normal (where
	 * tininess after rounding matters) or the largest finite value. */
	for (int dbl = 0; dbl <= 1; dbl++) {
		unsigned fb = dbl ? 52 : 23;
		int emin = dbl ? -1022 : -126, emax = dbl ? 1023 : 127, bias = dbl ? 1023 : 127;
		for (int n = 0; n < scale * 400; n++) {
			static const unsigned ops[] = { 2, 2, 3, 3, 0, 1 };   /* mul div add sub */
			unsigned f5 = ops[rndn(6)], rm = rms[rndn(5)];
			int top = rndn(4) == 0;                               /* overflow edge */
			int e1 = (int)rndn(41) - 20;
			int target = top ? emax : emin;
			int e2 = (f5 == 3 ? e1 - target : target - e1) + (int)rndn(3) - 1;
			uint64_t fr[2];
			for (int k = 0; k < 2; k++) {
				uint64_t all = (1ull << fb) - 1;
				switch (rndn(5)) {
				case 0: fr[k] = 0; break;
				case 1: fr[k] = all; break;
				case 2: fr[k] = all & ~((1ull << rndn(fb)) - 1); break;   /* 1.11..100 */
				case 3: fr[k] = 1ull << rndn(fb); break;
				default: fr[k] = rnd() & all & ~((1ull << rndn(fb)) - 1); break;
				}
			}
			if (e2 < emin || e2 > emax)
				continue;
			uint64_t a = ((uint64_t)(e1 + bias) << fb) | fr[0];
			uint64_t b = ((uint64_t)(e2 + bias) << fb) | fr[1];
			if (f5 <= 1) {
				/* sums near 2^emin: both operands tiny; near the top: big */
				a = ((uint64_t)((top ? emax - (int)rndn(2) : emin + (int)rndn(2)) + bias) << fb) | fr[0];
				b = ((uint64_t)((top ? emax - (int)rndn(3) : emin) + bias) << fb) | fr[1];
				if (!top && rndn(2))
					b = fr[1] >> rndn(4);                   /* subnormal */
			}
			int sh = dbl ? 63 : 31;
			a |= (uint64_t)rndn(2) << sh;
			b |= (uint64_t)rndn(2) << sh;
			if (!dbl) {
				a |= 0xffffffff00000000ull;
				b |= 0xffffffff00000000ull;
			}
			if (f5 == 2 && rndn(3) == 0) {
				/* the same as a fused operation with an addend of 0 or tiny */
				uint64_t c = rndn(2) ? (uint64_t)rndn(2) << sh : (uint64_t)1 << rndn(3);
				if (!dbl)
					c |= 0xffffffff00000000ull;
				emit(3u << 27 | (unsigned)dbl << 25 | 2u << 20 | 1u << 15 | rm << 12 | 4u << 7 |
				     (0x43 + 4 * rndn(4)), 0, a, b, c, 0, 0);
			} else {
				emit(op_fp(f5, dbl, 2, 1, rm, 4), 0, a, b, 0, 0, 0);
			}
		}
		/* float -> integer at the rounding boundaries of each width */
		for (int n = 0; n < scale * 200; n++) {
			static const int ebits[] = { 31, 32, 63, 64, 0, -1 };
			int e = ebits[rndn(6)] - (int)rndn(2);
			uint64_t frac = rndn(2) ? ((1ull << fb) - 1) & ~((1ull << rndn(fb)) - 1) : rnd() & ((1ull << fb) - 1);
			uint64_t a = ((uint64_t)(e + bias) << fb) | frac | ((uint64_t)rndn(2) << (dbl ? 63 : 31));
			if (!dbl)
				a |= 0xffffffff00000000ull;
			emit(op_fp(0x18, dbl, rndn(4), 1, rms[rndn(5)], A2), 0, a, 0, 0, 0, 1);
		}
	}
	fprintf(stderr, "%lu vectors\n", count);
	return 0;
}
