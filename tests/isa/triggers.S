/* The debug trigger CSRs (debug spec 0.13.2, 5.2) read as an empty trigger
 * module: tselect holds only 0 (WARL), tdata1 reads type 0 ("no trigger at
 * this tselect"), tdata2/tdata3 read 0 and writes have no effect, tinfo
 * says only type 0 exists; none of them traps in M-mode, and S-mode still
 * gets illegal-instruction (they are M-level CSRs). trevo-only: QEMU 7.2
 * implements two address-match triggers. */
#include "isa.h"

	.text
	.globl test_main
test_main:
	TEST_CASE(1); csrr a4, tselect; ASSERT_IMM(a4, 0)
	TEST_CASE(2); li a0, 1; csrw tselect, a0; csrr a4, tselect; ASSERT_IMM(a4, 0)
	TEST_CASE(3); csrr a4, tdata1; ASSERT_IMM(a4, 0)
	TEST_CASE(4); li a0, -1; csrw tdata1, a0; csrr a4, tdata1; ASSERT_IMM(a4, 0)
	TEST_CASE(5); li a0, 0x80001000; csrw tdata2, a0; csrr a4, tdata2; ASSERT_IMM(a4, 0)
	TEST_CASE(6); csrw tdata3, a0; csrr a4, tdata3; ASSERT_IMM(a4, 0)
	TEST_CASE(7); csrr a4, 0x7a4; ASSERT_IMM(a4, 1)
	TRAP_BEGIN(8); GOTO_S(s_tselect); TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(s_tselect)
	ret

s_tselect:	csrr a4, tselect; j fail
