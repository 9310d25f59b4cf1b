/* The architectural state of one x86-64 vCPU under KVM (struct vcpu_state,
 * engine.h), in KVM's own plain structures (Documentation/virt/kvm/api.rst):
 * what get_vcpu returns and set_vcpu takes, and what a snapshot holds. */
#ifndef TREVO_X86_STATE_H
#define TREVO_X86_STATE_H

#include <linux/kvm.h>
#include <stdint.h>

#define X86_STATE_MAX_MSRS 64

struct x86_vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_xcrs xcrs;
	/* Guest TSC = host TSC + tsc_offset (Documentation/virt/kvm/devices/
	 * vcpu.rst, KVM_VCPU_TSC_CTRL / KVM_VCPU_TSC_OFFSET): unlike the TSC
	 * MSR it does not move while the state is held, so set(get()) is an
	 * identity. Without that attribute the TSC is one of the MSRs. */
	uint32_t flags;               /* X86_STATE_* */
	uint32_t nr_msrs;
	uint64_t tsc_offset;
	struct kvm_msr_entry msrs[X86_STATE_MAX_MSRS];
};

#define X86_STATE_TSC_OFFSET  0x1  /* tsc_offset is valid */

#endif
