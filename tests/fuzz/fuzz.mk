# libFuzzer targets for guest-facing parsers (clang only). Each fuzzer is
# built from its own source plus the few Trevo files it exercises.
FUZZ_CC     := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -pthread -Isrc \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_BIN    := build/fuzz

# The virtio core with the transport and model registry stubbed out.
FUZZ_CORE := src/dev/virtio.c src/vmstate.c src/mem.c src/util.c tests/fuzz/fuzz_stubs.c
FUZZ_CORE_DEPS := $(FUZZ_CORE) src/dev/virtio.h src/dev/virtio-transport.h src/mem.h src/vmstate.h

$(FUZZ_BIN)/fuzz_virtq: tests/fuzz/fuzz_virtq.c $(FUZZ_CORE_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_virtq.c $(FUZZ_CORE)

$(FUZZ_BIN)/fuzz_net_tx: tests/fuzz/fuzz_net_tx.c src/dev/virtio-net.c src/dev/netoffload.c src/dev/netoffload.h \
                         src/host/net.h $(FUZZ_CORE_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_net_tx.c src/dev/netoffload.c $(FUZZ_CORE)

FUZZ_MMIO_SRCS := src/dev/virtio.c src/dev/virtio-mmio.c src/dev/virtio-rng.c src/vm.c src/vmstate.c src/mem.c \
                  src/util.c tests/fuzz/fuzz_vm_stubs.c
$(FUZZ_BIN)/fuzz_virtio_mmio: tests/fuzz/fuzz_virtio_mmio.c $(FUZZ_MMIO_SRCS) src/dev/virtio.h src/vm.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_virtio_mmio.c $(FUZZ_MMIO_SRCS)

$(FUZZ_BIN)/fuzz_blk_req: tests/fuzz/fuzz_blk_req.c src/dev/virtio-blk.c src/host/blockfile.c \
                          src/host/blockfile.h $(FUZZ_CORE_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_blk_req.c src/host/blockfile.c $(FUZZ_CORE) -lnbd

$(FUZZ_BIN)/fuzz_vmstate: tests/fuzz/fuzz_vmstate.c $(FUZZ_MMIO_SRCS) src/dev/virtio.h src/vm.h \
                          src/vmstate.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_vmstate.c $(FUZZ_MMIO_SRCS)

# The AHCI command path on the PCI bus (ahci.c included whole). Whatever
# links blockfile.c needs libnbd (its NBD back end).
FUZZ_AHCI_SRCS := src/dev/pci.c src/host/blockfile.c src/vm.c src/vmstate.c src/mem.c src/util.c \
                  tests/fuzz/fuzz_vm_stubs.c
$(FUZZ_BIN)/fuzz_ahci: tests/fuzz/fuzz_ahci.c src/dev/ahci.c src/dev/pci.h $(FUZZ_AHCI_SRCS) src/vm.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_ahci.c $(FUZZ_AHCI_SRCS) -lfdt -lnbd

# The e1000 rings (e1000.c included whole, a back end that swallows frames).
$(FUZZ_BIN)/fuzz_e1000: tests/fuzz/fuzz_e1000.c src/dev/e1000.c src/dev/netoffload.c src/dev/netoffload.h \
                        src/dev/pci.h $(FUZZ_AHCI_SRCS) src/vm.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_e1000.c src/dev/netoffload.c $(FUZZ_AHCI_SRCS) -lfdt -lnbd

ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
TEST_TARGETS += $(FUZZ_BIN)/fuzz_virtq $(FUZZ_BIN)/fuzz_net_tx $(FUZZ_BIN)/fuzz_virtio_mmio \
                $(FUZZ_BIN)/fuzz_blk_req $(FUZZ_BIN)/fuzz_vmstate $(FUZZ_BIN)/fuzz_ahci \
                $(FUZZ_BIN)/fuzz_e1000
endif

FUZZ_UART_SRCS := src/dev/uart16550.c src/vm.c src/vmstate.c src/mem.c src/util.c tests/fuzz/fuzz_vm_stubs.c
$(FUZZ_BIN)/fuzz_uart: tests/fuzz/fuzz_uart.c $(FUZZ_UART_SRCS) src/vm.h src/host/console.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_uart.c $(FUZZ_UART_SRCS) -lfdt

$(FUZZ_BIN)/fuzz_qmp_json: tests/fuzz/fuzz_qmp_json.c src/host/json.c src/host/json.h src/util.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_qmp_json.c src/host/json.c src/util.c

# QMP command dispatch, the VM's control plane modelled in the harness.
$(FUZZ_BIN)/fuzz_qmp: tests/fuzz/fuzz_qmp.c src/host/qmp.c src/host/json.c src/host/json.h \
                      src/host/qmp_session.h src/util.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_qmp.c src/host/qmp.c src/host/json.c src/util.c

# Register-level targets that include their model whole (to check its
# internal invariants) over the small VM core.
FUZZ_VM_CORE := src/vm.c src/vmstate.c src/mem.c src/util.c tests/fuzz/fuzz_vm_stubs.c
FUZZ_VM_DEPS := $(FUZZ_VM_CORE) src/vm.h src/vmstate.h src/mem.h src/common.h

$(FUZZ_BIN)/fuzz_plic: tests/fuzz/fuzz_plic.c src/riscv/plic.c src/riscv/board.h src/riscv/cpu.h $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_plic.c $(FUZZ_VM_CORE) -lfdt

$(FUZZ_BIN)/fuzz_rtc: tests/fuzz/fuzz_rtc.c src/dev/goldfish_rtc.c $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_rtc.c $(FUZZ_VM_CORE) -lfdt

$(FUZZ_BIN)/fuzz_sbi: tests/fuzz/fuzz_sbi.c src/riscv/sbi.c src/riscv/sbi.h src/riscv/cpu.h $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_sbi.c $(FUZZ_VM_CORE) -lfdt

$(FUZZ_BIN)/fuzz_clint: tests/fuzz/fuzz_clint.c src/riscv/clint.c src/riscv/board.h src/riscv/cpu.h $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_clint.c $(FUZZ_VM_CORE) -lfdt

# The devices that end a run, through the model registry and vm_mmio_*.
$(FUZZ_BIN)/fuzz_sifive_test: tests/fuzz/fuzz_sysdev.c src/dev/sifive_test.c $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DSYSDEV_SIFIVE_TEST -o $@ tests/fuzz/fuzz_sysdev.c src/dev/sifive_test.c \
		$(FUZZ_VM_CORE) -lfdt

$(FUZZ_BIN)/fuzz_pvpanic: tests/fuzz/fuzz_sysdev.c src/dev/pvpanic.c $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_sysdev.c src/dev/pvpanic.c $(FUZZ_VM_CORE) -lfdt

# PCI config space and BAR decoding (pci.c included whole) with three
# made-up functions.
$(FUZZ_BIN)/fuzz_ecam: tests/fuzz/fuzz_ecam.c src/dev/pci.c src/dev/pci.h $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_ecam.c $(FUZZ_VM_CORE) -lfdt

# fuzz_virtio_mmio's program with virtio-console behind the transport.
FUZZ_CON_SRCS := src/dev/virtio.c src/dev/virtio-mmio.c src/dev/virtio-console.c $(FUZZ_VM_CORE)
$(FUZZ_BIN)/fuzz_virtio_console: tests/fuzz/fuzz_virtio_mmio.c $(FUZZ_CON_SRCS) src/dev/virtio.h src/vm.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_CONSOLE -o $@ tests/fuzz/fuzz_virtio_mmio.c $(FUZZ_CON_SRCS)

# The host-side parsers of files a user gives: kernels, firmware, snapshots.
$(FUZZ_BIN)/fuzz_x86_boot: tests/fuzz/fuzz_x86_boot.c src/x86/boot.c src/x86/unpack.c src/x86/acpi.c \
                           src/x86/x86.h $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_x86_boot.c src/x86/acpi.c $(FUZZ_VM_CORE) \
		-lfdt -llzma -lz -lzstd

$(FUZZ_BIN)/fuzz_rv_loader: tests/fuzz/fuzz_rv_loader.c src/riscv/board.c src/riscv/decode.c $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_rv_loader.c src/riscv/decode.c $(FUZZ_VM_CORE) -lfdt

$(FUZZ_BIN)/fuzz_snapshot: tests/fuzz/fuzz_snapshot.c src/migrate/snapshot.c src/host/blockfile.c \
                           src/engine.h $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_snapshot.c src/host/blockfile.c $(FUZZ_VM_CORE) \
		-lfdt -lz -lzstd -lnbd

# The receiving end of live migration (migration.c included whole), fed
# through a unix socket by a thread of the harness.
$(FUZZ_BIN)/fuzz_migration: tests/fuzz/fuzz_migration.c src/migrate/migration.c src/migrate/snapshot.c \
                            src/host/blockfile.c src/host/json.c src/engine.h $(FUZZ_VM_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_migration.c src/migrate/snapshot.c src/host/blockfile.c \
		src/host/json.c $(FUZZ_VM_CORE) -lfdt -lz -lzstd -lnbd

FUZZ_TARGETS := virtq net_tx virtio_mmio blk_req vmstate ahci e1000 uart qmp_json \
                plic rtc sbi virtio_console x86_boot rv_loader snapshot clint sifive_test pvpanic ecam migration qmp
ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
TEST_TARGETS += $(FUZZ_BIN)/fuzz_uart $(FUZZ_BIN)/fuzz_qmp_json $(FUZZ_BIN)/fuzz_plic \
                $(FUZZ_BIN)/fuzz_rtc $(FUZZ_BIN)/fuzz_sbi $(FUZZ_BIN)/fuzz_virtio_console \
                $(FUZZ_BIN)/fuzz_x86_boot $(FUZZ_BIN)/fuzz_rv_loader $(FUZZ_BIN)/fuzz_snapshot \
                $(FUZZ_BIN)/fuzz_clint $(FUZZ_BIN)/fuzz_sifive_test $(FUZZ_BIN)/fuzz_pvpanic \
                $(FUZZ_BIN)/fuzz_ecam $(FUZZ_BIN)/fuzz_migration $(FUZZ_BIN)/fuzz_qmp
endif

# A campaign: every target for FUZZ_SECONDS each, on its seed corpus
# (tests/fuzz/corpus/NAME, read-only) plus what it finds (build/fuzz/corpus/NAME).
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BIN)/fuzz_%)
	@FUZZ_CAMPAIGN=1 FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh
