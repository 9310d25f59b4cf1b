# Flat x86-64 test guests for tests/kvm (loaded at 1 MiB by trevo --mode hw,
# see tests/kvm/README.md), built with the host gcc.
KVM_GUEST_DIR := build/tests/kvm
KVM_GUEST_SRC := tests/kvm/guest
KVM_GUEST_CFLAGS := -m64 -O2 -ffreestanding -fno-pic -fno-pie -nostdlib -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -Wall -Wextra -Werror -static -no-pie \
	-Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-T,$(KVM_GUEST_SRC)/link.ld
KVM_GUESTS := serial exitcode ports smp halt triple reboot reboot3 acpi_off blk int3 blk_irq blk_reboot chaos hostile
KVM_GUEST_BINS := $(KVM_GUESTS:%=$(KVM_GUEST_DIR)/%.bin) $(KVM_GUEST_DIR)/loop.bin $(KVM_GUEST_DIR)/spin.bin

# What every guest links: the start-up, lib.c, and the virtio-blk driver.
KVM_GUEST_LIB := $(KVM_GUEST_SRC)/start.S $(KVM_GUEST_SRC)/lib.c $(KVM_GUEST_SRC)/vblk.c
KVM_GUEST_DEPS := $(KVM_GUEST_LIB) $(KVM_GUEST_SRC)/lib.h $(KVM_GUEST_SRC)/vblk.h $(KVM_GUEST_SRC)/link.ld

$(KVM_GUEST_DIR)/%.elf: $(KVM_GUEST_SRC)/%.c $(KVM_GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(KVM_GUEST_CFLAGS) -o $@ $(KVM_GUEST_LIB) $<

$(KVM_GUEST_DIR)/acpi_off.elf: $(KVM_GUEST_SRC)/reboot.c $(KVM_GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(KVM_GUEST_CFLAGS) -DACPI_S5 -o $@ $(KVM_GUEST_LIB) $<

$(KVM_GUEST_DIR)/blk_irq.elf: $(KVM_GUEST_SRC)/blk.c $(KVM_GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(KVM_GUEST_CFLAGS) -DUSE_IRQ -o $@ $(KVM_GUEST_LIB) $<

$(KVM_GUEST_DIR)/blk_reboot.elf: $(KVM_GUEST_SRC)/blk.c $(KVM_GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(KVM_GUEST_CFLAGS) -DUSE_IRQ -DREBOOT_ONCE -o $@ $(KVM_GUEST_LIB) $<

# The exit-loop guest: code that means the same in 32- and 64-bit mode, with
# a multiboot header so that QEMU can run the very same file (bench/kvm.sh).
$(KVM_GUEST_DIR)/loop.elf $(KVM_GUEST_DIR)/spin.elf: $(KVM_GUEST_DIR)/%.elf: $(KVM_GUEST_SRC)/%.S
	@mkdir -p $(dir $@)
	$(CC) -m64 -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-T,$(KVM_GUEST_SRC)/link.ld -o $@ $<

$(KVM_GUEST_DIR)/%.bin: $(KVM_GUEST_DIR)/%.elf
	objcopy -O binary $< $@

TEST_TARGETS += $(KVM_GUEST_BINS)
