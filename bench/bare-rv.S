/* Start of the RISC-V bare-metal bench guest in S-mode (loaded at
 * 0x80200000 by OpenSBI's fw_jump, by Trevo's para monitor or by QEMU):
 * hart 0 runs main on its own stack with the FPU on; others park. */
	.section .text.init
	.globl _start
_start:
	/* The RISC-V Linux Image header (Documentation/riscv/boot-image-header.rst),
	 * which Trevo's --kernel loader checks. */
	j 1f
	.balign 8
	.dword 0x200000			/* text_offset */
	.dword bare_end - _start	/* image_size */
	.dword 0			/* flags: little endian */
	.word 2				/* version 0.2 */
	.word 0
	.dword 0
	.ascii "RISCV\0\0\0"		/* magic (deprecated) */
	.ascii "RSC\x05"		/* magic2 */
	.word 0
1:	bnez a0, 2f
	la sp, bare_stack_top
	li t0, 1 << 13			/* sstatus.FS = Initial */
	csrs sstatus, t0
	csrw fcsr, zero
	call main
2:	wfi
	j 2b

	.bss
	.align 12
	.space 65536
bare_stack_top:
