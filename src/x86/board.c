/* The x86-64 board under the "kvm" engine (--mode hw): guest RAM below
 * 3 GiB and from 4 GiB, the KVM VM with its in-kernel LAPIC/IOAPIC/PIC and
 * PIT (kvm.c), Trevo's ports (ports.c), the NS16550A console at 0x3f8 with
 * IRQ 4 and pvpanic; the kernel loaders and ACPI (boot.c, acpi.c); the boot
 * vCPU's registers at every reset. The run itself is vm.c's. */
#include "x86.h"

#include "../engine.h"
#include "../vmstate.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

static int x86_board_create(struct vm *vm)
{
	int err;

	if (vm->cfg->cpus < 1 || vm->cfg->cpus > X86_MAX_CPUS)
		die("--cpus %d: --mode hw runs 1 to %d vCPUs", vm->cfg->cpus, X86_MAX_CPUS);
	if ((err = x86_ram_create(vm)) || (err = x86_kvm_create(vm)))
		return err;
	/* virtio-mmio windows in the MMIO hole, below pvpanic's page; their
	 * interrupts are ISA IRQs 5-15, which Linux maps at boot and which this
	 * machine leaves free (no i8042 IRQ, no CMOS RTC, no IDE; the HW-reduced
	 * ACPI SCI is never raised). acpi.c makes them level. */
	vm->mmio_alloc_next = X86_MMIO_WIN_BASE;
	vm->mmio_alloc_end = X86_PVPANIC_ADDR;
	vm->irq_alloc_next = 5;
	vm->irq_alloc_end = 16;
	if ((err = x86_ports_add(vm)))
		return err;
	if (vm_create_device(vm, "ns16550a", &(struct dev_params){ .port = 0x3f8, .irq = 4 }))
		warn("kvm: no serial port: the guest console is missing");
	/* pvpanic: Linux's pvpanic-mmio driver (found through ACPI "QEMU0001")
	 * writes here when the guest kernel panics; trevo then exits 1. */
	if (device_model_find("pvpanic-mmio") &&
	    vm_create_device(vm, "pvpanic-mmio",
			     &(struct dev_params){ .base = X86_PVPANIC_ADDR, .irq = -1 }))
		warn("kvm: no pvpanic device");
	return vm->engine->create(vm);
}

static int x86_board_load(struct vm *vm)
{
	x86_boot_load(vm, vm->cfg->cpus, &x86_machine(vm)->boot);
	return 0;
}

/* Nothing but a reset uses what x86_boot_load computes. */
static bool x86_board_load_can_wait(struct vm *vm)
{
	(void)vm;
	return true;
}

/* The boot CPU (and, for flat test guests, every CPU) starts in 64-bit
 * mode at the entry point with Trevo's identity page tables; Linux's APs
 * stay in the engine's power-on state, waiting for the SIPI Linux sends
 * them through the in-kernel LAPIC. */
static int x86_board_reset(struct vm *vm)
{
	const struct x86_boot *boot = &x86_machine(vm)->boot;
	struct vcpu_state s;
	int err;

	for (int i = 0; i < vm->cfg->cpus; i++) {
		struct x86_vcpu_state *x = &s.x86;

		if (i != 0 && !boot->flat)
			break;
		if ((err = vm->engine->get_vcpu(vm, i, &s)))
			return err;
		x86_boot_sregs(&x->sregs);
		memset(&x->regs, 0, sizeof(x->regs));
		x->regs.rflags = 2;
		x->regs.rip = boot->entry;
		x->regs.rsi = boot->rsi;
		if (boot->flat) {
			/* Flat test guests: RDI = CPU index, a 16 KiB stack
			 * each below 512 KiB (tests/kvm/README.md). */
			x->regs.rdi = i;
			x->regs.rsp = 0x80000 - (uint64_t)i * 0x4000;
		}
		memset(&x->fpu, 0, sizeof(x->fpu));
		x->fpu.fcw = 0x37f;
		x->fpu.mxcsr = 0x1f80;
		x->mp.mp_state = KVM_MP_STATE_RUNNABLE;
		if ((err = vm->engine->set_vcpu(vm, i, &s)))
			return err;
	}
	return 0;
}

/* For snapshots, what the vCPU states do not hold: the in-kernel PICs and
 * IOAPIC, the PIT and the kvmclock base (Documentation/virt/kvm/api.rst,
 * KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_CLOCK). Loaded values go to KVM,
 * which checks them; a refusal fails the restore. */
static int x86_board_state(struct vm *vm, struct vmstate *s)
{
	struct x86_machine *m = x86_machine(vm);
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	uint64_t ns;
	int ver = vms_version(s, 1);

	if (ver < 0)
		return ver;
	for (uint32_t i = 0; i < 3; i++) {   /* PIC master, PIC slave, IOAPIC */
		struct kvm_irqchip chip = { .chip_id = i };
		if (!s->loading && ioctl(m->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			return -errno;
		vms_bytes(s, &chip.chip, sizeof(chip.chip));
		chip.chip_id = i;
		if (s->loading && !vms_error(s) && ioctl(m->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return -EINVAL;
	}
	memset(&pit, 0, sizeof(pit));
	if (!s->loading && ioctl(m->vm_fd, KVM_GET_PIT2, &pit) < 0)
		return -errno;
	vms_bytes(s, &pit, sizeof(pit));
	if (s->loading && !vms_error(s) && ioctl(m->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return -EINVAL;
	memset(&clock, 0, sizeof(clock));
	if (!s->loading && ioctl(m->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return -errno;
	ns = clock.clock;
	vms_u64(s, &ns);
	if (s->loading && !vms_error(s)) {
		struct kvm_clock_data set = { .clock = ns };
		if (ioctl(m->vm_fd, KVM_SET_CLOCK, &set) < 0)
			return -EINVAL;
	}
	return vms_error(s);
}

static void x86_board_destroy(struct vm *vm)
{
	x86_kvm_destroy(vm);
}

static const struct board_ops x86_board = {
	.name = "x86-kvm",
	.arch = VCPU_ARCH_X86_64,
	.create = x86_board_create,
	.load = x86_board_load,
	.load_can_wait = x86_board_load_can_wait,
	.reset = x86_board_reset,
	.state = x86_board_state,
	.destroy = x86_board_destroy,
};

BOARD(x86_board)
