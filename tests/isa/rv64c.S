/* RV64C: every compressed form computes what its base expansion does
 * (unprivileged spec ch. 16). Each case checks that the instruction really
 * is 16 bits (label distance 2) and its result. */
#include "isa.h"

	.option rvc
/* the instruction between labels 95 and 96 is two bytes long */
#define IS_C(...) 95: __VA_ARGS__; 96: .if (96b - 95b) != 2; .error "not compressed"; .endif
/* jumps and branches: the explicit c. mnemonic cannot assemble to 32 bits */
#define IS_CJ(...) __VA_ARGS__

	.text
	.globl test_main
test_main:
	TEST_CASE(1); li a0, 99; IS_C(c.li a0, -32); ASSERT_IMM(a0, -32)
	TEST_CASE(2); IS_C(c.li a0, 31); ASSERT_IMM(a0, 31)
	TEST_CASE(3); IS_C(c.lui a0, 0xfffe0); ASSERT_IMM(a0, 0xfffffffffffe0000)
	TEST_CASE(4); IS_C(c.lui a0, 0x1f); ASSERT_IMM(a0, 0x1f000)
	TEST_CASE(5); IS_C(c.lui a0, 0xfffff); ASSERT_IMM(a0, 0xfffffffffffff000)
	TEST_CASE(6); li a0, 10; IS_C(c.addi a0, -32); ASSERT_IMM(a0, -22)
	TEST_CASE(7); li a0, 0x7fffffff; IS_C(c.addiw a0, 1); ASSERT_IMM(a0, 0xffffffff80000000)
	TEST_CASE(8); li a0, 0x123456789; IS_C(c.addiw a0, 0); ASSERT_IMM(a0, 0x23456789)	/* sext.w */
	TEST_CASE(9); li a0, 0xffffffff; IS_C(c.addiw a0, 0); ASSERT_IMM(a0, -1)
	/* c.addi16sp / c.addi4spn use sp */
	TEST_CASE(10); mv s1, sp; IS_C(c.addi16sp sp, -512); sub a0, s1, sp; mv sp, s1; ASSERT_IMM(a0, 512)
	TEST_CASE(11); mv s1, sp; IS_C(c.addi16sp sp, 496); sub a0, sp, s1; mv sp, s1; ASSERT_IMM(a0, 496)
	TEST_CASE(12); IS_C(c.addi4spn a0, sp, 1020); sub a0, a0, sp; ASSERT_IMM(a0, 1020)
	TEST_CASE(13); IS_C(c.addi4spn a0, sp, 4); sub a0, a0, sp; ASSERT_IMM(a0, 4)
	/* shifts; RV64 c.slli/srli/srai take shamt up to 63 */
	TEST_CASE(14); li a0, 1; IS_C(c.slli a0, 63); ASSERT_IMM(a0, 0x8000000000000000)
	TEST_CASE(15); li a0, 0x8000000000000000; IS_C(c.srli a0, 32); ASSERT_IMM(a0, 0x80000000)
	TEST_CASE(16); li a0, 0x8000000000000000; IS_C(c.srai a0, 63); ASSERT_IMM(a0, -1)
	TEST_CASE(17); li a0, 0xffff; IS_C(c.andi a0, -16); ASSERT_IMM(a0, 0xfff0)
	TEST_CASE(18); li a0, 0xffff; IS_C(c.andi a0, 5); ASSERT_IMM(a0, 5)
	/* register-register */
	TEST_CASE(19); li a1, -7; IS_C(c.mv a0, a1); ASSERT_IMM(a0, -7)
	TEST_CASE(20); li a0, 5; li a1, -7; IS_C(c.add a0, a1); ASSERT_IMM(a0, -2)
	TEST_CASE(21); li a0, 5; li a1, 7; IS_C(c.sub a0, a1); ASSERT_IMM(a0, -2)
	TEST_CASE(22); li a0, 0xff0; li a1, 0x0ff; IS_C(c.xor a0, a1); ASSERT_IMM(a0, 0xf0f)
	TEST_CASE(23); li a0, 0xff0; li a1, 0x0ff; IS_C(c.or a0, a1); ASSERT_IMM(a0, 0xfff)
	TEST_CASE(24); li a0, 0xff0; li a1, 0x0ff; IS_C(c.and a0, a1); ASSERT_IMM(a0, 0x0f0)
	TEST_CASE(25); li a0, 0x7fffffff; li a1, 1; IS_C(c.addw a0, a1); ASSERT_IMM(a0, 0xffffffff80000000)
	TEST_CASE(26); li a0, 0x80000000; li a1, 1; IS_C(c.subw a0, a1); ASSERT_IMM(a0, 0x7fffffff)
	TEST_CASE(27); li a0, 0; li a1, 1; IS_C(c.subw a0, a1); ASSERT_IMM(a0, -1)
	/* loads and stores */
	la s0, cdata
	TEST_CASE(30); IS_C(c.lw a0, 4(s0)); ASSERT_IMM(a0, 0xffffffff80000002)
	TEST_CASE(31); IS_C(c.ld a0, 8(s0)); ASSERT_IMM(a0, 0x8000000000000003)
	TEST_CASE(32); li a1, 0x1234567812345678; IS_C(c.sd a1, 16(s0)); ld a0, 16(s0); ASSERT_EQ(a0, a1)
	TEST_CASE(33); li a1, 0xabcdef01; IS_C(c.sw a1, 24(s0)); lwu a0, 24(s0); ASSERT_IMM(a0, 0xabcdef01)
	TEST_CASE(34); IS_C(c.lw a0, 124(s0)); ASSERT_IMM(a0, 0x7ffffffe)
	TEST_CASE(35); IS_C(c.ld a0, 248(s0)); ASSERT_IMM(a0, 0xfeedfacecafebeef)
	/* sp-relative */
	mv s1, sp
	mv sp, s0
	TEST_CASE(36); IS_C(c.lwsp a0, 4(sp)); ASSERT_IMM(a0, 0xffffffff80000002)
	TEST_CASE(37); IS_C(c.ldsp a0, 248(sp)); ASSERT_IMM(a0, 0xfeedfacecafebeef)
	TEST_CASE(38); li a1, 0x55aa55aa55aa55aa; IS_C(c.sdsp a1, 32(sp)); ld a0, 32(s0); ASSERT_EQ(a0, a1)
	TEST_CASE(39); li a1, 0x87654321; IS_C(c.swsp a1, 40(sp)); lw a0, 40(s0); ASSERT_IMM(a0, 0xffffffff87654321)
	TEST_CASE(40); IS_C(c.ldsp a0, 504(sp)); ASSERT_IMM(a0, 0x0123456789abcdef)
	TEST_CASE(41); IS_C(c.lwsp a0, 252(sp)); ASSERT_IMM(a0, 0xfffffffffeedface)
	/* floating-point loads/stores */
	TEST_CASE(42); IS_C(c.fld fa0, 8(s0)); fmv.x.d a0, fa0; ASSERT_IMM(a0, 0x8000000000000003)
	TEST_CASE(43); IS_C(c.fsd fa0, 48(s0)); ld a0, 48(s0); ASSERT_IMM(a0, 0x8000000000000003)
	TEST_CASE(44); IS_C(c.fldsp fa1, 248(sp)); fmv.x.d a0, fa1; ASSERT_IMM(a0, 0xfeedfacecafebeef)
	TEST_CASE(45); IS_C(c.fsdsp fa1, 56(sp)); ld a0, 56(s0); ASSERT_IMM(a0, 0xfeedfacecafebeef)
	mv sp, s1
	/* control transfer */
	TEST_CASE(50); IS_CJ(c.j 1f); j fail; 1:
	TEST_CASE(51); la a0, 1f; IS_CJ(c.jr a0); j fail; 1:
	TEST_CASE(52); la a0, 1f; IS_CJ(c.jalr a0); 2: j fail; 1: la a1, 2b; ASSERT_EQ(ra, a1)	/* link = pc + 2 */
	TEST_CASE(53); li a0, 0; IS_CJ(c.beqz a0, 1f); j fail; 1:
	TEST_CASE(54); li a0, 1; IS_CJ(c.beqz a0, 1f); j 2f; 1: j fail; 2:
	TEST_CASE(55); li a0, -1; IS_CJ(c.bnez a0, 1f); j fail; 1:
	TEST_CASE(56); li a0, 0; IS_CJ(c.bnez a0, 1f); j 2f; 1: j fail; 2:
	TEST_CASE(57); li a0, 3; li a1, 0; 1: addi a1, a1, 1; addi a0, a0, -1; IS_CJ(c.bnez a0, 1b); ASSERT_IMM(a1, 3)
	/* c.jalr: rs1 == ra, link written after the target is read */
	TEST_CASE(58); la ra, 1f; IS_CJ(c.jalr ra); 2: j fail; 1: la a1, 2b; ASSERT_EQ(ra, a1)
	/* 32-bit instruction at a 2-byte aligned address after a c.nop */
	TEST_CASE(59); .align 2; IS_C(c.nop); li a0, 0x12345; addi a0, a0, 1; ASSERT_IMM(a0, 0x12346)
	/* c.ebreak: breakpoint, mepc = its address */
	TRAP_BEGIN(60); 98: IS_C(c.ebreak); TRAP_END(CAUSE_BREAKPOINT); CHECK_EPC(98b)
	TEST_PASS

	.data
	.align 3
cdata:	.word 0, 0x80000002
	.dword 0x8000000000000003
	.space 124 - 16
	.word 0x7ffffffe
	.space 248 - 128
	.dword 0xfeedfacecafebeef
	.space 504 - 256
	.dword 0x0123456789abcdef
	.space 256
