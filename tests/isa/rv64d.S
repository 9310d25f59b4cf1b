/* RV64D: double precision (unprivileged spec ch. 12): arithmetic, rounding
 * modes, fflags, canonical NaN, fmin/fmax, conversions (to/from integers and
 * single), fclass, sign injection, fused multiply-add, moves, compares. */
#include "isa.h"
#include "fp.h"

	.text
	.globl test_main
test_main:
	TEST_D2(1, fadd.d, D_THREE, 0, D_ONE, D_TWO)
	TEST_D2(2, fsub.d, D_MONE, 0, D_ONE, D_TWO)
	TEST_D2(3, fmul.d, 0x4018000000000000, 0, D_TWO, D_THREE)
	TEST_D2(4, fdiv.d, 0x3ff8000000000000, 0, D_THREE, D_TWO)
	TEST_D1(5, fsqrt.d, D_TWO, 0, D_FOUR)
	TEST_D1(6, fsqrt.d, D_NZERO, 0, D_NZERO)
	TEST_D2(7, fadd.d, 0x3fd3333333333334, FF_NX, 0x3fb999999999999a, 0x3fc999999999999a)	/* 0.1 + 0.2 */
	/* 1/3 in every rounding mode */
	TEST_D2(10, fdiv.d, 0x3fd5555555555555, FF_NX, D_ONE, D_THREE, rne)
	TEST_D2(11, fdiv.d, 0x3fd5555555555555, FF_NX, D_ONE, D_THREE, rtz)
	TEST_D2(12, fdiv.d, 0x3fd5555555555555, FF_NX, D_ONE, D_THREE, rdn)
	TEST_D2(13, fdiv.d, 0x3fd5555555555556, FF_NX, D_ONE, D_THREE, rup)
	TEST_D2(14, fdiv.d, 0x3fd5555555555555, FF_NX, D_ONE, D_THREE, rmm)
	TEST_D2(15, fdiv.d, 0xbfd5555555555556, FF_NX, D_MONE, D_THREE, rdn)
	/* ties: 2^53 + 1 */
	TEST_XD(16, fcvt.d.l, 0x4340000000000000, FF_NX, 0x20000000000001, rne)
	TEST_XD(17, fcvt.d.l, 0x4340000000000001, FF_NX, 0x20000000000001, rmm)
	TEST_XD(18, fcvt.d.l, 0x4340000000000001, FF_NX, 0x20000000000001, rup)
	TEST_XD(19, fcvt.d.l, 0x4340000000000000, FF_NX, 0x20000000000001, rtz)
	TEST_XD(20, fcvt.d.l, 0xc340000000000001, FF_NX, -0x20000000000001, rdn)
	TEST_XD(21, fcvt.d.l, 0xc340000000000000, FF_NX, -0x20000000000001, rup)
	/* through frm */
	TEST_CASE(22); li t0, 4; csrw frm, t0; TEST_XD(22, fcvt.d.l, 0x4340000000000001, FF_NX, 0x20000000000001); csrw frm, zero
	TEST_CASE(23); li t0, 2; csrw frm, t0; TEST_D2(23, fdiv.d, 0xbfd5555555555556, FF_NX, D_MONE, D_THREE); csrw frm, zero
	TEST_CASE(24); li t0, 3; csrw frm, t0; TEST_D2(24, fdiv.d, 0x3fd5555555555556, FF_NX, D_ONE, D_THREE); csrw frm, zero
	TEST_CASE(25); li t0, 6; csrw frm, t0
	TRAP_BEGIN(26); 98: fadd.d fa2, fa0, fa1; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	csrw frm, zero
	/* exact int -> double needs no rounding mode check beyond frm validity */
	TEST_XD(27, fcvt.d.w, 0xc1e0000000000000, 0, 0x80000000)
	TEST_XD(28, fcvt.d.wu, 0x41efffffffe00000, 0, 0xffffffff)
	TEST_XD(29, fcvt.d.lu, 0x43f0000000000000, FF_NX, -1)

	/* flags */
	TEST_D2(40, fmul.d, D_INF, FF_OF | FF_NX, D_MAX, D_TWO)
	TEST_D2(41, fmul.d, D_MAX, FF_OF | FF_NX, D_MAX, D_TWO, rdn)
	TEST_D2(42, fmul.d, 0, FF_UF | FF_NX, D_MIN, D_MIN)
	TEST_D2(43, fmul.d, 0x0008000000000000, 0, D_MIN, D_HALF)
	TEST_D2(44, fdiv.d, D_INF, FF_DZ, D_ONE, 0)
	TEST_D2(45, fdiv.d, D_NINF, FF_DZ, D_MONE, 0)
	TEST_D2(46, fdiv.d, D_QNAN, FF_NV, D_INF, D_INF)
	TEST_D1(47, fsqrt.d, D_QNAN, FF_NV, D_MONE)
	TEST_D2(48, fmul.d, D_QNAN, FF_NV, D_NINF, 0)
	TEST_D2(49, fadd.d, D_QNAN, FF_NV, D_SNAN, D_ONE)
	TEST_D2(50, fadd.d, D_QNAN, 0, 0xfff8000000012345, D_ONE)
	TEST_D2(51, fsub.d, D_NZERO, 0, D_ONE, D_ONE, rdn)

	/* fmin/fmax */
	TEST_D2(60, fmin.d, D_ONE, 0, D_QNAN, D_ONE)
	TEST_D2(61, fmax.d, D_ONE, FF_NV, D_SNAN, D_ONE)
	TEST_D2(62, fmax.d, D_QNAN, 0, D_QNAN, D_QNAN)
	TEST_D2(63, fmin.d, D_QNAN, FF_NV, D_SNAN, D_SNAN)
	TEST_D2(64, fmin.d, D_NZERO, 0, 0, D_NZERO)
	TEST_D2(65, fmax.d, 0, 0, D_NZERO, 0)
	TEST_D2(66, fmax.d, D_NZERO, 0, D_NZERO, D_NZERO)
	TEST_D2(67, fmin.d, D_NINF, 0, D_NINF, D_MONE)

	/* to integer */
	TEST_DX1(70, fcvt.w.d, 2, FF_NX, 0x4004000000000000)		/* 2.5 RNE */
	TEST_DX1(71, fcvt.w.d, 3, FF_NX, 0x4004000000000000, rmm)
	TEST_DX1(72, fcvt.w.d, -2, FF_NX, 0xbff8000000000000, rdn)	/* -1.5 */
	TEST_DX1(73, fcvt.w.d, -1, FF_NX, 0xbff8000000000000, rtz)
	TEST_DX1(74, fcvt.w.d, 0x7fffffff, FF_NV, 0x41e65a0bc0000000)	/* 3e9 */
	TEST_DX1(75, fcvt.w.d, 0xffffffff80000000, FF_NV, 0xc1e65a0bc0000000)
	TEST_DX1(76, fcvt.w.d, 0xffffffff80000000, FF_NX, 0xc1e0000000100000, rtz)	/* -2^31 - 0.5 */
	TEST_DX1(77, fcvt.w.d, 0xffffffff80000000, FF_NV, 0xc1e0000000200000)	/* -2^31 - 1 */
	TEST_DX1(78, fcvt.w.d, 0x7fffffff, FF_NV, D_QNAN)
	TEST_DX1(79, fcvt.wu.d, 0xffffffffb2d05e00, 0, 0x41e65a0bc0000000)
	TEST_DX1(80, fcvt.wu.d, 0, FF_NV, D_MONE)
	TEST_DX1(81, fcvt.wu.d, 0xffffffffffffffff, FF_NV, D_SNAN)
	TEST_DX1(82, fcvt.l.d, 0x7fffffffffffffff, FF_NV, 0x43e0000000000000)	/* 2^63 */
	TEST_DX1(83, fcvt.l.d, 0x8000000000000000, 0, 0xc3e0000000000000)	/* -2^63 exact */
	TEST_DX1(84, fcvt.l.d, 0x7fffffffffffffff, FF_NV, D_INF)
	TEST_DX1(85, fcvt.l.d, 0x8000000000000000, FF_NV, D_NINF)
	TEST_DX1(86, fcvt.l.d, 0x7fffffffffffffff, FF_NV, D_QNAN)
	TEST_DX1(87, fcvt.lu.d, 0x8000000000000000, 0, 0x43e0000000000000)
	TEST_DX1(88, fcvt.lu.d, 0xffffffffffffffff, FF_NV, 0x43f0000000000000)	/* 2^64 */
	TEST_DX1(89, fcvt.lu.d, 0, FF_NV, D_NINF)
	TEST_DX1(90, fcvt.lu.d, 0, FF_NX, 0xbfe0000000000000, rtz)	/* -0.5 */
	TEST_DX1(91, fcvt.lu.d, 1, FF_NX, 0x3fe0000000000000, rup)

	/* single <-> double */
	TEST_SD(100, fcvt.d.s, D_ONE, 0, S_ONE)
	TEST_SD(101, fcvt.d.s, D_QNAN, FF_NV, S_SNAN)
	TEST_SD(102, fcvt.d.s, D_QNAN, 0, 0xffc12345)
	TEST_SD(103, fcvt.d.s, D_NINF, 0, S_NINF)
	TEST_SD(104, fcvt.d.s, 0x36a0000000000000, 0, S_DENORM)	/* 2^-149 exact */
	TEST_DS(105, fcvt.s.d, S_ONE, 0, D_ONE)
	TEST_DS(106, fcvt.s.d, 0x3eaaaaab, FF_NX, 0x3fd5555555555555)
	TEST_DS(107, fcvt.s.d, 0x3eaaaaaa, FF_NX, 0x3fd5555555555555, rtz)
	TEST_DS(108, fcvt.s.d, S_INF, FF_OF | FF_NX, 0x7e37e43c8800759c)	/* 1e300 */
	TEST_DS(109, fcvt.s.d, S_MAX, FF_OF | FF_NX, 0x7e37e43c8800759c, rtz)
	TEST_DS(110, fcvt.s.d, 0, FF_UF | FF_NX, 0x01a56e1fc2f8f359)	/* 1e-300 */
	TEST_DS(111, fcvt.s.d, S_QNAN, FF_NV, D_SNAN)
	TEST_DS(112, fcvt.s.d, S_QNAN, 0, 0x7ff8000012345678)
	TEST_DS(113, fcvt.s.d, S_NZERO, 0, D_NZERO)

	/* tininess is detected after rounding (spec 11.2): 2^-126 (1 - 2^-25)
	 * rounds to the smallest normal and is not tiny; 2^-126 (1 - 2^-24)
	 * is tiny (and inexact) even though it rounds up to the same value */
	TEST_DS(114, fcvt.s.d, S_MIN, FF_NX, 0x380ffffff0000000)
	TEST_DS(115, fcvt.s.d, S_MIN, FF_UF | FF_NX, 0x380fffffe0000000)
	TEST_DS(116, fcvt.s.d, 0x007fffff, FF_UF | FF_NX, 0x380fffffe0000000, rtz)
	/* sqrt(2): the nearest double is above the exact value */
	TEST_D1(117, fsqrt.d, 0x3ff6a09e667f3bcd, FF_NX, D_TWO, rne)
	TEST_D1(118, fsqrt.d, 0x3ff6a09e667f3bcc, FF_NX, D_TWO, rtz)
	TEST_D1(119, fsqrt.d, 0x3ff6a09e667f3bcc, FF_NX, D_TWO, rdn)
	TEST_D1(170, fsqrt.d, 0x3ff6a09e667f3bcd, FF_NX, D_TWO, rup)
	TEST_D1(171, fsqrt.d, 0x3ff6a09e667f3bcd, FF_NX, D_TWO, rmm)
	TEST_D1(172, fsqrt.d, D_QNAN, FF_NV, D_NINF)
	TEST_D1(173, fsqrt.d, D_INF, 0, D_INF)

	/* fclass */
	TEST_DX1(120, fclass.d, 1 << 0, 0, D_NINF)
	TEST_DX1(121, fclass.d, 1 << 1, 0, D_MONE)
	TEST_DX1(122, fclass.d, 1 << 2, 0, 0x8000000000000001)
	TEST_DX1(123, fclass.d, 1 << 3, 0, D_NZERO)
	TEST_DX1(124, fclass.d, 1 << 4, 0, 0)
	TEST_DX1(125, fclass.d, 1 << 5, 0, D_DENORM)
	TEST_DX1(126, fclass.d, 1 << 6, 0, D_ONE)
	TEST_DX1(127, fclass.d, 1 << 7, 0, D_INF)
	TEST_DX1(128, fclass.d, 1 << 8, 0, D_SNAN)
	TEST_DX1(129, fclass.d, 1 << 9, 0, D_QNAN)

	/* sign injection */
	TEST_D2(130, fsgnj.d, D_MONE, 0, D_ONE, 0xc000000000000000)
	TEST_D2(131, fsgnjn.d, D_ONE, 0, D_ONE, 0xc000000000000000)
	TEST_D2(132, fsgnjx.d, D_ONE, 0, D_MONE, D_MONE)
	TEST_D2(133, fsgnjn.d, 0xfff0000000000001, 0, D_SNAN, D_SNAN)	/* fneg keeps payload */
	TEST_D2(134, fsgnjx.d, 0x7ff8000000000123, 0, 0xfff8000000000123, D_MONE)

	/* fused multiply-add */
	TEST_D3(140, fmadd.d, 0x401c000000000000, 0, D_TWO, D_THREE, D_ONE)
	TEST_D3(141, fmsub.d, 0x4014000000000000, 0, D_TWO, D_THREE, D_ONE)
	TEST_D3(142, fnmsub.d, 0xc014000000000000, 0, D_TWO, D_THREE, D_ONE)
	TEST_D3(143, fnmadd.d, 0xc01c000000000000, 0, D_TWO, D_THREE, D_ONE)
	/* (1 + 2^-30)^2 - 1 = 2^-29 + 2^-60, only with one rounding */
	TEST_D3(144, fmadd.d, 0x3e20000000200000, 0, 0x3ff0000000400000, 0x3ff0000000400000, D_MONE)
	TEST_D3(145, fmadd.d, D_QNAN, FF_NV, 0, D_INF, D_QNAN)
	TEST_D3(146, fnmsub.d, D_QNAN, FF_NV, D_INF, D_ONE, D_INF)	/* -(inf) + inf: NV */
	TEST_D3(147, fmsub.d, 0, 0, D_ONE, D_ONE, D_ONE)			/* +0 RNE */
	TEST_D3(148, fmsub.d, D_NZERO, 0, D_ONE, D_ONE, D_ONE, rdn)

	/* compares */
	TEST_DX2(150, feq.d, 1, 0, D_NZERO, 0)
	TEST_DX2(151, feq.d, 0, 0, D_QNAN, D_ONE)
	TEST_DX2(152, feq.d, 0, FF_NV, D_SNAN, D_ONE)
	TEST_DX2(153, flt.d, 1, 0, D_NINF, D_MONE)
	TEST_DX2(154, flt.d, 0, FF_NV, D_QNAN, D_ONE)
	TEST_DX2(155, fle.d, 1, 0, D_ONE, D_ONE)
	TEST_DX2(156, fle.d, 0, FF_NV, D_QNAN, D_QNAN)

	/* moves, loads, stores */
	TEST_CASE(160); li t0, 0x8000000000000001; fmv.d.x fa0, t0; fmv.x.d a4, fa0; ASSERT_EQ(a4, t0)
	TEST_CASE(161); la a0, ddata; fld fa0, 0(a0); fmv.x.d a4, fa0; ASSERT_IMM(a4, 0x400921fb54442d18)
	TEST_CASE(162); fsd fa0, 8(a0); ld a4, 8(a0); ASSERT_IMM(a4, 0x400921fb54442d18)
	/* fsd of a boxed single stores all 64 bits */
	TEST_CASE(163); LOAD_S(fa0, S_ONE); fsd fa0, 16(a0); ld a4, 16(a0); ASSERT_IMM(a4, 0xffffffff3f800000)
	/* fld of a double then use as single: not boxed -> canonical NaN */
	TEST_CASE(164); fld fa0, 0(a0); fmv.s fa2, fa0; RES_S(S_QNAN)
	TEST_PASS

	.data
	.align 3
ddata:	.dword 0x400921fb54442d18, 0, 0, 0
