/* The KVM VM under the x86 machine: /dev/kvm, the VM with KVM's in-kernel
 * LAPIC/IOAPIC/PIC and PIT, and guest RAM in its memory slots. The board
 * (board.c) builds it; the engine (engine.c) runs vCPUs in it.
 * Documentation/virt/kvm/api.rst is the reference for every ioctl here. */
#include "x86.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			die("--mode hw needs /dev/kvm, which this host does not have "
			    "(no KVM support or module not loaded)");
		if (errno == EACCES || errno == EPERM)
			die("no permission to open /dev/kvm (add yourself to group 'kvm')");
		die("cannot open /dev/kvm: %s", strerror(errno));
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("/dev/kvm speaks an unknown KVM API version");
	return fd;
}

static void need_cap(int fd, int cap, const char *name)
{
	if (ioctl(fd, KVM_CHECK_EXTENSION, cap) <= 0)
		die("this host's KVM lacks %s", name);
}

int x86_ram_create(struct vm *vm)
{
	uint64_t mem = vm->cfg->memory;
	uint64_t low = mem < X86_LOW_RAM_MAX ? mem : X86_LOW_RAM_MAX;

	if (gmem_add_region(&vm->mem, 0, low) ||
	    (mem > low && gmem_add_region(&vm->mem, X86_HIGH_RAM_BASE, mem - low))) {
		warn("kvm: cannot allocate %llu MiB of guest RAM", (unsigned long long)(mem >> 20));
		return -ENOMEM;
	}
	return 0;
}

/* One slot per RAM region; flags KVM_MEM_LOG_DIRTY_PAGES or 0 (api.rst,
 * 4.35 KVM_SET_USER_MEMORY_REGION: the flags of an existing slot may be
 * changed by setting it again with the same address and size). */
static int set_slots(struct x86_machine *m, uint32_t flags)
{
	struct vm *vm = m->vm;

	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.flags = flags,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};
		if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			warn("kvm: cannot map guest RAM: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int map_memory(struct x86_machine *m)
{
	return set_slots(m, 0);
}

int x86_kvm_dirty_log(struct x86_machine *m, bool on)
{
	return set_slots(m, on ? KVM_MEM_LOG_DIRTY_PAGES : 0);
}

/* KVM_GET_DIRTY_LOG (api.rst 4.8): a bitmap of the slot's pages written
 * since the last call, bit 0 the slot's first page, in longs; KVM clears
 * its copy as it returns it (we never enable MANUAL_DIRTY_LOG_PROTECT2). */
int x86_kvm_dirty_sync(struct x86_machine *m)
{
	struct guest_mem *mem = &m->vm->mem;

	for (int i = 0; i < mem->nr_regions; i++) {
		uint64_t words = (mem->region[i].size / 4096 + 63) / 64;
		uint64_t *map = calloc(words, 8);
		struct kvm_dirty_log log = { .slot = (uint32_t)i };
		if (!map)
			return -ENOMEM;
		log.dirty_bitmap = map;
		if (ioctl(m->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			int err = -errno;
			free(map);
			return err;
		}
		for (uint64_t w = 0; w < words && mem->dirty[i]; w++)
			if (map[w])
				atomic_fetch_or_explicit(&mem->dirty[i][w], map[w], memory_order_relaxed);
		free(map);
	}
	return 0;
}

int x86_kvm_create(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct x86_machine *m = calloc(1, sizeof(*m));
	uint64_t idmap = X86_KVM_IDMAP_ADDR;
	const char *what;
	int err;

	if (!m)
		return -ENOMEM;
	m->vm = vm;
	m->vm_fd = -1;
	x86_irq_init(m);
	vm->arch = m;
	m->kvm_fd = kvm_open();
	need_cap(m->kvm_fd, KVM_CAP_USER_MEMORY, "user memory slots");
	need_cap(m->kvm_fd, KVM_CAP_IRQCHIP, "an in-kernel irqchip");
	need_cap(m->kvm_fd, KVM_CAP_PIT2, "an in-kernel PIT");
	need_cap(m->kvm_fd, KVM_CAP_IMMEDIATE_EXIT, "immediate_exit");
	m->run_size = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (m->run_size < (int)sizeof(struct kvm_run)) {
		warn("kvm: bad vCPU mmap size %d", m->run_size);
		return -EINVAL;
	}
	m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0) {
		what = "KVM_CREATE_VM";
		goto fail;
	}
	/* Intel needs these three pages for real-mode emulation; they sit in
	 * the MMIO hole, out of RAM and of the device windows. */
	if (ioctl(m->vm_fd, KVM_SET_TSS_ADDR, X86_KVM_TSS_ADDR) < 0) {
		what = "KVM_SET_TSS_ADDR";
		goto fail;
	}
	if (ioctl(m->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		debug("kvm: KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(m->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		what = "KVM_CREATE_IRQCHIP";
		goto fail;
	}
	if (ioctl(m->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		what = "KVM_CREATE_PIT2";
		goto fail;
	}
	if ((err = map_memory(m)))
		return err;
	m->cpuid = x86_cpuid_supported(m->kvm_fd);
	vm->set_irq = x86_set_irq;
	vm->irq_ctx = m;
	return 0;
fail:
	err = -errno;
	warn("kvm: %s: %s", what, strerror(errno));
	return err;
}

void x86_kvm_destroy(struct vm *vm)
{
	struct x86_machine *m = vm->arch;

	if (!m)
		return;
	x86_irq_destroy(m);
	if (m->vm_fd >= 0)
		close(m->vm_fd);
	if (m->kvm_fd >= 0)
		close(m->kvm_fd);
	free(m->cpuid);
	free(m);
	vm->arch = NULL;
	vm->set_irq = NULL;
	vm->irq_ctx = NULL;
}
