/* N iterations of a two-instruction loop, then the exit port: the
 * instruction rate of this host's KVM (tests/kvm/run.sh decides from it
 * whether a full Linux boot is worth trying). N is the 32-bit word at
 * offset 4. */
	.code64
	.section .text.start, "ax"
	.globl _start
_start:
	jmp	entry
	.balign 4
count:
	.long	0
entry:
	mov	count(%rip), %ecx
	test	%ecx, %ecx
	jz	2f
1:	sub	$1, %ecx
	jnz	1b
2:	mov	$0x501, %edx
	xor	%eax, %eax
	out	%eax, %dx
3:	hlt
	jmp	3b

	.section .note.GNU-stack, "", @progbits
