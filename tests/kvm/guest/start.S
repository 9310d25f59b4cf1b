/* Entry of the flat test guests: Trevo starts every vCPU here in 64-bit mode
 * with RDI = CPU index and RSP = its own stack (tests/kvm/README.md). */
	.section .text.start, "ax"
	.globl _start
_start:
	cld
	call	guest_main
	/* guest_main returned: report success. */
	xor	%eax, %eax
	mov	$0x501, %dx
	outl	%eax, %dx
1:	cli
	hlt
	jmp	1b

	.section .note.GNU-stack, "", @progbits
