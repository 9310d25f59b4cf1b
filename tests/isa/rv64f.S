/* RV64F: single precision (unprivileged spec ch. 11): arithmetic, every
 * rounding mode (static and through frm), the five fflags, NaN boxing and
 * the canonical NaN, fmin/fmax, conversions with saturation, fclass, sign
 * injection, fused multiply-add, moves, compares, fcsr, mstatus.FS. */
#include "isa.h"
#include "fp.h"

	.text
	.globl test_main
test_main:
	/* arithmetic, exact */
	TEST_S2(1, fadd.s, S_THREE, 0, S_ONE, S_TWO)
	TEST_S2(2, fsub.s, S_MONE, 0, S_ONE, S_TWO)
	TEST_S2(3, fmul.s, 0x40c00000, 0, S_TWO, S_THREE)
	TEST_S2(4, fdiv.s, 0x3fc00000, 0, S_THREE, S_TWO)
	TEST_S1(5, fsqrt.s, S_TWO, 0, 0x40800000)
	TEST_S1(6, fsqrt.s, S_NZERO, 0, S_NZERO)		/* sqrt(-0) = -0 */
	/* 1/3 in every static rounding mode (NX) */
	TEST_S2(10, fdiv.s, 0x3eaaaaab, FF_NX, S_ONE, S_THREE, rne)
	TEST_S2(11, fdiv.s, 0x3eaaaaaa, FF_NX, S_ONE, S_THREE, rtz)
	TEST_S2(12, fdiv.s, 0x3eaaaaaa, FF_NX, S_ONE, S_THREE, rdn)
	TEST_S2(13, fdiv.s, 0x3eaaaaab, FF_NX, S_ONE, S_THREE, rup)
	TEST_S2(14, fdiv.s, 0x3eaaaaab, FF_NX, S_ONE, S_THREE, rmm)
	TEST_S2(15, fdiv.s, 0xbeaaaaab, FF_NX, S_MONE, S_THREE, rdn)
	TEST_S2(16, fdiv.s, 0xbeaaaaaa, FF_NX, S_MONE, S_THREE, rup)
	/* ties: 16777217 is halfway between 2^24 and 2^24 + 2 */
	TEST_XS(17, fcvt.s.w, 0x4b800000, FF_NX, 16777217, rne)
	TEST_XS(18, fcvt.s.w, 0x4b800001, FF_NX, 16777217, rmm)
	TEST_XS(19, fcvt.s.w, 0x4b800000, FF_NX, 16777217, rtz)
	TEST_XS(20, fcvt.s.w, 0x4b800001, FF_NX, 16777217, rup)
	TEST_XS(21, fcvt.s.w, 0xcb800001, FF_NX, -16777217, rdn)
	TEST_XS(22, fcvt.s.w, 0xcb800000, FF_NX, -16777217, rup)
	TEST_XS(23, fcvt.s.w, 0xcb800001, FF_NX, -16777217, rmm)
	TEST_XS(24, fcvt.s.w, 0x4b800002, FF_NX, 16777219, rne)	/* tie to even upward */
	/* the same through frm (dynamic rounding) */
#define DYN(n, mode, res, x) TEST_CASE(n); li t0, mode; csrw frm, t0; TEST_XS(n, fcvt.s.w, res, FF_NX, x); csrw frm, zero
	DYN(25, 0, 0x4b800000, 16777217)
	DYN(26, 1, 0x4b800000, 16777217)
	DYN(27, 2, 0xcb800001, -16777217)
	DYN(28, 3, 0x4b800001, 16777217)
	DYN(29, 4, 0x4b800001, 16777217)
	DYN(30, 3, 0xcb800000, -16777217)
	/* static rm overrides frm */
	TEST_CASE(31); li t0, 3; csrw frm, t0; TEST_XS(31, fcvt.s.w, 0x4b800000, FF_NX, 16777217, rtz); csrw frm, zero
	/* invalid frm with dynamic rounding is an illegal instruction; fcvt.s.w
	 * a0 = 1 is exact, but rm is checked anyway */
	TEST_CASE(32); li t0, 5; csrw frm, t0; csrr t1, frm; ASSERT_IMM(t1, 5)
	TRAP_BEGIN(33); li a0, 1; 98: fadd.s fa2, fa0, fa1; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TEST_CASE(34); li t0, 7; csrw frm, t0
	TRAP_BEGIN(35); 98: fmul.s fa2, fa0, fa1; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	csrw frm, zero
	/* reserved static rm 5 and 6 */
	TRAP_BEGIN(36); 98: .insn r 0x53, 5, 0, fa2, fa0, fa1; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(37); 98: .insn r 0x53, 6, 0, fa2, fa0, fa1; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)

	/* flags */
	TEST_S2(40, fmul.s, S_INF, FF_OF | FF_NX, S_MAX, S_TWO)
	TEST_S2(41, fmul.s, S_MAX, FF_OF | FF_NX, S_MAX, S_TWO, rtz)	/* overflow RTZ -> max finite */
	TEST_S2(42, fmul.s, 0xff7fffff, FF_OF | FF_NX, S_MAX, 0xc0000000, rup)
	TEST_S2(43, fmul.s, 0, FF_UF | FF_NX, S_MIN, S_MIN)
	TEST_S2(44, fmul.s, S_DENORM, FF_UF | FF_NX, S_MIN, S_MIN, rup)
	TEST_S2(45, fmul.s, 0x00400000, 0, S_MIN, S_HALF)		/* exact subnormal: no UF */
	TEST_S2(46, fdiv.s, S_INF, FF_DZ, S_ONE, 0)
	TEST_S2(47, fdiv.s, S_NINF, FF_DZ, S_ONE, S_NZERO)
	TEST_S2(48, fdiv.s, S_QNAN, FF_NV, 0, 0)
	TEST_S1(49, fsqrt.s, S_QNAN, FF_NV, S_MONE)
	TEST_S2(50, fmul.s, S_QNAN, FF_NV, S_INF, 0)
	TEST_S2(51, fsub.s, S_QNAN, FF_NV, S_INF, S_INF)
	TEST_S2(52, fadd.s, S_INF, 0, S_INF, S_ONE)
	TEST_S2(53, fadd.s, 0, 0, S_ONE, S_MONE)			/* x - x = +0 in RNE */
	TEST_S2(54, fadd.s, S_NZERO, 0, S_ONE, S_MONE, rdn)		/* ... -0 in RDN */
	/* square root in each rounding mode: sqrt(2) lies between 0x3fb504f3
	 * and 0x3fb504f4, nearer the first */
	TEST_S1(190, fsqrt.s, 0x3fb504f3, FF_NX, S_TWO, rne)
	TEST_S1(191, fsqrt.s, 0x3fb504f3, FF_NX, S_TWO, rtz)
	TEST_S1(192, fsqrt.s, 0x3fb504f3, FF_NX, S_TWO, rdn)
	TEST_S1(193, fsqrt.s, 0x3fb504f4, FF_NX, S_TWO, rup)
	TEST_S1(194, fsqrt.s, 0x3fb504f3, FF_NX, S_TWO, rmm)
	/* NaN results are canonical; signaling NaN operands raise NV */
	TEST_S2(55, fadd.s, S_QNAN, FF_NV, S_SNAN, S_ONE)
	TEST_S2(56, fadd.s, S_QNAN, 0, 0x7fc12345, S_ONE)		/* quiet payload not propagated */
	TEST_S2(57, fmul.s, S_QNAN, 0, 0xffc00000, S_ONE)		/* negative qNaN -> canonical */
	TEST_S1(58, fsqrt.s, S_QNAN, FF_NV, 0xff800001)
	/* accrued flags: fflags ORs */
	TEST_CASE(59); csrw fflags, zero; LOAD_S(fa0, S_ONE); LOAD_S(fa1, 0); fdiv.s fa2, fa0, fa1; LOAD_S(fa1, S_THREE); fdiv.s fa2, fa0, fa1; FLAGS_CHECK(FF_DZ | FF_NX)

	/* NaN boxing: a single operand whose upper 32 bits are not all ones is
	 * the canonical NaN (spec 12.2) */
	TEST_CASE(60); li t0, 0x000000003f800000; fmv.d.x fa0, t0; LOAD_S(fa1, S_ONE); csrw fflags, zero; fadd.s fa2, fa0, fa1; FLAGS_CHECK(0); RES_S(S_QNAN)
	TEST_CASE(61); li t0, 0xfffffffe3f800000; fmv.d.x fa0, t0; fsgnj.s fa2, fa0, fa0; RES_S(S_QNAN)
	TEST_CASE(62); li t0, 0x7ff0000040000000; fmv.d.x fa0, t0; fclass.s a4, fa0; ASSERT_IMM(a4, 0x200)
	TEST_CASE(63); li t0, 0x123456783f800000; fmv.d.x fa0, t0; fcvt.d.s fa2, fa0; RES_D(D_QNAN)
	/* single results are boxed */
	TEST_CASE(64); LOAD_S(fa0, S_ONE); fadd.s fa2, fa0, fa0; fmv.x.d a4, fa2; ASSERT_IMM(a4, 0xffffffff40000000)
	TEST_CASE(65); la a0, fdata; flw fa2, 0(a0); fmv.x.d a4, fa2; ASSERT_IMM(a4, 0xffffffffc0490fdb)
	TEST_CASE(66); li t0, 0x12345678; fmv.w.x fa2, t0; fmv.x.d a4, fa2; ASSERT_IMM(a4, 0xffffffff12345678)
	/* fmv.x.w: bits 31:0 sign-extended, no NaN-box check */
	TEST_CASE(67); li t0, 0x80000000; fmv.w.x fa0, t0; fmv.x.w a4, fa0; ASSERT_IMM(a4, 0xffffffff80000000)
	TEST_CASE(68); li t0, 0x000000007f800001; fmv.d.x fa0, t0; fmv.x.w a4, fa0; ASSERT_IMM(a4, 0x7f800001)
	/* fsw stores the low 32 bits, flw loads them boxed */
	TEST_CASE(69); la a0, fdata; LOAD_S(fa0, 0xdeadbeef); fsw fa0, 8(a0); lwu a4, 8(a0); ASSERT_IMM(a4, 0xdeadbeef); lw a4, 12(a0); ASSERT_IMM(a4, 0)

	/* fmin/fmax: NaN operand -> the other; both NaN -> canonical; -0 < +0 */
	TEST_S2(70, fmin.s, S_ONE, 0, S_QNAN, S_ONE)
	TEST_S2(71, fmax.s, S_ONE, 0, S_ONE, S_QNAN)
	TEST_S2(72, fmin.s, S_ONE, FF_NV, S_SNAN, S_ONE)
	TEST_S2(73, fmax.s, S_QNAN, 0, S_QNAN, 0x7fc11111)
	TEST_S2(74, fmin.s, S_QNAN, FF_NV, S_SNAN, S_QNAN)
	TEST_S2(75, fmin.s, S_NZERO, 0, 0, S_NZERO)
	TEST_S2(76, fmin.s, S_NZERO, 0, S_NZERO, 0)
	TEST_S2(77, fmax.s, 0, 0, S_NZERO, 0)
	TEST_S2(78, fmax.s, 0, 0, 0, S_NZERO)
	TEST_S2(79, fmin.s, S_MONE, 0, S_ONE, S_MONE)
	TEST_S2(80, fmax.s, S_INF, 0, S_NINF, S_INF)

	/* conversions to integer: rounding, saturation and NV (table 11.4) */
	TEST_SX1(90, fcvt.w.s, 1, 0, S_ONE)
	TEST_SX1(91, fcvt.w.s, -1, FF_NX, 0xbfc00000, rtz)	/* -1.5 */
	TEST_SX1(92, fcvt.w.s, -2, FF_NX, 0xbfc00000, rne)
	TEST_SX1(93, fcvt.w.s, -2, FF_NX, 0xbfc00000, rdn)
	TEST_SX1(94, fcvt.w.s, -1, FF_NX, 0xbfc00000, rup)
	TEST_SX1(95, fcvt.w.s, 2, FF_NX, 0x40200000, rne)	/* 2.5 -> 2 */
	TEST_SX1(96, fcvt.w.s, 3, FF_NX, 0x40200000, rmm)	/* 2.5 -> 3 */
	TEST_SX1(97, fcvt.w.s, 0x7fffffff, FF_NV, 0x4f32d05e)	/* 3e9 */
	TEST_SX1(98, fcvt.w.s, 0xffffffff80000000, FF_NV, 0xcf32d05e)
	TEST_SX1(99, fcvt.w.s, 0x7fffffff, FF_NV, S_QNAN)
	TEST_SX1(100, fcvt.w.s, 0x7fffffff, FF_NV, S_INF)
	TEST_SX1(101, fcvt.w.s, 0xffffffff80000000, FF_NV, S_NINF)
	TEST_SX1(102, fcvt.w.s, 0x7fffffff, FF_NV, 0xffc00000)	/* any NaN -> max */
	TEST_SX1(103, fcvt.w.s, 0xffffffff80000000, 0, 0xcf000000)	/* -2^31 exact */
	TEST_SX1(104, fcvt.wu.s, 0, FF_NV, S_MONE)
	TEST_SX1(105, fcvt.wu.s, 0, FF_NX, 0xbf000000, rtz)	/* -0.5 rounds to 0: inexact only */
	TEST_SX1(106, fcvt.wu.s, 0xffffffffffffffff, FF_NV, S_QNAN)	/* 2^32-1, sign-extended */
	TEST_SX1(107, fcvt.wu.s, 0xffffffffb2d05e00, 0, 0x4f32d05e)	/* 3e9 fits, sext */
	TEST_SX1(108, fcvt.wu.s, 0xffffffffffffffff, FF_NV, S_INF)
	TEST_SX1(109, fcvt.l.s, 0x7fffffffffffffff, FF_NV, S_QNAN)
	TEST_SX1(110, fcvt.l.s, 0x8000000000000000, FF_NV, S_NINF)
	TEST_SX1(111, fcvt.l.s, 3000000000, 0, 0x4f32d05e)
	TEST_SX1(112, fcvt.l.s, 0x8000000000000000, FF_NV, 0xdf000001)	/* < -2^63 */
	TEST_SX1(113, fcvt.lu.s, 0, FF_NV, S_NINF)
	TEST_SX1(114, fcvt.lu.s, 0xffffffffffffffff, FF_NV, S_INF)
	TEST_SX1(115, fcvt.lu.s, 0xffffffffffffffff, FF_NV, 0x5f800000)	/* 2^64 */
	TEST_SX1(116, fcvt.lu.s, 0x8000000000000000, 0, 0x5f000000)	/* 2^63 */
	/* integer to single */
	TEST_XS(117, fcvt.s.wu, 0x4f800000, FF_NX, 0xffffffff)		/* 2^32 - 1 rounds up */
	TEST_XS(118, fcvt.s.w, S_MONE, 0, 0xffffffff)			/* low 32 bits as signed */
	TEST_XS(119, fcvt.s.l, 0xdf000000, 0, 0x8000000000000000)
	TEST_XS(120, fcvt.s.lu, 0x5f800000, FF_NX, -1)
	TEST_XS(121, fcvt.s.w, 0, 0, 0)

	/* fclass: one bit per class */
	TEST_SX1(130, fclass.s, 1 << 0, 0, S_NINF)
	TEST_SX1(131, fclass.s, 1 << 1, 0, S_MONE)
	TEST_SX1(132, fclass.s, 1 << 2, 0, 0x80000001)
	TEST_SX1(133, fclass.s, 1 << 3, 0, S_NZERO)
	TEST_SX1(134, fclass.s, 1 << 4, 0, 0)
	TEST_SX1(135, fclass.s, 1 << 5, 0, S_DENORM)
	TEST_SX1(136, fclass.s, 1 << 6, 0, S_ONE)
	TEST_SX1(137, fclass.s, 1 << 7, 0, S_INF)
	TEST_SX1(138, fclass.s, 1 << 8, 0, S_SNAN)
	TEST_SX1(139, fclass.s, 1 << 9, 0, S_QNAN)

	/* sign injection: no flags, NaN payloads kept */
	TEST_S2(140, fsgnj.s, S_MONE, 0, S_ONE, 0xc0000000)
	TEST_S2(141, fsgnjn.s, S_ONE, 0, S_ONE, 0xc0000000)
	TEST_S2(142, fsgnjx.s, S_ONE, 0, S_MONE, 0xc0000000)
	TEST_S2(143, fsgnjx.s, S_MONE, 0, S_MONE, S_ONE)
	TEST_S2(144, fsgnjn.s, 0xff800001, 0, S_SNAN, S_SNAN)
	TEST_S2(145, fsgnj.s, 0x7fc12345, 0, 0xffc12345, 0)

	/* fused multiply-add family */
	TEST_S3(150, fmadd.s, 0x40e00000, 0, S_TWO, S_THREE, S_ONE)	/* 2*3+1 = 7 */
	TEST_S3(151, fmsub.s, 0x40a00000, 0, S_TWO, S_THREE, S_ONE)	/* 2*3-1 = 5 */
	TEST_S3(152, fnmsub.s, 0xc0a00000, 0, S_TWO, S_THREE, S_ONE)	/* -(2*3)+1 = -5 */
	TEST_S3(153, fnmadd.s, 0xc0e00000, 0, S_TWO, S_THREE, S_ONE)	/* -(2*3)-1 = -7 */
	/* single rounding: (1+2^-12)^2 - 1 = 2^-11 + 2^-24 exactly */
	TEST_S3(154, fmadd.s, 0x3a000400, 0, 0x3f800800, 0x3f800800, S_MONE)
	/* inf * 0 + qNaN raises NV (spec 11.6) */
	TEST_S3(155, fmadd.s, S_QNAN, FF_NV, S_INF, 0, S_QNAN)
	TEST_S3(156, fmadd.s, S_QNAN, FF_NV, S_INF, S_ONE, S_NINF)
	TEST_S3(157, fmadd.s, 0x3f800000, FF_NX, 0x3eaaaaab, S_THREE, 0, rdn)

	/* compares: feq quiet, flt/fle signaling */
	TEST_SX2(160, feq.s, 1, 0, S_ONE, S_ONE)
	TEST_SX2(161, feq.s, 1, 0, 0, S_NZERO)
	TEST_SX2(162, feq.s, 0, 0, S_QNAN, S_QNAN)
	TEST_SX2(163, feq.s, 0, FF_NV, S_SNAN, S_ONE)
	TEST_SX2(164, flt.s, 1, 0, S_MONE, S_ONE)
	TEST_SX2(165, flt.s, 0, 0, S_NZERO, 0)
	TEST_SX2(166, flt.s, 0, FF_NV, S_QNAN, S_ONE)
	TEST_SX2(167, fle.s, 1, 0, S_NZERO, 0)
	TEST_SX2(168, fle.s, 0, FF_NV, S_ONE, S_QNAN)
	TEST_SX2(169, fle.s, 1, 0, S_NINF, S_NINF)

	/* FP -> integer instructions with rd = x0 write nothing */
	TEST_CASE(174); LOAD_S(fa0, S_MONE); fcvt.w.s x0, fa0; fmv.x.w x0, fa0; feq.s x0, fa0, fa0; fclass.s x0, fa0; fcvt.lu.s x0, fa0
	addi a4, x0, 5; ASSERT_IMM(a4, 5); ASSERT_IMM(x0, 0)

	/* fcsr layout: frm in 7:5, fflags in 4:0; the aliases see the same bits */
	TEST_CASE(170); li t0, 0xff; csrw fcsr, t0; csrr a4, fcsr; ASSERT_IMM(a4, 0xff); csrr a4, frm; ASSERT_IMM(a4, 7); csrr a4, fflags; ASSERT_IMM(a4, 0x1f)
	TEST_CASE(171); li t0, 0x3; fsrm a4, t0; ASSERT_IMM(a4, 7); csrr a4, fcsr; ASSERT_IMM(a4, 0x7f)
	TEST_CASE(172); fsflags a4, zero; ASSERT_IMM(a4, 0x1f); csrr a4, fcsr; ASSERT_IMM(a4, 0x60)
	TEST_CASE(173); csrw fcsr, zero; csrr a4, fcsr; ASSERT_IMM(a4, 0)

	/* mstatus.FS: a write to an F register makes it Dirty (and SD); Off makes
	 * every F instruction and FP CSR access illegal (priv spec 3.1.6.6) */
	TEST_CASE(180); li t0, MSTATUS_FS; csrc mstatus, t0; li t0, MSTATUS_FS_INITIAL; csrs mstatus, t0
	fadd.s fa2, fa0, fa1; csrr a4, mstatus; srli a5, a4, 13; andi a5, a5, 3; ASSERT_IMM(a5, 3); srli a5, a4, 63; ASSERT_IMM(a5, 1)
	TEST_CASE(181); li t0, MSTATUS_FS; csrc mstatus, t0; csrr a4, mstatus; srli a5, a4, 63; ASSERT_IMM(a5, 0)
	TRAP_BEGIN(182); 98: fadd.s fa2, fa0, fa1; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(183); la a0, fdata; 98: flw fa2, 0(a0); TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(184); 98: csrr a4, fcsr; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(185); 98: fmv.x.w a4, fa0; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(186); la a0, fdata; 98: fsw fa0, 0(a0); TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(187); 98: fmadd.s fa0, fa1, fa2, fa3; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(188); 98: csrwi frm, 1; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	li t0, MSTATUS_FS_INITIAL; csrs mstatus, t0
	/* a write to fcsr (or fflags/frm) also makes FS Dirty */
	TEST_CASE(189); li t0, MSTATUS_FS; csrc mstatus, t0; li t0, MSTATUS_FS_INITIAL; csrs mstatus, t0
	csrwi fflags, 1; csrr a4, mstatus; srli a4, a4, 13; andi a4, a4, 3; ASSERT_IMM(a4, 3)
	csrw fcsr, zero
	TEST_PASS

	.data
	.align 3
fdata:	.word 0xc0490fdb, 0, 0, 0
