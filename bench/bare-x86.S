/* Start of the x86-64 bare-metal bench guest: Trevo's hw mode enters at
 * 1 MiB in 64-bit mode with a stack (tests/kvm/README.md). The workloads
 * use SSE2 for floating point, so turn it on first: CR0.EM off, CR0.MP on,
 * CR4.OSFXSR and OSXMMEXCPT on (Intel SDM vol. 3, 13.1.3). */
	.section .text.start, "ax"
	.globl _start
_start:
	cld
	test	%rdi, %rdi
	jnz	2f
	mov	%cr0, %rax
	and	$~(1 << 2), %rax
	or	$(1 << 1), %rax
	mov	%rax, %cr0
	mov	%cr4, %rax
	or	$((1 << 9) | (1 << 10)), %rax
	mov	%rax, %cr4
	call	guest_main
2:	cli
	hlt
	jmp	2b

	.section .note.GNU-stack, "", @progbits
