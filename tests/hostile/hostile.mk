# Hostile guests (tests/hostile/run.sh): bare-metal RISC-V programs in C,
# linked with tests/isa's start-up and trap handler (tests/isa/lib/crt.S).
HOSTILE_CC     := riscv64-linux-gnu-gcc
HOSTILE_CFLAGS := -march=rv64gc -mabi=lp64d -mcmodel=medany -nostdlib -nostartfiles -static \
                  -ffreestanding -fno-pie -no-pie -O2 -Itests/isa/lib
HOSTILE_LD     := -Wl,--build-id=none -Wl,--no-relax -Wl,--no-warn-rwx-segments -T tests/isa/lib/isa.ld

build/hostile/%.o: tests/hostile/%.c
	@mkdir -p $(dir $@)
	$(HOSTILE_CC) $(HOSTILE_CFLAGS) -Wall -Wextra -Werror -c -o $@ $<

build/hostile/%.elf: build/hostile/%.o tests/isa/lib/crt.S tests/isa/lib/isa.h tests/isa/lib/isa.ld
	$(HOSTILE_CC) $(HOSTILE_CFLAGS) $(HOSTILE_LD) -o $@ tests/isa/lib/crt.S $<

ifneq ($(shell command -v $(HOSTILE_CC) 2>/dev/null),)
TEST_TARGETS += build/hostile/rv_hostile.elf
endif
