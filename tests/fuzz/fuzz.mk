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

$(FUZZ_BIN)/fuzz_net_tx: tests/fuzz/fuzz_net_tx.c src/dev/virtio-net.c src/host/net.h $(FUZZ_CORE_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_net_tx.c $(FUZZ_CORE)

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
$(FUZZ_BIN)/fuzz_e1000: tests/fuzz/fuzz_e1000.c src/dev/e1000.c src/dev/pci.h $(FUZZ_AHCI_SRCS) src/vm.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_e1000.c $(FUZZ_AHCI_SRCS) -lfdt -lnbd

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

FUZZ_TARGETS := virtq net_tx virtio_mmio blk_req vmstate uart qmp_json
ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
TEST_TARGETS += $(FUZZ_BIN)/fuzz_uart $(FUZZ_BIN)/fuzz_qmp_json
endif

# A campaign: every target for FUZZ_SECONDS each, on its seed corpus
# (tests/fuzz/corpus/NAME, read-only) plus what it finds (build/fuzz/corpus/NAME).
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BIN)/fuzz_%)
	@FUZZ_CAMPAIGN=1 FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh
