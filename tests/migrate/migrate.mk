# The snapshot tests' own KVM guest, built by tests/kvm/kvm.mk's rules.
TEST_TARGETS += build/tests/kvm/counter.bin
