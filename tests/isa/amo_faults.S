/* AMO faults are store/AMO faults. Misaligned AMO, LR and SC raise address-misaligned exceptions and are
 * never emulated (priv spec 3.6.3.3 and unprivileged spec 8.2/8.4: AMOs and
 * SC raise store/AMO address misaligned (6), LR load address misaligned (4)).
 * An AMO on an unmapped address is a store/AMO access fault (7, priv spec
 * 3.7.1 table 3.6). trevo-only: QEMU 7.2 reports cause 4 for misaligned AMOs
 * and 5 for AMO access faults, and its SC fails
 * without checking alignment when it holds no reservation for the address. */
#include "isa.h"

	.text
	.globl test_main
test_main:
	la s0, amo_data
	TRAP_BEGIN(50); addi a0, s0, 4; 98: amoadd.d a4, a1, (a0); TRAP_END(CAUSE_MISALIGNED_STORE); CHECK_EPC(98b); CHECK_TVAL_REG(a0)
	TRAP_BEGIN(51); addi a0, s0, 2; 98: amoswap.w a4, a1, (a0); TRAP_END(CAUSE_MISALIGNED_STORE); CHECK_EPC(98b); CHECK_TVAL_REG(a0)
	TRAP_BEGIN(52); addi a0, s0, 1; 98: lr.w a4, (a0); TRAP_END(CAUSE_MISALIGNED_LOAD); CHECK_EPC(98b); CHECK_TVAL_REG(a0)
	TRAP_BEGIN(53); addi a0, s0, 4; 98: lr.d a4, (a0); TRAP_END(CAUSE_MISALIGNED_LOAD); CHECK_EPC(98b); CHECK_TVAL_REG(a0)
	TRAP_BEGIN(54); addi a0, s0, 4; lr.d a4, (s0); 98: sc.d a5, a4, (a0); TRAP_END(CAUSE_MISALIGNED_STORE); CHECK_EPC(98b); CHECK_TVAL_REG(a0)
	/* SC misaligned while a reservation on the aligned word is held */
	TRAP_BEGIN(55); addi a0, s0, 2; lr.w a4, (s0); 98: sc.w a5, a4, (a0); TRAP_END(CAUSE_MISALIGNED_STORE); CHECK_EPC(98b); CHECK_TVAL_REG(a0)
	TRAP_BEGIN(56); addi a0, s0, 3; 98: amomaxu.w a4, a1, (a0); TRAP_END(CAUSE_MISALIGNED_STORE); CHECK_EPC(98b); CHECK_TVAL_REG(a0)
	TRAP_BEGIN(60); li a0, 0; 98: amoadd.w a4, a1, (a0); TRAP_END(CAUSE_STORE_ACCESS); CHECK_EPC(98b); CHECK_TVAL(0)
	TRAP_BEGIN(61); li a0, 0x18; 98: amoswap.d a4, a1, (a0); TRAP_END(CAUSE_STORE_ACCESS); CHECK_EPC(98b); CHECK_TVAL(0x18)
	TEST_PASS

	.data
	.align 6
amo_data: .space 64
