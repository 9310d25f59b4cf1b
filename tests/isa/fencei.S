/* fence.i (Zifencei, unprivileged spec ch. 3): after stores to instruction
 * memory and a fence.i, the hart executes the new instructions, also when
 * the old ones were executed (and possibly cached/decoded) before, and when
 * the patched instruction follows the fence.i in the same straight line. */
#include "isa.h"

#define LI_A4(imm) (((imm) << 20) | 0x713)	/* addi a4, zero, imm */
#define RET 0x00008067
#define C_LI_A4(imm) (0x4701 | ((imm) << 2))	/* c.li a4, imm (0 <= imm < 32) */

	.text
	.globl test_main
test_main:
	/* code buffer in RAM: li a4, 1; ret */
	la s0, code_buf
	li t0, LI_A4(1); sw t0, 0(s0); li t0, RET; sw t0, 4(s0)
	fence.i
	TEST_CASE(1); li a4, 0; jalr s0; ASSERT_IMM(a4, 1)
	/* run it often (hot), then patch and fence.i */
	TEST_CASE(2); li s1, 1000; 1: jalr s0; addi s1, s1, -1; bnez s1, 1b; ASSERT_IMM(a4, 1)
	li t0, LI_A4(2); sw t0, 0(s0); fence.i
	TEST_CASE(3); jalr s0; ASSERT_IMM(a4, 2)
	/* many rewrites in a loop: value i each time */
	TEST_CASE(4); li s1, 1
1:	slli t0, s1, 20; li t1, 0x713; or t0, t0, t1; sw t0, 0(s0); fence.i
	jalr s0; ASSERT_EQ(a4, s1); addi s1, s1, 1; li t0, 300; bltu s1, t0, 1b
	/* patch the instruction right after the fence.i (same block) */
	TEST_CASE(5); la t0, 1f; li t1, LI_A4(5); sw t1, 0(t0); fence.i
	.option push; .option norvc
1:	addi a4, zero, 1
	.option pop
	ASSERT_IMM(a4, 5)
	/* a 16-bit patch: c.nop -> c.li a4, 7 */
	TEST_CASE(6); li a4, 0; la t0, 1f; li t1, C_LI_A4(7); sh t1, 0(t0); fence.i
1:	c.nop
	ASSERT_IMM(a4, 7)
	/* patch inside a loop that has run before */
	TEST_CASE(7); li s1, 0; li s2, 0
2:	li a4, 0
3:	.option push; .option norvc; addi a4, zero, 1; .option pop
	add s2, s2, a4
	addi s1, s1, 1
	li t0, 10; bne s1, t0, 4f
	la t0, 3b; li t1, LI_A4(100); sw t1, 0(t0); fence.i
4:	li t0, 20; bltu s1, t0, 2b
	ASSERT_IMM(s2, 10 * 1 + 10 * 100)
	/* a code buffer written by a byte-wise copy */
	TEST_CASE(8); la a0, tmpl; li a1, 8; mv a2, s0
1:	lbu t0, 0(a0); sb t0, 0(a2); addi a0, a0, 1; addi a2, a2, 1; addi a1, a1, -1; bnez a1, 1b
	fence.i; jalr s0; ASSERT_IMM(a4, 42)
	/* a store of code through an AMO */
	TEST_CASE(9); li t0, LI_A4(43); amoswap.w zero, t0, (s0); fence.i; jalr s0; ASSERT_IMM(a4, 43)
	TEST_PASS

	.section .rodata
	.align 2
tmpl:	.word LI_A4(42), RET

	.data
	.align 6
code_buf: .space 64
