/* INT3 reaches the guest's own #BP handler with the saved RIP just after the
 * int3 (a trap). Where the host's KVM cannot run INT3, Trevo injects #BP. */
#include "lib.h"

volatile uint64_t bp_hits, bp_rip;
extern char after_int3[];
void bp_entry(void);

__asm__(".text\n"
	"bp_entry:\n"
	"	incq bp_hits(%rip)\n"
	"	push %rax\n"
	"	mov 8(%rsp), %rax\n"   /* saved RIP */
	"	mov %rax, bp_rip(%rip)\n"
	"	pop %rax\n"
	"	iretq\n");

struct __attribute__((packed)) gate {
	uint16_t off_lo, sel;
	uint8_t ist, attr;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

static struct gate idt[32] __attribute__((aligned(16)));

void guest_main(int id)
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr = { sizeof(idt) - 1, (uint64_t)idt };
	uint64_t h = (uint64_t)bp_entry;

	if (id != 0)
		halt_forever();
	idt[3] = (struct gate){ (uint16_t)h, 0x10, 0, 0x8e, (uint16_t)(h >> 16), (uint32_t)(h >> 32), 0 };
	__asm__ volatile("lidt %0" :: "m"(idtr));
	__asm__ volatile("int3\n.globl after_int3\nafter_int3:" ::: "memory");
	__asm__ volatile("int3" ::: "memory");
	if (bp_hits != 2 || bp_rip != (uint64_t)after_int3 + 1) {
		puts_serial("int3 FAIL: hits ");
		put_dec(bp_hits);
		puts_serial(" rip ");
		put_hex(bp_rip);
		puts_serial("\n");
		guest_exit(8);
	}
	puts_serial("int3 ok\n");
	guest_exit(0);
}
