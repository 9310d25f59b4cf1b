# Trevo: `make` builds build/trevo; `make run` boots the default guest;
# `make test` installs what is missing, builds everything and runs every test
# twice (plain, then under ASan+UBSan).

CC      ?= gcc
PKGS    := slirp libseccomp libzstd liblzma zlib libnbd
# One package at a time: Debian's slirp.pc requires glib-2.0.pc, which
# libslirp-dev does not pull in, and one failure would drop every library.
# Capstone (--cpu-trace's disassembler, src/riscv/jit/trace.c) only links:
# its include directory holds headers named like Trevo's (riscv.h, x86.h),
# and trace.c includes it as <capstone/capstone.h>.
PKG_LIBS := $(foreach p,$(PKGS) capstone,$(shell pkg-config --libs $(p) 2>/dev/null || echo -l$(p:lib%=%)))
CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -pthread \
           $(foreach p,$(PKGS),$(shell pkg-config --cflags $(p) 2>/dev/null))
LDLIBS  := -lfdt $(PKG_LIBS) -lm -lpthread
SANFLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRCS     := $(sort $(shell find src -name '*.c'))
OBJS     := $(SRCS:%.c=build/obj/%.o)
SAN_OBJS := $(SRCS:%.c=build/san/obj/%.o)
# Everything but main(), for unit tests.
LIB_OBJS     := $(filter-out build/obj/src/main.o,$(OBJS))
SAN_LIB_OBJS := $(filter-out build/san/obj/src/main.o,$(SAN_OBJS))

UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/tests/unit/%) \
             $(UNIT_SRCS:tests/unit/%.c=build/san/tests/unit/%)

.PHONY: all san deps run test test-build guest clean bench
all: build/trevo

build/trevo: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/san/trevo: $(SAN_OBJS)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

build/san/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -MMD -MP -c -o $@ $<

build/tests/unit/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $^ $(LDLIBS)

build/san/tests/unit/%: tests/unit/%.c $(SAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -Isrc -o $@ $^ $(LDLIBS)

san: build/san/trevo

# Packages a fresh Debian 12 lacks; installs only what is missing.
deps:
	@scripts/deps.sh

# Test groups add their own build rules (ISA tests, KVM guests, fuzzers...).
TEST_TARGETS :=
-include $(sort $(wildcard tests/*/*.mk guest/*.mk bench/*.mk))

test-build: build/trevo build/san/trevo $(UNIT_BINS) $(TEST_TARGETS)

test: deps
	@$(MAKE) --no-print-directory test-build
	@$(MAKE) --no-print-directory guest
	@tests/run.sh

guest: build/trevo
	@guest/build.sh riscv

run: deps
	@$(MAKE) --no-print-directory all guest
	build/trevo run

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_TARGETS) guest
	@bench/run.sh

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(SAN_OBJS:.o=.d)
