# CPU benchmark (bench/cpu.c): a bare-metal rv64gc program, -O2, freestanding.
BENCH_CC     := riscv64-linux-gnu-gcc
BENCH_CFLAGS := -march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -ffreestanding -fno-builtin \
                -fno-math-errno -fno-pic -fno-stack-protector -nostdlib -nostartfiles -static \
                -Wall -Wextra -Werror -Wl,--build-id=none -Wl,--no-relax -T bench/cpu.ld

build/bench/cpu.elf: bench/cpu.c bench/cpu-start.S bench/cpu.ld
	@mkdir -p $(dir $@)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ bench/cpu-start.S bench/cpu.c
