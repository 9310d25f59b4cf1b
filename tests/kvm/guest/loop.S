/* A write of 0x42 to port 0x99 (the first exit), N writes to port 0x80 (a no-op device in trevo and QEMU), then the exit
 * port 0x501. N is the 32-bit word at offset 4 of the file (patched by
 * bench/kvm.sh; 0 means "exit at once"). Every instruction below encodes
 * the same in 32-bit and 64-bit mode, so the file runs as a trevo flat guest
 * (64-bit entry at 1 MiB) and as a QEMU multiboot kernel (32-bit entry at
 * the same place, after the header). */
	.code32
	.section .text.start, "ax"
	.globl _start
_start:
	jmp	entry
	.balign 4
count:
	.long	0
	.long	0
	.balign 4
mb_header:
	.long	0x1badb002                  /* multiboot 1 magic */
	.long	0x00010000                  /* flags: a.out kludge addresses */
	.long	-(0x1badb002 + 0x00010000)
	.long	mb_header                   /* header_addr */
	.long	_start                      /* load_addr */
	.long	0                           /* load_end_addr: whole file */
	.long	0                           /* bss_end_addr */
	.long	entry                       /* entry_addr */
entry:
	mov	$0x42, %eax
	mov	$0x99, %edx                 /* an unassigned port in trevo and QEMU */
	out	%al, %dx                    /* first exit: the start-up benchmark's mark */
	mov	$0x80, %edx
	mov	$count, %esi
	mov	(%esi), %ecx
	test	%ecx, %ecx
	jz	2f
1:	out	%al, %dx
	sub	$1, %ecx
	jnz	1b
2:	mov	$0x501, %edx
	xor	%eax, %eax
	out	%al, %dx
3:	hlt
	jmp	3b

	.section .note.GNU-stack, "", @progbits
