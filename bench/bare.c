/* The bare-metal guest of `trevo bench`: guest/workloads.h with no OS
 * underneath, for the engines that cannot boot Linux on this host or to
 * measure the CPU alone. Built for riscv64 (S-mode, console and power-off
 * through SBI: the same file runs under OpenSBI in --mode full, under
 * Trevo's own SBI in --mode para and under QEMU) and for x86-64 (a flat
 * binary at 1 MiB for --mode hw, console on COM1, exit on port 0x501).
 *
 * It speaks the line protocol of bench/bench.py on its console: it prints
 * "TREVO-WORK READY", then for each line "NAME UNITS" it runs the work and
 * prints "R NAME UNITS CHECKSUM AMOUNT"; "quit" powers off. The host times
 * each command from sending it to reading its result.
 */
#include <stdint.h>
#include "../guest/workloads.h"

#if defined(__riscv)
static long sbi_legacy(long eid, long arg)
{
	register long a0 __asm__("a0") = arg;
	register long a7 __asm__("a7") = eid;

	__asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory", "a1");
	return a0;
}

static void con_putc(char c) { sbi_legacy(1, (unsigned char)c); }

static void idle_pause(void);

static int con_getc(void)
{
	long c;

	while ((c = sbi_legacy(2, 0)) < 0)
		idle_pause();
	return (int)c;
}

static __attribute__((noreturn)) void power_off(int status)
{
	(void)status;
	sbi_legacy(8, 0);	/* legacy shutdown: it does not return */
	for (;;)
		__asm__ volatile("wfi");
}
#elif defined(__x86_64__)
#include "../tests/kvm/guest/lib.h"

static void con_putc(char c) { putc_serial(c); }

static void idle_pause(void);

static int con_getc(void)
{
	while (!(inb(0x3f8 + 5) & 1))	/* LSR data ready */
		idle_pause();
	return inb(0x3f8);
}

static __attribute__((noreturn)) void power_off(int status) { guest_exit(status); }
#endif

/* Between two empty polls of the console: without it the idle guest makes
 * a million SBI calls (or port exits) a second, which would swamp the
 * counters bench.py reads around each command. */
static void idle_pause(void)
{
	for (volatile int i = 0; i < 2000; i++)
		;
}

static void con_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			con_putc('\r');
		con_putc(*s++);
	}
}

static void con_putu(uint64_t v, int base)
{
	char buf[24];
	int i = 0;

	do {
		buf[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i)
		con_putc(buf[--i]);
}

#if defined(__riscv)
int main(void)
#else
void guest_main(void);
void guest_main(void)
#endif
{
	char line[64], name[16];
	uint64_t units, check, amount;

	con_puts("TREVO-WORK READY\n");
	for (;;) {
		unsigned n = 0, i = 0;
		int c;

		while ((c = con_getc()) != '\n' && c != '\r')
			if (n < sizeof(line) - 1)
				line[n++] = (char)c;
		line[n] = 0;
		if (!n)
			continue;
		while (line[i] && line[i] != ' ' && i < sizeof(name) - 1) {
			name[i] = line[i];
			i++;
		}
		name[i] = 0;
		units = 0;
		while (line[i] == ' ')
			i++;
		while (line[i] >= '0' && line[i] <= '9')
			units = units * 10 + (uint64_t)(line[i++] - '0');
		if (name[0] == 'q')
			power_off(0);
		if (work_run(name, units, &check, &amount)) {
			con_puts("E unknown workload\n");
			continue;
		}
		con_puts("R ");
		con_puts(name);
		con_putc(' ');
		con_putu(units, 10);
		con_putc(' ');
		con_putu(check, 16);
		con_putc(' ');
		con_putu(amount, 10);
		con_putc('\n');
	}
}
