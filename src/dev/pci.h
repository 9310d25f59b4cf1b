/* A PCI Express root complex with an ECAM window (PCI Firmware 3.2, 4.1;
 * PCIe 5.0, 7.2.2) and one bus of conventional type-0 endpoints, the shape
 * of Linux's "pci-host-ecam-generic". Device models (ahci.c, e1000.c) plug
 * in a function with pci_register and reach guest memory only through
 * pci_dma_read/pci_dma_write, which honour Bus Master Enable.
 *
 * Threads: config-space and BAR accesses arrive on vCPU threads; a BAR is
 * dispatched to its device's bar_read/bar_write without any lock of the bus
 * held for writing, so a device locks its own state. pci_set_irq and the
 * DMA helpers may be called from any thread. */
#ifndef TREVO_DEV_PCI_H
#define TREVO_DEV_PCI_H

#include "../common.h"

struct vm;
struct vmstate;

/* Config-space registers (PCI Local Bus 3.0, 6.1) */
#define PCI_VENDOR_ID       0x00
#define PCI_DEVICE_ID       0x02
#define PCI_COMMAND         0x04
#define PCI_STATUS          0x06
#define PCI_REVISION_ID     0x08
#define PCI_CLASS_PROG      0x09
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER   0x0d
#define PCI_HEADER_TYPE     0x0e
#define PCI_BAR0            0x10
#define PCI_SUBSYS_VENDOR   0x2c
#define PCI_SUBSYS_ID       0x2e
#define PCI_ROM_ADDRESS     0x30
#define PCI_CAP_PTR         0x34
#define PCI_INTERRUPT_LINE  0x3c
#define PCI_INTERRUPT_PIN   0x3d

#define PCI_CMD_IO          0x0001
#define PCI_CMD_MEMORY      0x0002
#define PCI_CMD_MASTER      0x0004
#define PCI_CMD_PARITY      0x0040
#define PCI_CMD_SERR        0x0100
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_STATUS_INTX     0x0008
#define PCI_STATUS_CAP_LIST 0x0010

#define PCI_CAP_ID_PM       0x01
#define PCI_CAP_ID_MSI      0x05
#define PCI_CAP_ID_SATA     0x12

#define PCI_NR_BARS 6
#define PCI_MAX_SLOTS 32
#define PCI_CFG_SIZE 256       /* conventional space; 0x100-0xfff reads 0 */

/* BAR kinds (6.2.5.1) */
enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar_info {
	enum pci_bar_kind kind;
	uint64_t size;          /* power of two: >= 16 (memory) or 4 (I/O) */
	bool prefetchable;
};

/* What a function is: fixed at registration, restored by pci_dev_reset. */
struct pci_dev_info {
	const char *name;       /* the model's name, for messages */
	uint16_t vendor, device, subsys_vendor, subsys;
	uint8_t revision;
	uint32_t class_code;    /* base class << 16 | subclass << 8 | prog-if */
	uint8_t irq_pin;        /* 1..4 = INTA..INTD, 0 for none */
	/* A 64-bit BAR takes two slots: the next one must be PCI_BAR_NONE. */
	struct pci_bar_info bar[PCI_NR_BARS];
};

/* A function's register windows. off is relative to the BAR; size 1, 2, 4
 * or 8. Reads of nothing return 0, writes to nothing are dropped. */
struct pci_dev_ops {
	uint64_t (*bar_read)(void *opaque, int bar, uint64_t off, unsigned size);
	void (*bar_write)(void *opaque, int bar, uint64_t off, uint64_t val, unsigned size);
	/* Optional: the driver wrote the command register (old, new value). */
	void (*command_written)(void *opaque, uint16_t old, uint16_t cmd);
};

struct pci_dev;
struct pci_bus;

/* Where the host bridge sits (the board chooses). */
struct pci_host_config {
	uint64_t ecam_base;        /* 1 MiB per bus */
	unsigned nr_buses;         /* 1..256 */
	uint64_t io_base, io_size; /* CPU address of PCI I/O space 0 */
	uint64_t mem_base, mem_size;     /* 32-bit window, PCI address = CPU address */
	uint64_t mem64_base, mem64_size; /* 64-bit window, PCI address = CPU address */
	unsigned irq_base;         /* INTA..INTD of the swizzle: irq_base + 0..3 */
	uint32_t irq_parent;       /* device-tree phandle of the interrupt controller */
};

/* Creates the bridge, registers its windows on vm->mmio and sets vm->pci.
 * The board calls pci_host_destroy after every device is gone. */
int pci_host_create(struct vm *vm, const struct pci_host_config *cfg);
void pci_host_destroy(struct vm *vm);

/* Plug a function into the first free slot of vm->pci. -ENODEV when the
 * machine has no PCI bus, -ENOSPC when the bus is full. */
int pci_register(struct vm *vm, const struct pci_dev_info *info, const struct pci_dev_ops *ops,
		 void *opaque, struct pci_dev **out);
/* Take the function off the bus (its windows stop decoding). */
void pci_unregister(struct pci_dev *d);

/* Append a capability (6.7): id, then body (the bytes after the id and
 * next pointer), read-only to the driver. Before the guest runs. Returns
 * its config-space offset or -ENOSPC. */
int pci_add_capability(struct pci_dev *d, uint8_t id, const void *body, size_t len);

/* Let the driver write mask bits of the size bytes at off (a capability
 * register the device implements, such as PMCSR's power state). Before the
 * guest runs. */
void pci_set_wmask(struct pci_dev *d, unsigned off, uint32_t mask, unsigned size);

/* The power-on config space (system reset, a refused state load). */
void pci_dev_reset(struct pci_dev *d);
/* Save or load the driver-written part of the config space (vmstate.h). */
void pci_dev_state(struct pci_dev *d, struct vmstate *s);

/* Level of the function's INTx pin; shared lines are ORed (2.2.6). Any
 * thread. */
void pci_set_irq(struct pci_dev *d, int level);

/* DMA into or out of guest RAM: -EPERM while Bus Master Enable is clear
 * (6.2.2), -EFAULT when any byte lies outside RAM (nothing is copied). */
int pci_dma_read(struct pci_dev *d, uint64_t addr, void *buf, uint64_t len);
int pci_dma_write(struct pci_dev *d, uint64_t addr, const void *buf, uint64_t len);
/* For zero-copy transfers: the host pointer of [addr, addr+len) when bus
 * mastering is on and the range is in one RAM region, else NULL. A caller
 * that writes through it calls pci_dma_written afterwards. */
void *pci_dma_ptr(struct pci_dev *d, uint64_t addr, uint64_t len);
void pci_dma_written(struct pci_dev *d, uint64_t addr, uint64_t len);

uint16_t pci_command(const struct pci_dev *d);
/* Slot number (device) on bus 0. */
int pci_slot(const struct pci_dev *d);
/* Current base address of a BAR as the driver programmed it. */
uint64_t pci_bar_address(const struct pci_dev *d, int bar);

/* Config-space access as the ECAM window does it (tests, fuzzers). */
uint32_t pci_config_read(struct pci_dev *d, unsigned off, unsigned size);
void pci_config_write(struct pci_dev *d, unsigned off, uint32_t val, unsigned size);

#endif
