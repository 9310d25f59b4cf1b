# CPU benchmark (bench/cpu.c): a bare-metal rv64gc program, -O2, freestanding.
BENCH_CC     := riscv64-linux-gnu-gcc
BENCH_CFLAGS := -march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -ffreestanding -fno-builtin \
                -fno-math-errno -fno-pic -fno-stack-protector -nostdlib -nostartfiles -static \
                -Wall -Wextra -Werror -Wl,--build-id=none -Wl,--no-relax -T bench/cpu.ld

build/bench/cpu.elf: bench/cpu.c bench/cpu-start.S bench/cpu.ld
	@mkdir -p $(dir $@)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ bench/cpu-start.S bench/cpu.c

# `trevo bench` (bench/bench.py): guest/workloads.h as bare-metal guests,
# riscv64 in S-mode under SBI and x86-64 as a flat binary for --mode hw.
# -ffp-contract=off in every build: riscv64 and x86-64 must round alike.
BARE_CFLAGS := -O2 -ffreestanding -fno-builtin -fno-pic -fno-stack-protector -nostdlib \
               -nostartfiles -static -ffp-contract=off -fno-math-errno -Wall -Wextra -Werror -Wl,--build-id=none
build/bench/bare-rv.elf: bench/bare.c bench/bare-rv.S bench/bare-rv.ld guest/workloads.h
	@mkdir -p $(dir $@)
	$(BENCH_CC) -march=rv64gc -mabi=lp64d -mcmodel=medany -Wl,--no-relax $(BARE_CFLAGS) \
		-T bench/bare-rv.ld -o $@ bench/bare-rv.S bench/bare.c

build/bench/bare-rv.bin: build/bench/bare-rv.elf
	riscv64-linux-gnu-objcopy -O binary $< $@

build/bench/bare-x86.elf: bench/bare.c bench/bare-x86.S guest/workloads.h \
		tests/kvm/guest/lib.c tests/kvm/guest/lib.h tests/kvm/guest/link.ld
	@mkdir -p $(dir $@)
	$(CC) -m64 -mno-red-zone -DWORK_INT_ONLY_REGS -fno-pie -no-pie -fcf-protection=none -fno-asynchronous-unwind-tables \
		$(BARE_CFLAGS) -Wl,--no-warn-rwx-segments -Wl,-T,tests/kvm/guest/link.ld \
		-o $@ bench/bare-x86.S tests/kvm/guest/lib.c bench/bare.c

build/bench/bare-x86.bin: build/bench/bare-x86.elf
	objcopy -O binary $< $@

# The same workloads as a host program: the native column.
build/bench/trevo-bench-host: guest/bench.c guest/workloads.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -ffp-contract=off -fno-math-errno -Wall -Wextra -Werror -o $@ guest/bench.c -lm

BENCH_TARGETS := build/bench/bare-rv.bin build/bench/bare-x86.bin build/bench/trevo-bench-host
TEST_TARGETS += $(BENCH_TARGETS)
