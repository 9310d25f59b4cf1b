/* Macros for the F and D tests. Operands go through integer registers as raw
 * bits (fmv.w.x / fmv.d.x); fflags is cleared before and checked after each
 * case. An optional last argument is the static rounding mode. */
#ifndef TREVO_ISA_FP_H
#define TREVO_ISA_FP_H

#define FLAGS_CHECK(f) csrr t4, fflags; ASSERT_IMM(t4, f)
/* single results: fmv.x.w sign-extends bit 31 (spec 11.7) */
#define RES_S(exp) fmv.x.w a4, fa2; li t6, exp; sext.w t6, t6; ASSERT_EQ(a4, t6)
#define RES_D(exp) fmv.x.d a4, fa2; ASSERT_IMM(a4, exp)

#define LOAD_S(fr, v) li t0, v; fmv.w.x fr, t0
#define LOAD_D(fr, v) li t0, v; fmv.d.x fr, t0

#define TEST_S3(n, insn, res, flags, a, b, c, ...) TEST_CASE(n); LOAD_S(fa0, a); LOAD_S(fa1, b); LOAD_S(fa3, c); \
	csrw fflags, zero; insn fa2, fa0, fa1, fa3, ## __VA_ARGS__; FLAGS_CHECK(flags); RES_S(res)
#define TEST_S2(n, insn, res, flags, a, b, ...) TEST_CASE(n); LOAD_S(fa0, a); LOAD_S(fa1, b); \
	csrw fflags, zero; insn fa2, fa0, fa1, ## __VA_ARGS__; FLAGS_CHECK(flags); RES_S(res)
#define TEST_S1(n, insn, res, flags, a, ...) TEST_CASE(n); LOAD_S(fa0, a); \
	csrw fflags, zero; insn fa2, fa0, ## __VA_ARGS__; FLAGS_CHECK(flags); RES_S(res)
/* FP -> integer register (fcvt.*.s, fclass, compares) */
#define TEST_SX1(n, insn, res, flags, a, ...) TEST_CASE(n); LOAD_S(fa0, a); \
	csrw fflags, zero; insn a4, fa0, ## __VA_ARGS__; FLAGS_CHECK(flags); ASSERT_IMM(a4, res)
#define TEST_SX2(n, insn, res, flags, a, b) TEST_CASE(n); LOAD_S(fa0, a); LOAD_S(fa1, b); \
	csrw fflags, zero; insn a4, fa0, fa1; FLAGS_CHECK(flags); ASSERT_IMM(a4, res)
/* integer -> single */
#define TEST_XS(n, insn, res, flags, x, ...) TEST_CASE(n); li a0, x; \
	csrw fflags, zero; insn fa2, a0, ## __VA_ARGS__; FLAGS_CHECK(flags); RES_S(res)

#define TEST_D3(n, insn, res, flags, a, b, c, ...) TEST_CASE(n); LOAD_D(fa0, a); LOAD_D(fa1, b); LOAD_D(fa3, c); \
	csrw fflags, zero; insn fa2, fa0, fa1, fa3, ## __VA_ARGS__; FLAGS_CHECK(flags); RES_D(res)
#define TEST_D2(n, insn, res, flags, a, b, ...) TEST_CASE(n); LOAD_D(fa0, a); LOAD_D(fa1, b); \
	csrw fflags, zero; insn fa2, fa0, fa1, ## __VA_ARGS__; FLAGS_CHECK(flags); RES_D(res)
#define TEST_D1(n, insn, res, flags, a, ...) TEST_CASE(n); LOAD_D(fa0, a); \
	csrw fflags, zero; insn fa2, fa0, ## __VA_ARGS__; FLAGS_CHECK(flags); RES_D(res)
#define TEST_DX1(n, insn, res, flags, a, ...) TEST_CASE(n); LOAD_D(fa0, a); \
	csrw fflags, zero; insn a4, fa0, ## __VA_ARGS__; FLAGS_CHECK(flags); ASSERT_IMM(a4, res)
#define TEST_DX2(n, insn, res, flags, a, b) TEST_CASE(n); LOAD_D(fa0, a); LOAD_D(fa1, b); \
	csrw fflags, zero; insn a4, fa0, fa1; FLAGS_CHECK(flags); ASSERT_IMM(a4, res)
#define TEST_XD(n, insn, res, flags, x, ...) TEST_CASE(n); li a0, x; \
	csrw fflags, zero; insn fa2, a0, ## __VA_ARGS__; FLAGS_CHECK(flags); RES_D(res)
/* double -> single and single -> double */
#define TEST_DS(n, insn, res, flags, a, ...) TEST_CASE(n); LOAD_D(fa0, a); \
	csrw fflags, zero; insn fa2, fa0, ## __VA_ARGS__; FLAGS_CHECK(flags); RES_S(res)
#define TEST_SD(n, insn, res, flags, a, ...) TEST_CASE(n); LOAD_S(fa0, a); \
	csrw fflags, zero; insn fa2, fa0, ## __VA_ARGS__; FLAGS_CHECK(flags); RES_D(res)

/* single constants */
#define S_ONE   0x3f800000
#define S_TWO   0x40000000
#define S_THREE 0x40400000
#define S_HALF  0x3f000000
#define S_MONE  0xbf800000
#define S_INF   0x7f800000
#define S_NINF  0xff800000
#define S_QNAN  0x7fc00000
#define S_SNAN  0x7f800001
#define S_MAX   0x7f7fffff
#define S_MIN   0x00800000
#define S_DENORM 0x00000001
#define S_NZERO 0x80000000
/* double constants */
#define D_ONE   0x3ff0000000000000
#define D_TWO   0x4000000000000000
#define D_THREE 0x4008000000000000
#define D_FOUR  0x4010000000000000
#define D_HALF  0x3fe0000000000000
#define D_MONE  0xbff0000000000000
#define D_INF   0x7ff0000000000000
#define D_NINF  0xfff0000000000000
#define D_QNAN  0x7ff8000000000000
#define D_SNAN  0x7ff0000000000001
#define D_MAX   0x7fefffffffffffff
#define D_MIN   0x0010000000000000
#define D_DENORM 0x0000000000000001
#define D_NZERO 0x8000000000000000

#endif
