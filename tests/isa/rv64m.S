/* RV64M: multiply and divide (unprivileged spec ch. 7), including the
 * defined results of division by zero and signed overflow (table 7.1). */
#include "isa.h"

#define MIN64 0x8000000000000000
	.text
	.globl test_main
test_main:
	TEST_RR(1, mul, 6, 2, 3)
	TEST_RR(2, mul, -6, -2, 3)
	TEST_RR(3, mul, 0x0000000000000001, -1, -1)
	TEST_RR(4, mul, MIN64, MIN64, -1)
	TEST_RR(5, mul, 0xfffffffe00000001, 0xffffffff, 0xffffffff)
	/* mulh: signed x signed, upper 64 */
	TEST_RR(6, mulh, 0, 2, 3)
	TEST_RR(7, mulh, -1, -2, 3)
	TEST_RR(8, mulh, 0x4000000000000000, MIN64, MIN64)
	TEST_RR(9, mulh, 0, -1, -1)
	TEST_RR(10, mulh, 0xffffffffffffffff, 0x7fffffffffffffff, -2)
	/* mulhu: unsigned x unsigned */
	TEST_RR(11, mulhu, 0xfffffffffffffffe, -1, -1)
	TEST_RR(12, mulhu, 0x4000000000000000, MIN64, MIN64)
	TEST_RR(13, mulhu, 0, 3, 5)
	/* mulhsu: signed rs1 x unsigned rs2 */
	TEST_RR(14, mulhsu, 0xffffffffffffffff, -1, -1)
	TEST_RR(15, mulhsu, 0xffffffffffffffff, -1, 2)
	TEST_RR(16, mulhsu, 0x7ffffffffffffffe, 0x7fffffffffffffff, -1)
	TEST_RR(17, mulhsu, 0xc000000000000000, MIN64, MIN64)
	/* mulw: low 32 bits, sign-extended */
	TEST_RR(18, mulw, 0xffffffff80000000, 0x40000000, 2)
	TEST_RR(19, mulw, 1, 0xffffffffffffffff, 0x00000000ffffffff)
	TEST_RR(20, mulw, 0, 0x100000000, 5)

	/* div/divu/rem/remu */
	TEST_RR(21, div, -3, 7, -2)
	TEST_RR(22, div, 3, -7, -2)
	TEST_RR(23, rem, 1, 7, -2)
	TEST_RR(24, rem, -1, -7, 2)
	TEST_RR(25, divu, 0x7fffffffffffffff, -1, 2)
	TEST_RR(26, remu, 1, -1, 2)
	/* by zero: quotient all ones, remainder = dividend */
	TEST_RR(27, div, -1, 5, 0)
	TEST_RR(28, div, -1, -5, 0)
	TEST_RR(29, divu, -1, 5, 0)
	TEST_RR(30, rem, -5, -5, 0)
	TEST_RR(31, remu, 5, 5, 0)
	TEST_RR(32, remu, MIN64, MIN64, 0)
	/* overflow: MIN / -1 = MIN, remainder 0 */
	TEST_RR(33, div, MIN64, MIN64, -1)
	TEST_RR(34, rem, 0, MIN64, -1)
	TEST_RR(35, divu, 0, MIN64, -1)
	TEST_RR(36, remu, MIN64, MIN64, -1)

	/* W forms: operate on low 32 bits (sign or zero as appropriate), result sext */
	TEST_RR(40, divw, -3, 0xffffffff00000007, -2)
	TEST_RR(41, divw, 0xffffffff80000000, 0x80000000, 1)
	TEST_RR(42, divuw, 0x7fffffff, 0xffffffff, 2)
	TEST_RR(43, divuw, 0xffffffff80000000, 0x80000000, 1)	/* result sign-extended */
	TEST_RR(44, remw, -1, 0x1fffffff9, 2)		/* low 32 = -7 */
	TEST_RR(45, remuw, 1, 0xffffffff, 2)
	TEST_RR(46, remuw, 0xffffffff80000001, 0x80000001, 0x80000002)
	/* W by zero */
	TEST_RR(47, divw, -1, 0x123456789, 0x100000000)	/* divisor low 32 = 0 */
	TEST_RR(48, divuw, -1, 5, 0)
	TEST_RR(49, remw, 0xffffffff80000005, 0x80000005, 0)
	TEST_RR(50, remuw, 0xffffffff80000005, 0x1180000005, 0)
	TEST_RR(51, remw, 5, 0x700000005, 0)
	/* W overflow: INT32_MIN / -1 */
	TEST_RR(52, divw, 0xffffffff80000000, 0x80000000, -1)
	TEST_RR(53, remw, 0, 0x80000000, -1)
	TEST_RR(54, divw, 0xffffffff80000000, 0x80000000, 0xffffffff)
	TEST_RR(55, divuw, 0, 0x80000000, 0xffffffff)
	TEST_RR(56, remuw, 0xffffffff80000000, 0x80000000, 0xffffffff)
	/* rd == x0 */
	TEST_CASE(57); li a0, 7; li a1, 0; div x0, a0, a1; rem x0, a0, a1; mul x0, a0, a0; ASSERT_IMM(x0, 0)
	/* rd == rs1 == rs2 */
	TEST_CASE(58); li a4, -3; mul a4, a4, a4; ASSERT_IMM(a4, 9)
	TEST_PASS
