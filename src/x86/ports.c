/* Trevo's own little ports on the x86 machine (tests/kvm/README.md): the
 * exit port of the test guests, the i8042 reset pulse, the ACPI
 * (HW-reduced) sleep and reset registers, the PIIX reset control register
 * 0xcf9 and port 0x80. A reboot asked for here is a system reset in the
 * same process (vm.c), or the end of trevo with --no-reboot. */
#include "x86.h"

#include <string.h>

/* 0x501: test guests end the run with a status (X86_EXIT_PORT). */
static uint64_t exit_port_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque; (void)off; (void)size;
	return 0;
}

static void exit_port_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct vm *vm = opaque;
	int code;

	(void)off;
	value &= size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	if (value == 0) {
		vm_request_exit(vm, VM_POWEROFF, 0);
		return;
	}
	code = (int)(value & 0xff);
	vm_request_exit(vm, VM_FAIL, code ? code : 1);
}

static const struct mmio_ops exit_port_ops = { exit_port_read, exit_port_write };

/* The i8042 keyboard controller, reduced to what a guest uses to reset the
 * machine: command 0xfe on port 0x64 pulses the CPU reset line. Status reads
 * say "input buffer empty" so that Linux does not wait on it. */
static uint64_t i8042_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque; (void)off; (void)size;
	return 0;
}

static void i8042_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	(void)size;
	if (off == 0 && (value & 0xff) == 0xfe)
		vm_request_exit(opaque, VM_REBOOT, 0);
}

static const struct mmio_ops i8042_ops = { i8042_read, i8042_write };

/* ACPI (HW-reduced, ACPI 6.4 section 4.8.3.7): the sleep control register
 * takes SLP_TYPx << 2 | SLP_EN (bit 5); our \_S5 has SLP_TYP 5. The reset
 * register takes X86_ACPI_RESET_VAL. Port 0xcf9 is the PIIX reset control
 * register that some guests try as well. */
static uint64_t acpi_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque; (void)size;
	return off == 1 ? 0x80 : 0;  /* sleep status: WAK_STS */
}

static void acpi_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct vm *vm = opaque;

	(void)size;
	if (off == 0 && (value & 0x20)) {
		if (((value >> 2) & 7) == 5)
			vm_request_exit(vm, VM_POWEROFF, 0);
	} else if (off == 2 && (value & 0xff) == X86_ACPI_RESET_VAL) {
		vm_request_exit(vm, VM_REBOOT, 0);
	}
}

static const struct mmio_ops acpi_ops = { acpi_read, acpi_write };

static uint64_t cf9_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque; (void)off; (void)size;
	return 0;
}

static void cf9_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	(void)off; (void)size;
	if (value & 0x04)  /* RST_CPU */
		vm_request_exit(opaque, VM_REBOOT, 0);
}

static const struct mmio_ops cf9_ops = { cf9_read, cf9_write };

/* Port 0x80 (POST codes, Linux's I/O delay): accepted and dropped. */
static uint64_t null_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque; (void)off; (void)size;
	return 0xff;
}

static void null_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	(void)opaque; (void)off; (void)value; (void)size;
}

static const struct mmio_ops null_ops = { null_read, null_write };

int x86_ports_add(struct vm *vm)
{
	int err;

	if ((err = vm_add_pio(vm, X86_EXIT_PORT, 4, &exit_port_ops, vm, "exit-port")) ||
	    (err = vm_add_pio(vm, 0x64, 1, &i8042_ops, vm, "i8042-reset")) ||
	    (err = vm_add_pio(vm, X86_ACPI_PORT_BASE, 4, &acpi_ops, vm, "acpi-pm")) ||
	    (err = vm_add_pio(vm, 0xcf9, 1, &cf9_ops, vm, "reset-control")) ||
	    (err = vm_add_pio(vm, 0x80, 1, &null_ops, vm, "post-code")))
		warn("kvm: cannot register the system ports: %s", strerror(-err));
	return err;
}
