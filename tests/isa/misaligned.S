/* Misaligned ordinary loads and stores. The spec lets an implementation
 * either perform them or trap (unprivileged spec 2.6); Trevo performs them
 * transparently, so they must give the same results as aligned accesses,
 * also across a page boundary, for integer and FP. QEMU 7.2 performs them
 * too, so this test runs on both. */
#include "isa.h"

	.text
	.globl test_main
test_main:
	la s0, buf
	/* buf holds bytes 0x00, 0x01, ... 0x3f */
	li t0, 0; mv t1, s0
1:	sb t0, 0(t1); addi t0, t0, 1; addi t1, t1, 1; li t2, 64; bltu t0, t2, 1b
	TEST_CASE(1); lh a4, 1(s0); ASSERT_IMM(a4, 0x0201)
	TEST_CASE(2); lhu a4, 0x3f - 1 + 0(s0); ASSERT_IMM(a4, 0x3f3e)
	TEST_CASE(3); lw a4, 1(s0); ASSERT_IMM(a4, 0x04030201)
	TEST_CASE(4); lw a4, 3(s0); ASSERT_IMM(a4, 0x06050403)
	TEST_CASE(5); lwu a4, 5(s0); ASSERT_IMM(a4, 0x08070605)
	TEST_CASE(6); ld a4, 1(s0); ASSERT_IMM(a4, 0x0807060504030201)
	TEST_CASE(7); ld a4, 7(s0); ASSERT_IMM(a4, 0x0e0d0c0b0a090807)
	/* sign extension of misaligned loads */
	TEST_CASE(8); li t0, 0x80; sb t0, 0x12(s0); lh a4, 0x11(s0); ASSERT_IMM(a4, 0xffffffffffff8011)
	TEST_CASE(9); sb t0, 0x16(s0); lw a4, 0x13(s0); ASSERT_IMM(a4, 0xffffffff80151413)
	/* stores */
	TEST_CASE(10); li t0, 0x1122334455667788; sd t0, 0x21(s0); ld a4, 0x21(s0); ASSERT_EQ(a4, t0)
	lbu a4, 0x20(s0); ASSERT_IMM(a4, 0x20); lbu a4, 0x29(s0); ASSERT_IMM(a4, 0x29); lbu a4, 0x21(s0); ASSERT_IMM(a4, 0x88)
	TEST_CASE(11); li t0, 0xaabbccdd; sw t0, 0x2b(s0); lwu a4, 0x2b(s0); ASSERT_IMM(a4, 0xaabbccdd); lbu a4, 0x2a(s0); ASSERT_IMM(a4, 0x2a)
	TEST_CASE(12); li t0, 0xeeff; sh t0, 0x31(s0); lhu a4, 0x31(s0); ASSERT_IMM(a4, 0xeeff); lbu a4, 0x33(s0); ASSERT_IMM(a4, 0x33)
	/* FP */
	TEST_CASE(13); li t0, 0x400921fb54442d18; sd t0, 0x33(s0); fld fa0, 0x33(s0); fmv.x.d a4, fa0; ASSERT_EQ(a4, t0)
	TEST_CASE(14); fsd fa0, 0x19(s0); ld a4, 0x19(s0); ASSERT_EQ(a4, t0)
	TEST_CASE(15); li t0, 0x3f800000; sw t0, 0x37(s0); flw fa1, 0x37(s0); fmv.x.w a4, fa1; ASSERT_IMM(a4, 0x3f800000)
	TEST_CASE(16); fsw fa1, 0x3b(s0); lwu a4, 0x3b(s0); ASSERT_IMM(a4, 0x3f800000)
	/* across a page boundary (both pages RAM) */
	la s1, page2
	TEST_CASE(17); li t0, 0x0102030405060708; sd t0, -3(s1); ld a4, -3(s1); ASSERT_EQ(a4, t0); lbu a4, -3(s1); ASSERT_IMM(a4, 0x08); lbu a4, 4(s1); ASSERT_IMM(a4, 0x01)
	TEST_CASE(18); lw a4, -2(s1); ASSERT_IMM(a4, 0x04050607)
	TEST_PASS

	.data
	.align 6
buf:	.space 128
	.align 12
	.space 4096 - 64
	.align 12
page2:	.space 64
