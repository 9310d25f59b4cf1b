/* RISC-V F and D extensions (unprivileged spec chapters 11 "F" and 12 "D";
 * section numbers below are from the 20191213 edition and later).
 *
 * Arithmetic runs on the host FPU where the host's IEEE-754 behaviour is the
 * same as RISC-V's: +, -, *, /, sqrt and fused multiply-add in the four
 * directed/nearest-even rounding modes, with the host's sticky flags mapped to
 * fflags. x86 and RISC-V agree on those results bit for bit (both detect
 * tininess after rounding) except for NaNs, which we replace by the canonical
 * NaN. Everything else is done on the bit patterns: conversions to and from
 * integers (x86 answers 0x80000000... for NaN and out-of-range values, and C
 * makes such a conversion undefined), comparisons, min/max, sign injection and
 * fclass. The host has no round-to-nearest-ties-to-max-magnitude mode, so RMM
 * computes in a wider format with round-to-odd and rounds that result in
 * software (round_pack()); a square root is never a tie, so fsqrt in RMM is
 * fsqrt in RNE.
 *
 * Tested bit for bit, fflags included, against instructions executed by
 * qemu-riscv64: tests/unit/test_fpu.c and tests/unit/gen/.
 *
 * The compiler must not move floating-point operations across the reads and
 * writes of the host control/status register, nor fold them: operands pass
 * through empty asm statements (opaque values) after the rounding mode is set
 * and results pass through one before the flags are read. The file never
 * relies on -frounding-math. */
#include <fenv.h>
#include <math.h>
#include <string.h>

#include "../common.h"
#include "fpu.h"

/* GCC ignores this pragma (and warns), which is why the OPAQUE barriers
 * below exist; clang honours it. */
#if defined(__clang__)
#pragma STDC FENV_ACCESS ON
#endif

enum { RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM, RM_DYN = 7 };

#define FF_NX 0x01u
#define FF_UF 0x02u
#define FF_OF 0x04u
#define FF_DZ 0x08u
#define FF_NV 0x10u

#define F32_CANON_NAN 0x7fc00000u
#define F64_CANON_NAN 0x7ff8000000000000ull
#define F32_BOX 0xffffffff00000000ull

/* ---- bit-level helpers ---------------------------------------------------- */

static inline float f32_of(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t bits_f32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
static inline double f64_of(uint64_t b) { double d; memcpy(&d, &b, 8); return d; }
static inline uint64_t bits_f64(double d) { uint64_t b; memcpy(&b, &d, 8); return b; }

static inline bool f32_is_nan(uint32_t b) { return (b & 0x7fffffffu) > 0x7f800000u; }
static inline bool f64_is_nan(uint64_t b) { return (b & ~(1ull << 63)) > 0x7ff0000000000000ull; }
static inline bool f32_is_snan(uint32_t b) { return f32_is_nan(b) && !(b & 0x00400000u); }
static inline bool f64_is_snan(uint64_t b) { return f64_is_nan(b) && !(b & 0x0008000000000000ull); }

/* 12.2: a single operand whose upper 32 bits are not all ones reads as the
 * canonical NaN. */
static inline uint32_t rd_s(const struct rv_fpu *fpu, unsigned r)
{
	uint64_t v = fpu->f[r];
	return (v >> 32) == 0xffffffffu ? (uint32_t)v : F32_CANON_NAN;
}

static inline void wr_s(struct rv_fpu *fpu, unsigned r, uint32_t b)
{
	fpu->f[r] = F32_BOX | b;
}

/* ---- host floating-point environment ------------------------------------ */

/* Opaque copies: the compiler can neither fold through them nor move the
 * arithmetic between them across the environment accesses. */
#if defined(__x86_64__)
#define OPAQUE(v) __asm__ volatile("" : "+x"(v))
#else
#define OPAQUE(v) __asm__ volatile("" : "+m"(v))
#endif

/* The host thread runs in round-to-nearest (C's default; nothing else in
 * Trevo changes it) and every function here leaves it so. Two ways to run an
 * operation:
 *  - host_begin/host_end: clear the sticky flags, set the mode, read the
 *    flags back. Exact, but reading the flags waits for the FPU to drain
 *    (stmxcsr costs ~30 cycles, more than the arithmetic).
 *  - host_mode/host_mode_end: set the mode only. Enough when the guest's
 *    fflags already has NX and the result is finite, nonzero, of magnitude
 *    above the smallest normal and below the largest finite: then no flag
 *    but NX can have been raised (NV always gives a NaN, DZ an infinity, OF
 *    an infinity or the largest finite value, UF a result at or below the
 *    smallest normal), so there is nothing to collect. */
#if defined(__x86_64__)
/* SSE MXCSR: flags in bits 0-5 (IE DE ZE OE UE PE), exception masks in
 * bits 7-12, rounding control bits 13-14; DAZ (bit 6) and FTZ (bit 15) off.
 * All scalar float/double arithmetic on x86-64 uses SSE, so it is the only
 * state we touch; writing it whole also clears the flags and costs little. */
#define MXCSR_DEFAULT 0x1f80u

static const uint32_t mxcsr_rc[4] = {
	[RM_RNE] = 0x0000, [RM_RTZ] = 0x6000, [RM_RDN] = 0x2000, [RM_RUP] = 0x4000,
};

static inline void mxcsr_write(uint32_t v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static inline void host_begin(unsigned rm)
{
	mxcsr_write(MXCSR_DEFAULT | mxcsr_rc[rm]);
}

/* IE DE ZE OE UE PE -> NV - DZ OF UF NX (the denormal-operand flag has no
 * RISC-V counterpart). */
static inline uint32_t host_end(unsigned rm)
{
	uint32_t m;
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	if (rm != RM_RNE)
		mxcsr_write(MXCSR_DEFAULT);
	return FPU_FFLAGS_OF_MXCSR(m);
}

static inline void host_mode(unsigned rm)
{
	if (rm != RM_RNE)
		mxcsr_write(MXCSR_DEFAULT | mxcsr_rc[rm]);
}

static inline void host_mode_end(unsigned rm)
{
	if (rm != RM_RNE)
		mxcsr_write(MXCSR_DEFAULT);
}
#else
static const int fenv_rc[4] = {
	[RM_RNE] = FE_TONEAREST, [RM_RTZ] = FE_TOWARDZERO,
	[RM_RDN] = FE_DOWNWARD, [RM_RUP] = FE_UPWARD,
};

static inline void host_mode(unsigned rm)
{
	if (rm != RM_RNE)
		fesetround(fenv_rc[rm]);
}

static inline void host_mode_end(unsigned rm)
{
	if (rm != RM_RNE)
		fesetround(FE_TONEAREST);
}

static inline void host_begin(unsigned rm)
{
	host_mode(rm);
	feclearexcept(FE_ALL_EXCEPT);
}

static inline uint32_t host_end(unsigned rm)
{
	int x = fetestexcept(FE_ALL_EXCEPT);
	uint32_t ff = 0;
	if (x & FE_INVALID) ff |= FF_NV;
	if (x & FE_DIVBYZERO) ff |= FF_DZ;
	if (x & FE_OVERFLOW) ff |= FF_OF;
	if (x & FE_UNDERFLOW) ff |= FF_UF;
	if (x & FE_INEXACT) ff |= FF_NX;
	host_mode_end(rm);
	return ff;
}
#endif

/* Results that cannot have raised anything but NX (see above). */
static inline bool s_ordinary(uint32_t b)
{
	return (b & 0x7fffffffu) - 0x00800001u < 0x7f7fffffu - 0x00800001u;
}

static inline bool d_ordinary(uint64_t b)
{
	return (b & ~(1ull << 63)) - 0x0010000000000001ull < 0x7fefffffffffffffull - 0x0010000000000001ull;
}

/* ---- software rounding ---------------------------------------------------- */

/* Round sig >> drop to an integer in mode rm for a value of sign `neg`.
 * Sets *inexact when bits were dropped. drop may be 0..127. */
static inline uint64_t round_shift(uint64_t sig, unsigned drop, bool neg, unsigned rm, bool *inexact)
{
	uint64_t kept, half, sticky;
	if (drop == 0) {
		*inexact = false;
		return sig;
	} else if (drop < 64) {
		kept = sig >> drop;
		half = (sig >> (drop - 1)) & 1;
		sticky = sig & ((1ull << (drop - 1)) - 1);
	} else if (drop == 64) {
		kept = 0;
		half = sig >> 63;
		sticky = sig & ~(1ull << 63);
	} else {
		kept = 0;
		half = 0;
		sticky = sig;
	}
	*inexact = half || sticky;
	switch (rm) {
	case RM_RNE: return kept + (half && (sticky || (kept & 1)));
	case RM_RTZ: return kept;
	case RM_RDN: return kept + (neg && *inexact);
	case RM_RUP: return kept + (!neg && *inexact);
	default:     return kept + half;   /* RMM */
	}
}

struct fmt {
	unsigned p;     /* significand bits including the hidden one */
	int emin, emax;
	uint64_t max_finite, inf;
	unsigned bits;  /* 32 or 64: position of the sign */
};

static const struct fmt fmt_s = { 24, -126, 127, 0x7f7fffffull, 0x7f800000ull, 32 };
static const struct fmt fmt_d = { 53, -1022, 1023, 0x7fefffffffffffffull, 0x7ff0000000000000ull, 64 };

/* Round the nonzero finite value sig * 2^(exp - 63) (sig's bit 63 set; any
 * sticky information already ORed into its low bits) to format f in mode rm.
 * Tininess is detected after rounding, as the F chapter requires. */
static uint64_t round_pack(const struct fmt *f, bool neg, int exp, uint64_t sig, unsigned rm, uint32_t *ff)
{
	uint64_t sign = (uint64_t)neg << (f->bits - 1);
	unsigned fbits = f->p - 1;
	bool inexact;
	uint64_t m;

	if (exp >= f->emin) {
		m = round_shift(sig, 64 - f->p, neg, rm, &inexact);
		if (m >> f->p) {
			m >>= 1;
			exp++;
		}
		if (exp > f->emax) {
			*ff |= FF_OF | FF_NX;
			bool to_inf = rm == RM_RNE || rm == RM_RMM ||
				      (rm == RM_RUP && !neg) || (rm == RM_RDN && neg);
			return sign | (to_inf ? f->inf : f->max_finite);
		}
		if (inexact)
			*ff |= FF_NX;
		return sign | ((uint64_t)(exp - f->emin + 1) << fbits) | (m & ((1ull << fbits) - 1));
	}
	/* Tiny if the result rounded with an unbounded exponent is below
	 * 2^emin, i.e. unless rounding to p bits carries up to 2^emin. */
	bool tiny = true;
	if (exp == f->emin - 1) {
		uint64_t u = round_shift(sig, 64 - f->p, neg, rm, &inexact);
		tiny = !(u >> f->p);
	}
	unsigned drop = 64 - f->p + (unsigned)(f->emin - exp);
	if (drop > 127)
		drop = 127;
	m = round_shift(sig, drop, neg, rm, &inexact);
	if (inexact)
		*ff |= FF_NX | (tiny ? FF_UF : 0);
	/* m == 2^(p-1) lands on the smallest normal: same encoding. */
	return sign | m;
}

/* Integer magnitude to format f. Exact or rounded, never over/underflows. */
static uint64_t int_to_float(const struct fmt *f, bool neg, uint64_t mag, unsigned rm, uint32_t *ff)
{
	if (mag == 0)
		return 0;
	int lz = __builtin_clzll(mag);
	return round_pack(f, neg, 63 - lz, mag << lz, rm, ff);
}

/* Split a finite nonzero value into sign, exponent of the leading bit, and
 * significand normalised to bit 63. */
static void f64_unpack(uint64_t b, bool *neg, int *exp, uint64_t *sig)
{
	int e = (int)((b >> 52) & 0x7ff);
	uint64_t m = b & ((1ull << 52) - 1);
	*neg = b >> 63;
	if (e == 0) {
		int lz = __builtin_clzll(m);
		*sig = m << lz;
		*exp = -1022 - (lz - 11);
	} else {
		*sig = (m | (1ull << 52)) << 11;
		*exp = e - 1023;
	}
}

static void f32_unpack(uint32_t b, bool *neg, int *exp, uint64_t *sig)
{
	int e = (int)((b >> 23) & 0xff);
	uint64_t m = b & ((1u << 23) - 1);
	*neg = b >> 31;
	if (e == 0) {
		int lz = __builtin_clzll(m);
		*sig = m << lz;
		*exp = -126 - (lz - 40);
	} else {
		*sig = (m | (1u << 23)) << 40;
		*exp = e - 127;
	}
}

/* ---- RMM: wide computation with round-to-odd, then round_pack ------------ */

/* Rounding to odd into a format with at least p + 2 bits and then rounding
 * that to p bits gives the correctly rounded result in any mode; the wide
 * formats (double for single, binary128 for double) also cover the narrow
 * format's whole exponent range, subnormals included, and more. */
enum wide_op { W_ADD, W_SUB, W_MUL, W_DIV, W_FMA };

static uint32_t s_rmm(enum wide_op op, uint32_t a, uint32_t b, uint32_t c, uint32_t *ff)
{
	double x = f32_of(a), y = f32_of(b), z = f32_of(c), r;
	host_begin(RM_RTZ);
	OPAQUE(x); OPAQUE(y); OPAQUE(z);
	switch (op) {
	case W_ADD: r = x + y; break;
	case W_SUB: r = x - y; break;
	case W_MUL: r = x * y; break;
	case W_DIV: r = x / y; break;
	default:    r = fma(x, y, z); break;
	}
	OPAQUE(r);
	uint32_t hf = host_end(RM_RTZ);
	/* Widening a signalling NaN happened before the flags were cleared. */
	if (f32_is_snan(a) || f32_is_snan(b) || (op == W_FMA && f32_is_snan(c)))
		hf |= FF_NV;
	*ff |= hf & (FF_NV | FF_DZ);
	uint64_t rb = bits_f64(r);
	if (f64_is_nan(rb))
		return F32_CANON_NAN;
	if ((rb & ~(1ull << 63)) == 0x7ff0000000000000ull || (rb << 1) == 0)
		return (uint32_t)(rb >> 32) & 0xff800000u;   /* infinity or zero, sign kept */
	if (hf & FF_NX)
		rb |= 1;
	bool neg; int exp; uint64_t sig;
	f64_unpack(rb, &neg, &exp, &sig);
	return (uint32_t)round_pack(&fmt_s, neg, exp, sig, RM_RMM, ff);
}

/* IEEE binary128: GCC's __float128 on x86-64 (libgcc's soft-fp, which
 * honours and raises the MXCSR rounding mode and flags), long double on the
 * 64-bit Linux ABIs whose long double is binary128. Read back as two
 * little-endian words. */
#if defined(__SIZEOF_FLOAT128__)
typedef __float128 f128;
#else
#include <float.h>
_Static_assert(LDBL_MANT_DIG == 113, "RMM needs a binary128 type");
typedef long double f128;
#endif
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "binary128 word order");

static uint64_t d_rmm(enum wide_op op, uint64_t a, uint64_t b, uint64_t c, uint32_t *ff)
{
	f128 x = f64_of(a), y = f64_of(b), z = f64_of(c), r;
	host_begin(RM_RTZ);
	OPAQUE(x); OPAQUE(y); OPAQUE(z);
	switch (op) {
	case W_ADD: r = x + y; break;
	case W_SUB: r = x - y; break;
	case W_MUL: r = x * y; break;
	case W_DIV: r = x / y; break;
	default:    r = x * y + z; break;  /* the product is exact in binary128 */
	}
	OPAQUE(r);
	uint32_t hf = host_end(RM_RTZ);
	if (f64_is_snan(a) || f64_is_snan(b) || (op == W_FMA && f64_is_snan(c)))
		hf |= FF_NV;
	*ff |= hf & (FF_NV | FF_DZ);
	uint64_t w[2];
	memcpy(w, &r, 16);
	uint64_t lo = w[0], hi = w[1];
	bool neg = hi >> 63;
	int ex = (int)((hi >> 48) & 0x7fff);
	uint64_t frac_hi = hi & ((1ull << 48) - 1);
	if (ex == 0x7fff) {
		if (frac_hi | lo)
			return F64_CANON_NAN;
		return ((uint64_t)neg << 63) | fmt_d.inf;
	}
	if (ex == 0 && !(frac_hi | lo))
		return (uint64_t)neg << 63;
	/* Never subnormal in binary128: products and quotients of doubles stay
	 * far above 2^-16382. */
	uint64_t sig = (1ull << 63) | (frac_hi << 15) | (lo >> 49);
	if ((lo & ((1ull << 49) - 1)) || (hf & FF_NX))
		sig |= 1;
	return round_pack(&fmt_d, neg, ex - 16383, sig, RM_RMM, ff);
}

/* ---- float -> integer ------------------------------------------------------ */

enum icvt { CVT_W, CVT_WU, CVT_L, CVT_LU };

/* 11.7: NaN and out-of-range inputs raise NV (and not NX) and give the
 * table's saturated value; a NaN counts as positive. */
static uint64_t to_int(bool nan, bool inf, bool neg, int exp, uint64_t sig, enum icvt t, unsigned rm, uint32_t *ff)
{
	static const uint64_t hi_limit[4] = { 0x7fffffff, 0xffffffff, INT64_MAX, UINT64_MAX };
	static const uint64_t lo_limit[4] = { 0x80000000ull, 0, 1ull << 63, 0 };  /* magnitude */
	static const uint64_t sat_pos[4] = { 0x7fffffff, UINT64_MAX, INT64_MAX, UINT64_MAX };
	static const uint64_t sat_neg[4] = { 0xffffffff80000000ull, 0, 1ull << 63, 0 };
	uint64_t mag = 0;
	bool inexact = false;

	if (nan)
		goto invalid_pos;
	if (inf || exp > 63)
		goto invalid;
	if (sig) {
		mag = round_shift(sig, (unsigned)(63 - exp) > 127 ? 127 : (unsigned)(63 - exp), neg, rm, &inexact);
	}
	if (neg ? mag > lo_limit[t] : mag > hi_limit[t])
		goto invalid;
	if (inexact)
		*ff |= FF_NX;
	if (neg)
		mag = 0 - mag;
	if (t == CVT_W || t == CVT_WU)
		mag = (uint64_t)(int64_t)(int32_t)(uint32_t)mag;
	return mag;
invalid:
	*ff |= FF_NV;
	return neg ? sat_neg[t] : sat_pos[t];
invalid_pos:
	*ff |= FF_NV;
	return sat_pos[t];
}

static uint64_t s_to_int(uint32_t b, enum icvt t, unsigned rm, uint32_t *ff)
{
	bool neg = b >> 31;
	int exp = 0;
	uint64_t sig = 0;
	bool nan = f32_is_nan(b), inf = (b & 0x7fffffffu) == 0x7f800000u;
	if (!nan && !inf && (b & 0x7fffffffu))
		f32_unpack(b, &neg, &exp, &sig);
	return to_int(nan, inf, neg, exp, sig, t, rm, ff);
}

static uint64_t d_to_int(uint64_t b, enum icvt t, unsigned rm, uint32_t *ff)
{
	bool neg = b >> 63;
	int exp = 0;
	uint64_t sig = 0;
	bool nan = f64_is_nan(b), inf = (b & ~(1ull << 63)) == fmt_d.inf;
	if (!nan && !inf && (b << 1))
		f64_unpack(b, &neg, &exp, &sig);
	return to_int(nan, inf, neg, exp, sig, t, rm, ff);
}

/* Integer source of fcvt.{s,d}.{w,wu,l,lu} as sign and magnitude. */
static bool int_source(uint64_t v, unsigned kind, uint64_t *mag)
{
	switch (kind) {
	case CVT_W: {
		int32_t s = (int32_t)(uint32_t)v;
		*mag = s < 0 ? 0 - (uint64_t)(int64_t)s : (uint64_t)s;
		return s < 0;
	}
	case CVT_WU:
		*mag = (uint32_t)v;
		return false;
	case CVT_L:
		*mag = (int64_t)v < 0 ? 0 - v : v;
		return (int64_t)v < 0;
	default:
		*mag = v;
		return false;
	}
}

/* ---- classification, comparison, min/max --------------------------------- */

static uint64_t fclass_bits(bool neg, unsigned e, bool frac_zero, bool quiet_bit, unsigned emax_field)
{
	if (e == emax_field) {
		if (frac_zero)
			return neg ? 1u << 0 : 1u << 7;
		return quiet_bit ? 1u << 9 : 1u << 8;
	}
	if (e == 0) {
		if (frac_zero)
			return neg ? 1u << 3 : 1u << 4;
		return neg ? 1u << 2 : 1u << 5;
	}
	return neg ? 1u << 1 : 1u << 6;
}

/* Total order on non-NaN bit patterns where -0 < +0, as fmin/fmax need
 * (11.6). */
static inline int64_t ord_key32(uint32_t b)
{
	return (b >> 31) ? -(int64_t)(b & 0x7fffffffu) - 1 : (int64_t)b;
}

static inline int64_t ord_key64(uint64_t b)
{
	/* One below the sign-magnitude value for negatives keeps -0 < +0. */
	return (b >> 63) ? -(int64_t)(b & ~(1ull << 63)) - 1 : (int64_t)b;
}

/* ---- the instruction ------------------------------------------------------- */

#define OPC_FMADD 0x43
#define OPC_FMSUB 0x47
#define OPC_FNMSUB 0x4b
#define OPC_FNMADD 0x4f
#define OPC_OP_FP 0x53

static inline uint32_t s_nan_fix(uint32_t r)
{
	return f32_is_nan(r) ? F32_CANON_NAN : r;
}

static inline uint64_t d_nan_fix(uint64_t r)
{
	return f64_is_nan(r) ? F64_CANON_NAN : r;
}

/* The host and RISC-V differ on fma(0, inf, qNaN): RISC-V raises NV (11.6). */
static inline bool fma_inf_zero_s(uint32_t a, uint32_t b)
{
	uint32_t ma = a & 0x7fffffffu, mb = b & 0x7fffffffu;
	return (ma == 0 && mb == 0x7f800000u) || (mb == 0 && ma == 0x7f800000u);
}

static inline bool fma_inf_zero_d(uint64_t a, uint64_t b)
{
	uint64_t ma = a << 1, mb = b << 1, inf = fmt_d.inf << 1;
	return (ma == 0 && mb == inf) || (mb == 0 && ma == inf);
}

static int exec_fma(struct rv_fpu *fpu, uint32_t insn, unsigned rm)
{
	unsigned rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31, rs3 = insn >> 27;
	unsigned opc = insn & 0x7f;
	/* fmsub: a*b-c; fnmsub: -(a*b)+c; fnmadd: -(a*b)-c. Negating an
	 * operand is exact, so one fused operation still rounds once. */
	bool neg_prod = opc == OPC_FNMSUB || opc == OPC_FNMADD;
	bool neg_add = opc == OPC_FMSUB || opc == OPC_FNMADD;
	uint32_t ff = 0;

	if (((insn >> 25) & 3) == 0) {
		uint32_t a = rd_s(fpu, rs1), b = rd_s(fpu, rs2), c = rd_s(fpu, rs3), r;
		uint32_t na = a ^ (neg_prod ? 0x80000000u : 0), nc = c ^ (neg_add ? 0x80000000u : 0);
		if (rm == RM_RMM) {
			r = s_rmm(W_FMA, na, b, nc, &ff);
		} else {
			float x = f32_of(na), y = f32_of(b), z = f32_of(nc), v;
			if (fpu->fflags & FF_NX) {
				host_mode(rm);
				OPAQUE(x); OPAQUE(y); OPAQUE(z);
				v = fmaf(x, y, z);
				OPAQUE(v);
				host_mode_end(rm);
				if (likely(s_ordinary(bits_f32(v)))) {
					wr_s(fpu, rd, bits_f32(v));
					return 0;
				}
			}
			host_begin(rm);
			OPAQUE(x); OPAQUE(y); OPAQUE(z);
			v = fmaf(x, y, z);
			OPAQUE(v);
			ff = host_end(rm);
			r = bits_f32(v);
		}
		if (f32_is_nan(r)) {
			r = F32_CANON_NAN;
			if (f32_is_nan(c) && fma_inf_zero_s(a, b))
				ff |= FF_NV;
		}
		wr_s(fpu, rd, r);
	} else {
		uint64_t a = fpu->f[rs1], b = fpu->f[rs2], c = fpu->f[rs3], r;
		uint64_t na = a ^ (neg_prod ? 1ull << 63 : 0), nc = c ^ (neg_add ? 1ull << 63 : 0);
		if (rm == RM_RMM) {
			r = d_rmm(W_FMA, na, b, nc, &ff);
		} else {
			double x = f64_of(na), y = f64_of(b), z = f64_of(nc), v;
			if (fpu->fflags & FF_NX) {
				host_mode(rm);
				OPAQUE(x); OPAQUE(y); OPAQUE(z);
				v = fma(x, y, z);
				OPAQUE(v);
				host_mode_end(rm);
				if (likely(d_ordinary(bits_f64(v)))) {
					fpu->f[rd] = bits_f64(v);
					return 0;
				}
			}
			host_begin(rm);
			OPAQUE(x); OPAQUE(y); OPAQUE(z);
			v = fma(x, y, z);
			OPAQUE(v);
			ff = host_end(rm);
			r = bits_f64(v);
		}
		if (f64_is_nan(r)) {
			r = F64_CANON_NAN;
			if (f64_is_nan(c) && fma_inf_zero_d(a, b))
				ff |= FF_NV;
		}
		fpu->f[rd] = r;
	}
	fpu->fflags |= ff;
	return 0;
}

static inline float s_op(unsigned f5, float x, float y)
{
	switch (f5) {
	case 0x00: return x + y;
	case 0x01: return x - y;
	case 0x02: return x * y;
	case 0x03: return x / y;
	default:   return sqrtf(x);
	}
}

static inline double d_op(unsigned f5, double x, double y)
{
	switch (f5) {
	case 0x00: return x + y;
	case 0x01: return x - y;
	case 0x02: return x * y;
	case 0x03: return x / y;
	default:   return sqrt(x);
	}
}

/* fadd/fsub/fmul/fdiv/fsqrt in a host-supported rounding mode. nx_set:
 * the guest's fflags already has NX. */
static uint32_t s_arith(unsigned f5, uint32_t a, uint32_t b, unsigned rm, bool nx_set, uint32_t *ff)
{
	float x = f32_of(a), y = f32_of(b), v;
	if (nx_set) {
		host_mode(rm);
		OPAQUE(x); OPAQUE(y);
		v = s_op(f5, x, y);
		OPAQUE(v);
		host_mode_end(rm);
		if (likely(s_ordinary(bits_f32(v))))
			return bits_f32(v);
	}
	host_begin(rm);
	OPAQUE(x); OPAQUE(y);
	v = s_op(f5, x, y);
	OPAQUE(v);
	*ff = host_end(rm);
	return s_nan_fix(bits_f32(v));
}

static uint64_t d_arith(unsigned f5, uint64_t a, uint64_t b, unsigned rm, bool nx_set, uint32_t *ff)
{
	double x = f64_of(a), y = f64_of(b), v;
	if (nx_set) {
		host_mode(rm);
		OPAQUE(x); OPAQUE(y);
		v = d_op(f5, x, y);
		OPAQUE(v);
		host_mode_end(rm);
		if (likely(d_ordinary(bits_f64(v))))
			return bits_f64(v);
	}
	host_begin(rm);
	OPAQUE(x); OPAQUE(y);
	v = d_op(f5, x, y);
	OPAQUE(v);
	*ff = host_end(rm);
	return d_nan_fix(bits_f64(v));
}

static inline int resolve_rm(const struct rv_fpu *fpu, unsigned rm)
{
	if (rm == RM_DYN)
		rm = fpu->frm;
	return rm <= RM_RMM ? (int)rm : -1;
}

int rv_fpu_exec(struct rv_fpu *fpu, uint64_t *x, uint32_t insn)
{
	unsigned opc = insn & 0x7f, rd = (insn >> 7) & 31, funct3 = (insn >> 12) & 7;
	unsigned rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
	unsigned fmt = (insn >> 25) & 3, f5 = insn >> 27;
	uint32_t ff = 0;
	int rm;

	if (fmt > 1)            /* H and Q are not implemented */
		return -1;
	if (opc != OPC_OP_FP) {
		if (opc != OPC_FMADD && opc != OPC_FMSUB && opc != OPC_FNMSUB && opc != OPC_FNMADD)
			return -1;
		if ((rm = resolve_rm(fpu, funct3)) < 0)
			return -1;
		return exec_fma(fpu, insn, (unsigned)rm);
	}

	switch (f5) {
	case 0x00: case 0x01: case 0x02: case 0x03: case 0x0b:  /* add sub mul div sqrt */
		if (f5 == 0x0b && rs2 != 0)
			return -1;
		if ((rm = resolve_rm(fpu, funct3)) < 0)
			return -1;
		if (fmt == 0) {
			uint32_t a = rd_s(fpu, rs1), b = rd_s(fpu, rs2), r;
			if (rm != RM_RMM || f5 == 0x0b)
				/* A square root is never a tie (its exact value has
				 * at most p bits or is irrational), so RMM = RNE. */
				r = s_arith(f5, a, b, rm == RM_RMM ? RM_RNE : (unsigned)rm, fpu->fflags & FF_NX, &ff);
			else
				r = s_rmm((enum wide_op)f5, a, b, 0, &ff);
			wr_s(fpu, rd, r);
		} else {
			uint64_t a = fpu->f[rs1], b = fpu->f[rs2];
			if (rm != RM_RMM || f5 == 0x0b)
				fpu->f[rd] = d_arith(f5, a, b, rm == RM_RMM ? RM_RNE : (unsigned)rm, fpu->fflags & FF_NX, &ff);
			else
				fpu->f[rd] = d_rmm((enum wide_op)f5, a, b, 0, &ff);
		}
		break;

	case 0x04:  /* fsgnj, fsgnjn, fsgnjx */
		if (funct3 > 2)
			return -1;
		if (fmt == 0) {
			uint32_t a = rd_s(fpu, rs1), b = rd_s(fpu, rs2), s;
			s = funct3 == 0 ? b : funct3 == 1 ? ~b : a ^ b;
			wr_s(fpu, rd, (a & 0x7fffffffu) | (s & 0x80000000u));
		} else {
			uint64_t a = fpu->f[rs1], b = fpu->f[rs2], s, m = 1ull << 63;
			s = funct3 == 0 ? b : funct3 == 1 ? ~b : a ^ b;
			fpu->f[rd] = (a & ~m) | (s & m);
		}
		return 0;

	case 0x05:  /* fmin, fmax: IEEE 754-2019 minimumNumber/maximumNumber */
		if (funct3 > 1)
			return -1;
		if (fmt == 0) {
			uint32_t a = rd_s(fpu, rs1), b = rd_s(fpu, rs2), r;
			bool na = f32_is_nan(a), nb = f32_is_nan(b);
			if (f32_is_snan(a) || f32_is_snan(b))
				ff = FF_NV;
			if (na && nb)
				r = F32_CANON_NAN;
			else if (na)
				r = b;
			else if (nb)
				r = a;
			else
				r = (ord_key32(a) < ord_key32(b)) == (funct3 == 0) ? a : b;
			wr_s(fpu, rd, r);
		} else {
			uint64_t a = fpu->f[rs1], b = fpu->f[rs2], r;
			bool na = f64_is_nan(a), nb = f64_is_nan(b);
			if (f64_is_snan(a) || f64_is_snan(b))
				ff = FF_NV;
			if (na && nb)
				r = F64_CANON_NAN;
			else if (na)
				r = b;
			else if (nb)
				r = a;
			else
				r = (ord_key64(a) < ord_key64(b)) == (funct3 == 0) ? a : b;
			fpu->f[rd] = r;
		}
		break;

	case 0x08:  /* fcvt.s.d (fmt S, rs2 1), fcvt.d.s (fmt D, rs2 0) */
		if (rs2 != (fmt == 0 ? 1u : 0u))
			return -1;
		if ((rm = resolve_rm(fpu, funct3)) < 0)
			return -1;
		if (fmt == 0) {
			uint64_t a = fpu->f[rs1];
			uint32_t r;
			if (f64_is_nan(a)) {
				r = F32_CANON_NAN;
				ff = f64_is_snan(a) ? FF_NV : 0;
			} else if (rm != RM_RMM) {
				double v = f64_of(a);
				float o;
				host_mode((unsigned)rm);
				OPAQUE(v);
				o = (float)v;
				OPAQUE(o);
				host_mode_end((unsigned)rm);
				if (likely(s_ordinary(bits_f32(o)))) {
					/* Only NX is possible, and widening back is exact. */
					ff = (double)o != v ? FF_NX : 0;
				} else {
					host_begin((unsigned)rm);
					OPAQUE(v);
					o = (float)v;
					OPAQUE(o);
					ff = host_end((unsigned)rm);
				}
				r = bits_f32(o);
			} else if ((a << 1) == 0 || (a << 1) == (fmt_d.inf << 1)) {
				r = (uint32_t)(a >> 32) & 0xff800000u;
			} else {
				bool neg; int exp; uint64_t sig;
				f64_unpack(a, &neg, &exp, &sig);
				r = (uint32_t)round_pack(&fmt_s, neg, exp, sig, RM_RMM, &ff);
			}
			wr_s(fpu, rd, r);
		} else {
			/* Widening is exact: only a signalling NaN raises a flag. */
			uint32_t a = rd_s(fpu, rs1);
			if (f32_is_nan(a)) {
				fpu->f[rd] = F64_CANON_NAN;
				ff = f32_is_snan(a) ? FF_NV : 0;
			} else {
				fpu->f[rd] = bits_f64((double)f32_of(a));
			}
		}
		break;

	case 0x14: {  /* fle, flt, feq */
		bool nan, snan, lt = false, eq = false;
		if (funct3 > 2)
			return -1;
		if (fmt == 0) {
			uint32_t a = rd_s(fpu, rs1), b = rd_s(fpu, rs2);
			nan = f32_is_nan(a) || f32_is_nan(b);
			snan = f32_is_snan(a) || f32_is_snan(b);
			if (!nan) {
				/* -0 == +0, so compare magnitudes with the sign
				 * only deciding between nonzero values. */
				eq = a == b || ((a | b) & 0x7fffffffu) == 0;
				lt = !eq && ord_key32(a) < ord_key32(b);
			}
		} else {
			uint64_t a = fpu->f[rs1], b = fpu->f[rs2];
			nan = f64_is_nan(a) || f64_is_nan(b);
			snan = f64_is_snan(a) || f64_is_snan(b);
			if (!nan) {
				eq = a == b || ((a | b) << 1) == 0;
				lt = !eq && ord_key64(a) < ord_key64(b);
			}
		}
		/* 11.8: feq is a quiet comparison, flt/fle signalling. */
		if (funct3 == 2 ? snan : nan)
			ff = FF_NV;
		x[rd] = funct3 == 2 ? eq : funct3 == 1 ? lt : (lt || eq);
		break;
	}

	case 0x18:  /* fcvt.{w,wu,l,lu}.{s,d} */
		if (rs2 > 3)
			return -1;
		if ((rm = resolve_rm(fpu, funct3)) < 0)
			return -1;
		if (fmt == 0)
			x[rd] = s_to_int(rd_s(fpu, rs1), (enum icvt)rs2, (unsigned)rm, &ff);
		else
			x[rd] = d_to_int(fpu->f[rs1], (enum icvt)rs2, (unsigned)rm, &ff);
		break;

	case 0x1a: {  /* fcvt.{s,d}.{w,wu,l,lu} */
		uint64_t mag;
		bool neg;
		if (rs2 > 3)
			return -1;
		if ((rm = resolve_rm(fpu, funct3)) < 0)
			return -1;
		neg = int_source(x[rs1], rs2, &mag);
		if (fmt == 0)
			wr_s(fpu, rd, (uint32_t)int_to_float(&fmt_s, neg, mag, (unsigned)rm, &ff));
		else
			fpu->f[rd] = int_to_float(&fmt_d, neg, mag, (unsigned)rm, &ff);
		break;
	}

	case 0x1c:  /* fmv.x.w / fmv.x.d (funct3 0), fclass (funct3 1) */
		if (rs2 != 0 || funct3 > 1)
			return -1;
		if (funct3 == 0) {
			/* 12.2: transfers ignore the NaN box. */
			x[rd] = fmt == 0 ? (uint64_t)(int64_t)(int32_t)(uint32_t)fpu->f[rs1] : fpu->f[rs1];
		} else if (fmt == 0) {
			uint32_t a = rd_s(fpu, rs1);
			x[rd] = fclass_bits(a >> 31, (a >> 23) & 0xff, !(a & 0x7fffffu), a & 0x400000u, 0xff);
		} else {
			uint64_t a = fpu->f[rs1];
			x[rd] = fclass_bits(a >> 63, (a >> 52) & 0x7ff, !(a & ((1ull << 52) - 1)),
					    a & (1ull << 51), 0x7ff);
		}
		return 0;

	case 0x1e:  /* fmv.w.x / fmv.d.x */
		if (rs2 != 0 || funct3 != 0)
			return -1;
		if (fmt == 0)
			wr_s(fpu, rd, (uint32_t)x[rs1]);
		else
			fpu->f[rd] = x[rs1];
		return 0;

	default:
		return -1;
	}
	fpu->fflags |= ff;
	return 0;
}
