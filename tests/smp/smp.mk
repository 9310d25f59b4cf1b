# Trevo SMP litmus tests: each tests/smp/NAME.S -> build/smp/NAME-N.elf for
# N = 2, 4, 8 harts (NHARTS), linked with tests/smp/lib/start.S and the ISA
# tests' linker script and macros (tests/isa/isa.mk).
BUILD_SMP    := build/smp
SMP_HARTS    := 2 4 8
SMP_SRCS     := $(sort $(wildcard tests/smp/*.S))
SMP_ELFS     := $(foreach n,$(SMP_HARTS),$(SMP_SRCS:tests/smp/%.S=$(BUILD_SMP)/%-$(n).elf))
SMP_LIB      := tests/smp/lib/smp.h tests/smp/lib/start.S $(ISA_LIB)

define smp_rule
$(BUILD_SMP)/%-$(1).elf: tests/smp/%.S $(SMP_LIB)
	@mkdir -p $$(dir $$@)
	$$(ISA_CC) $$(ISA_CFLAGS) -Itests/smp/lib -DNHARTS=$(1) -o $$@ tests/smp/lib/start.S $$<
endef
$(foreach n,$(SMP_HARTS),$(eval $(call smp_rule,$(n))))

.PHONY: smp
smp: $(SMP_ELFS)

TEST_TARGETS += $(SMP_ELFS)

# ThreadSanitizer build (make tsan): build/tsan/trevo, for the hart threads'
# synchronisation; tests/smp/run.sh runs the 2-hart litmus tests under it
# with the suppressions of tests/smp/tsan.supp (guest memory itself is
# shared by design: the guest's own races are not Trevo's).
TSANFLAGS := -O1 -fsanitize=thread -fno-omit-frame-pointer -Wno-error=tsan -Wno-tsan
TSAN_OBJS := $(SRCS:%.c=build/tsan/obj/%.o)

build/tsan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TSANFLAGS) -MMD -MP -c -o $@ $<

build/tsan/trevo: $(TSAN_OBJS)
	$(CC) $(CFLAGS) $(TSANFLAGS) -o $@ $^ $(LDLIBS)

# a header change rebuilds what includes it (a struct's new layout)
-include $(TSAN_OBJS:.o=.d)

.PHONY: tsan
tsan: build/tsan/trevo

TEST_TARGETS += build/tsan/trevo
