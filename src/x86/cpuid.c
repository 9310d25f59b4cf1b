/* The CPUID the guest sees: what this host's KVM supports
 * (KVM_GET_SUPPORTED_CPUID), with the per-vCPU APIC ids filled in, the
 * hypervisor bit set and KVM's paravirtual leaves (0x40000000: signature
 * "KVMKVMKVM", 0x40000001: kvmclock, PV EOI...) so that Linux uses kvmclock
 * and the KVM paravirt features that the kernel here implements. */
#include "x86.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

struct kvm_cpuid2 *x86_cpuid_supported(int kvm_fd)
{
	for (int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			die("out of memory");
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			break;
	}
	die("kvm: KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
}

int x86_cpuid_set(int vcpu_fd, const struct kvm_cpuid2 *supported, int id, int nr_cpus)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	bool have_kvm_leaf = false;
	int ret;

	if (!c)
		return -ENOMEM;
	memcpy(c, supported, size);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC id; EBX[23:16] logical CPUs
			 * per package with HTT (EDX bit 28) so the count is
			 * believed; ECX bit 31: running under a hypervisor. */
			e->ebx = (e->ebx & 0x0000ffff) | ((uint32_t)id << 24) |
				 ((uint32_t)(nr_cpus > 1 ? nr_cpus : 1) << 16);
			if (nr_cpus > 1)
				e->edx |= 1u << 28;
			e->ecx |= 1u << 31;
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: EDX is this CPU's x2APIC id. */
			e->edx = id;
			break;
		case 0x8000001e:
			/* AMD extended APIC id and topology: one thread per
			 * core, one node. */
			e->eax = id;
			e->ebx = (uint32_t)id & 0xff;
			e->ecx = 0;
			break;
		case 6:
			/* No thermal or power management to offer. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0x40000000:
			have_kvm_leaf = true;
			/* "KVMKVMKVM\0\0\0", highest leaf 0x40000001. */
			e->eax = 0x40000001;
			e->ebx = 0x4b4d564b;
			e->ecx = 0x564b4d56;
			e->edx = 0x4d;
			break;
		default:
			break;
		}
	}
	if (!have_kvm_leaf)
		debug("kvm: this KVM reports no paravirt CPUID leaves (no kvmclock)");
	ret = ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return ret;
}
