# libFuzzer targets for guest-facing parsers (clang only). Each fuzzer is
# built from its own source plus the few Trevo files it exercises.
FUZZ_CC     := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -pthread -Isrc \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_BIN    := build/fuzz

$(FUZZ_BIN)/fuzz_virtq: tests/fuzz/fuzz_virtq.c src/dev/virtio.c src/dev/virtio.h src/mem.c \
                        src/mem.h src/util.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_virtq.c src/dev/virtio.c src/mem.c src/util.c

$(FUZZ_BIN)/fuzz_net_tx: tests/fuzz/fuzz_net_tx.c src/dev/virtio-net.c src/dev/virtio.c \
                         src/dev/virtio.h src/host/net.h src/mem.c src/util.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_net_tx.c src/dev/virtio.c src/mem.c src/util.c

FUZZ_MMIO_SRCS := src/dev/virtio.c src/dev/virtio-mmio.c src/dev/virtio-rng.c src/vm.c src/mem.c \
                  src/util.c
$(FUZZ_BIN)/fuzz_virtio_mmio: tests/fuzz/fuzz_virtio_mmio.c $(FUZZ_MMIO_SRCS) src/dev/virtio.h src/vm.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_virtio_mmio.c $(FUZZ_MMIO_SRCS)

$(FUZZ_BIN)/fuzz_blk_req: tests/fuzz/fuzz_blk_req.c src/dev/virtio-blk.c src/dev/virtio.c \
                          src/dev/virtio.h src/host/blockfile.c src/host/blockfile.h src/mem.c src/util.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_blk_req.c src/dev/virtio.c src/host/blockfile.c \
		src/mem.c src/util.c

ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
TEST_TARGETS += $(FUZZ_BIN)/fuzz_virtq $(FUZZ_BIN)/fuzz_net_tx $(FUZZ_BIN)/fuzz_virtio_mmio \
                $(FUZZ_BIN)/fuzz_blk_req
endif
