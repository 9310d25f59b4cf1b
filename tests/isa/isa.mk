# Trevo ISA tests: each tests/isa/NAME.S -> build/isa/NAME.elf, linked with the
# common start-up and trap handler (lib/crt.S) at 0x80000000. The ELFs are the
# same for the plain and the sanitizer variant, so they live in build/isa/.
BUILD_ISA    := build/isa
ISA_CC       := riscv64-linux-gnu-gcc
ISA_CFLAGS   := -march=rv64gc -mabi=lp64d -mcmodel=medany -nostdlib -nostartfiles \
                -static -Wl,--build-id=none -Wl,--no-relax -Wl,--no-warn-rwx-segments -Itests/isa/lib -I$(BUILD_ISA) -Wa,-I$(BUILD_ISA) \
                -T tests/isa/lib/isa.ld
ISA_SRCS     := $(sort $(wildcard tests/isa/*.S))
ISA_ELFS     := $(ISA_SRCS:tests/isa/%.S=$(BUILD_ISA)/%.elf)
ISA_LIB      := $(wildcard tests/isa/lib/*.h) tests/isa/lib/crt.S tests/isa/lib/isa.ld

$(BUILD_ISA)/%.elf: tests/isa/%.S $(ISA_LIB)
	@mkdir -p $(dir $@)
	$(ISA_CC) $(ISA_CFLAGS) -o $@ tests/isa/lib/crt.S $<

# Random code for the robustness tests: fixed seed, generated at build time by
# a small host program.
$(BUILD_ISA)/gen-random: tests/isa/lib/gen-random.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

$(BUILD_ISA)/random-u.bin: $(BUILD_ISA)/gen-random
	$< 0x7265766f 32768 u > $@

$(BUILD_ISA)/random-s.bin: $(BUILD_ISA)/gen-random
	$< 0x73757076 32768 u > $@

$(BUILD_ISA)/random-m.bin: $(BUILD_ISA)/gen-random
	$< 0x6d6d6f64 32768 m > $@

$(BUILD_ISA)/random_u.elf: $(BUILD_ISA)/random-u.bin
$(BUILD_ISA)/random_s.elf: $(BUILD_ISA)/random-s.bin
$(BUILD_ISA)/random_m.elf: $(BUILD_ISA)/random-m.bin

.PHONY: isa
isa: $(ISA_ELFS)

TEST_TARGETS += $(ISA_ELFS)
