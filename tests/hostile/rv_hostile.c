/* A hostile RISC-V guest (bare metal, M-mode, linked with tests/isa's
 * start-up and trap handler): it enumerates the PCIe bus, gives the AHCI
 * controller and the e1000 their BARs with bus mastering on, and then, for
 * a fixed number of rounds driven by a seeded xorshift generator:
 *   - writes random values at random widths to every device's registers
 *     (AHCI HBA and port registers, e1000, PCI config space, UART, PLIC,
 *     CLINT, RTC), with "addresses" chosen to hurt: inside RAM, across its
 *     end, past it, 0, the top of the address space, MMIO;
 *   - builds AHCI command lists, command tables and PRDTs and e1000
 *     descriptor rings in RAM whose pointers and lengths are such values
 *     (huge byte counts, rings that wrap, heads past the tail), starts them
 *     (PxCI, TDT/RDT) and resets the HBA or the NIC mid-request;
 *   - executes illegal instructions, accesses CSRs that do not exist, and
 *     loads and stores at random physical addresses outside RAM.
 * Every trap is taken by the hook below, which skips the instruction: the
 * architected reaction (illegal instruction, access fault) is all Trevo
 * may do. Then the e1000 is reset and loses bus mastering, the UART is put
 * back, and a well-behaved AHCI driver resets the HBA, brings port 0 up,
 * writes a pattern to sectors 1-4 with WRITE DMA EXT, reads it back with
 * READ DMA EXT and compares; the console prints a marker with the result
 * and the test device powers off with status 0. The test then finds the
 * pattern in the host image. */
#include <stdint.h>

#define RAM_BASE   0x80000000UL
#define SCRATCH    0x80600000UL   /* free RAM for rings and buffers (isa.ld) */
#define SCRATCH_END 0x80c00000UL
/* The well-behaved driver's command list, FIS area, table and buffers:
 * past anything a chaos PRD (at most 4 MiB from the scratch area) reached. */
#define GOOD        0x81000000UL
#define ECAM       0x30000000UL
#define PCI_MMIO   0x40000000UL
#define UART       0x10000000UL
#define PLIC       0x0c000000UL
#define CLINT      0x02000000UL
#define RTC        0x00101000UL

#ifndef ROUNDS
#define ROUNDS 20000
#endif

void puts(const char *s);
void puthex(uint64_t v);
extern void *trap_hook;
extern uint64_t trap_count;

static uint64_t ram_end;          /* from --memory: the test passes 128 MiB */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The register frame of crt.S: x1..x31 at 8*n; the hook skips the trapping
 * instruction (2 or 4 bytes) and returns 0 to resume there. */
long hostile_hook(uint64_t *frame)
{
	uint64_t epc;
	uint16_t half;

	(void)frame;
	__asm__ volatile("csrr %0, mepc" : "=r"(epc));
	half = *(volatile uint16_t *)epc;
	epc += (half & 3) == 3 ? 4 : 2;
	__asm__ volatile("csrw mepc, %0" :: "r"(epc));
	return 0;
}

static void w8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static void w16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static void w32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static void w64(uint64_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static uint32_t r32(uint64_t a) { return *(volatile uint32_t *)a; }

static void wr(uint64_t a, uint64_t v, unsigned width)
{
	switch (width & 3) {
	case 0: w8(a, (uint8_t)v); break;
	case 1: w16(a & ~1UL, (uint16_t)v); break;
	case 2: w32(a & ~3UL, (uint32_t)v); break;
	default: w64(a & ~7UL, v); break;
	}
}

/* An address a device should refuse or clip. */
static uint64_t evil_addr(void)
{
	uint64_t r = rnd();

	switch (r % 8) {
	case 0: return SCRATCH + (r >> 8) % (SCRATCH_END - SCRATCH);     /* fine */
	case 1: return ram_end - 64 + (r >> 8) % 128;                    /* across the end */
	case 2: return ram_end + (r >> 8) % (1UL << 30);                 /* past it */
	case 3: return (r >> 8) & 0xfff;                                  /* 0 */
	case 4: return ~0UL - ((r >> 8) & 0xfff);                         /* the top */
	case 5: return PCI_MMIO + ((r >> 8) & 0xffff);                    /* MMIO */
	/* Below RAM, far enough that even a 4 MiB PRD (the most AHCI moves
	 * at once) ends before it: a DMA that straddles into RAM may rightly
	 * write the part inside (master abort for the rest), which would be
	 * this program clobbering itself, not a fault of the devices. */
	case 6: return RAM_BASE - (64UL << 20) + (r >> 8) % (32UL << 20);
	default: return r;
	}
}

static uint32_t evil_len(void)
{
	uint64_t r = rnd();

	switch (r % 4) {
	case 0: return 0;
	case 1: return (uint32_t)(r >> 8) % 8192;
	case 2: return 0xffffffffu - (uint32_t)((r >> 8) & 0xff);
	default: return (uint32_t)(r >> 8);
	}
}

/* A scratch address that does not overlap our image or stack. */
static uint64_t scratch(uint64_t size)
{
	return (SCRATCH + rnd() % (SCRATCH_END - SCRATCH - size)) & ~127UL;
}

static uint64_t ahci_bar, e1000_bar;

/* The ECAM page of the function pci_setup gave this BAR (slot n: BAR at
 * PCI_MMIO + n MiB). */
static uint64_t config_of(uint64_t bar)
{
	return ECAM + (((bar - PCI_MMIO) / 0x100000) << 15);
}

static void pci_setup(void)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		uint64_t cfg = ECAM + ((uint64_t)dev << 15);
		uint32_t id = r32(cfg);
		uint64_t bar = PCI_MMIO + (uint64_t)dev * 0x100000;
		if (id == 0xffffffffu)
			continue;
		if (id == 0x29228086u) {         /* ICH9 AHCI: ABAR is BAR5 */
			w32(cfg + 0x24, (uint32_t)bar);
			ahci_bar = bar;
		} else if (id == 0x100e8086u) {  /* 82540EM: BAR0 */
			w32(cfg + 0x10, (uint32_t)bar);
			e1000_bar = bar;
		}
		w16(cfg + 4, 0x7);               /* I/O, memory, bus master */
	}
}

/* AHCI 1.3.1 section 4: a command list of 32 headers, a command table with
 * a PRDT, all with hostile pointers and counts, then issued. */
static void ahci_round(void)
{
	uint64_t port = ahci_bar + 0x100 + (rnd() % 2) * 0x80;
	uint64_t clb = rnd() % 4 ? scratch(1024) : evil_addr();
	uint64_t fb = rnd() % 4 ? scratch(256) : evil_addr();

	for (unsigned slot = 0; slot < 32 && clb >= SCRATCH && clb < SCRATCH_END; slot++) {
		uint64_t h = clb + slot * 32, ctba = rnd() % 3 ? scratch(0x400) : evil_addr();
		uint32_t prdtl = (uint32_t)(rnd() % 4 ? rnd() % 8 : rnd() & 0xffff);
		w32(h, (uint32_t)(5 | (rnd() & 0x40) | prdtl << 16 | (rnd() & 0xff80)));  /* CFL 5, W? */
		w32(h + 4, (uint32_t)rnd());
		w64(h + 8, ctba);
		if (ctba >= SCRATCH && ctba + 0x400 <= SCRATCH_END) {
			/* H2D register FIS: READ/WRITE DMA EXT, FPDMA, IDENTIFY,
			 * FLUSH, or nonsense; any LBA and count. */
			static const uint8_t cmds[] = { 0x25, 0x35, 0x60, 0x61, 0xec, 0xea, 0xe7, 0x00, 0xff };
			w8(ctba, 0x27);
			w8(ctba + 1, 0x80);
			w8(ctba + 2, cmds[rnd() % sizeof(cmds)]);
			w64(ctba + 4, rnd());
			w32(ctba + 12, (uint32_t)rnd());
			for (unsigned i = 0; i < 8 && i < prdtl; i++) {
				w64(ctba + 0x80 + i * 16, evil_addr());
				w32(ctba + 0x80 + i * 16 + 12, evil_len());
			}
		}
	}
	w32(port + 0x18, 0);                                 /* PxCMD: stop */
	w32(port + 0x00, (uint32_t)clb);
	w32(port + 0x04, (uint32_t)(clb >> 32));
	w32(port + 0x08, (uint32_t)fb);
	w32(port + 0x0c, (uint32_t)(fb >> 32));
	w32(port + 0x10, ~0u);                               /* PxIS: clear */
	w32(port + 0x14, (uint32_t)rnd());                   /* PxIE */
	w32(port + 0x18, 0x11);                              /* FRE | ST */
	w32(ahci_bar + 0x04, (uint32_t)(rnd() & 0x80000002));/* GHC.AE, IE */
	w32(port + 0x34, (uint32_t)rnd());                   /* PxSACT */
	w32(port + 0x38, (uint32_t)rnd());                   /* PxCI */
	if (rnd() % 8 == 0)
		w32(ahci_bar + 0x04, 0x80000001);                /* HBA reset mid-request */
	if (rnd() % 8 == 0)
		w32(port + 0x2c, (uint32_t)(rnd() & 0xf));       /* PxSCTL: COMRESET */
}

/* 8254x manual 3.2/3.3: legacy and context/data descriptors with hostile
 * buffers and lengths, the rings anywhere, heads and tails anywhere. */
static void e1000_round(void)
{
	uint64_t ring = rnd() % 4 ? scratch(4096) : evil_addr();
	uint32_t len = rnd() % 4 ? (uint32_t)(rnd() % 33) * 128 : (uint32_t)rnd();

	if (ring >= SCRATCH && ring + 4096 <= SCRATCH_END)
		for (unsigned i = 0; i < 256; i++) {
			w64(ring + i * 16, evil_addr());
			w64(ring + i * 16 + 8, rnd());  /* length, CSO, CMD (EOP, DEXT...), STA */
		}
	if (rnd() & 1) {
		w32(e1000_bar + 0x3800, (uint32_t)ring);          /* TDBAL */
		w32(e1000_bar + 0x3804, (uint32_t)(ring >> 32));
		w32(e1000_bar + 0x3808, len);                     /* TDLEN */
		w32(e1000_bar + 0x3810, (uint32_t)rnd() % 300);   /* TDH */
		w32(e1000_bar + 0x0400, (uint32_t)(rnd() | 2));   /* TCTL.EN */
		w32(e1000_bar + 0x3818, (uint32_t)rnd() % 300);   /* TDT */
	} else {
		w32(e1000_bar + 0x2800, (uint32_t)ring);          /* RDBAL */
		w32(e1000_bar + 0x2804, (uint32_t)(ring >> 32));
		w32(e1000_bar + 0x2808, len);
		w32(e1000_bar + 0x2810, (uint32_t)rnd() % 300);
		w32(e1000_bar + 0x0100, (uint32_t)(rnd() | 2));   /* RCTL.EN, any buffer size */
		w32(e1000_bar + 0x2818, (uint32_t)rnd() % 300);
	}
	if (rnd() % 8 == 0)
		w32(e1000_bar, 1u << 26);                         /* CTRL.RST mid-request */
}

static void register_round(void)
{
	uint64_t r = rnd(), v = rnd() % 2 ? rnd() : evil_addr();
	unsigned width = (unsigned)(r >> 40);

	switch (r % 8) {
	case 0: wr(ahci_bar + (r >> 8) % 0x1100, v, width); break;
	case 1: wr(e1000_bar + (r >> 8) % 0x20000, v, width); break;
	case 2: {  /* config space of the two devices, past the BARs' writes */
		uint64_t cfg = config_of((r >> 8) & 1 ? ahci_bar : e1000_bar);
		wr(cfg + 0x3c + (r >> 9) % (4096 - 0x3c), v, width);
		break;
	}
	case 3: wr(UART + (r >> 8) % 8, v, 0); break;
	case 4: wr(PLIC + (r >> 8) % 0x600000, v, 2); break;
	case 5: wr(CLINT + 0x4000 + (r >> 8) % 0x40, v, width); break;   /* mtimecmp */
	case 6: wr(RTC + (r >> 8) % 0x20, v, 2); break;
	default: (void)r32((evil_addr() | 3) ^ 3); break;
	}
}

static void insn_round(void)
{
	uint64_t r = rnd(), a = ram_end + (r >> 8) % (1UL << 32);

	switch (r % 6) {
	case 0: __asm__ volatile(".word 0"); break;                 /* illegal */
	case 1: __asm__ volatile(".word 0xffffffff"); break;        /* illegal, 32-bit */
	case 2: __asm__ volatile("csrr t0, 0x7ff" ::: "t0"); break; /* no such CSR */
	case 3: __asm__ volatile("csrw 0xc00, zero"); break;        /* read-only CSR */
	case 4: w64(a & ~7UL, r); break;                             /* store: access fault */
	default: (void)*(volatile uint64_t *)(a & ~7UL); break;     /* load: access fault */
	}
}

/* --- the well-behaved AHCI driver (AHCI 1.3.1 sections 10.1.2, 10.4.3,
 * 5.5; ATA8-ACS WRITE/READ DMA EXT) ----------------------------------- */

#define PATTERN_SECTORS 4
#define PORT0 (ahci_bar + 0x100)

static int wait_clear(uint64_t a, uint32_t bits)
{
	for (unsigned long i = 0; i < 10000000UL; i++)
		if (!(r32(a) & bits))
			return 0;
	return -1;
}

static const char *ahci_bring_up(void)
{
	uint64_t clb = GOOD, fb = GOOD + 0x400;

	w32(ahci_bar + 0x04, 1);                       /* GHC.HR */
	if (wait_clear(ahci_bar + 0x04, 1))
		return "HBA reset did not finish";
	w32(ahci_bar + 0x04, 0x80000000u);             /* GHC.AE, no interrupts */
	w32(PORT0 + 0x18, 0);                          /* ST, FRE off */
	if (wait_clear(PORT0 + 0x18, (1u << 15) | (1u << 14)))
		return "port did not stop (PxCMD.CR/FR)";
	w32(PORT0 + 0x2c, 0);                          /* PxSCTL: no COMRESET held */
	for (unsigned i = 0; i < 0x500; i += 4)
		w32(clb + i, 0);
	w32(PORT0 + 0x00, (uint32_t)clb);
	w32(PORT0 + 0x04, 0);
	w32(PORT0 + 0x08, (uint32_t)fb);
	w32(PORT0 + 0x0c, 0);
	w32(PORT0 + 0x30, ~0u);                        /* PxSERR */
	w32(PORT0 + 0x10, ~0u);                        /* PxIS */
	w32(PORT0 + 0x14, 0);                          /* PxIE */
	if ((r32(PORT0 + 0x28) & 0xf) != 3)            /* PxSSTS.DET: present */
		return "no device on port 0";
	if (wait_clear(PORT0 + 0x20, 0x88))            /* PxTFD: BSY, DRQ */
		return "device busy";
	w32(PORT0 + 0x18, 0x10);                       /* FRE */
	w32(PORT0 + 0x18, 0x11);                       /* FRE | ST */
	return 0;
}

/* One command in slot 0: sectors [lba, lba + n) to or from buf. */
static const char *ahci_rw(int write, uint64_t lba, unsigned n, uint64_t buf)
{
	uint64_t hdr = GOOD, tbl = GOOD + 0x800;

	for (unsigned i = 0; i < 0x100; i += 4)
		w32(tbl + i, 0);
	w32(hdr, 5 | (write ? 1u << 6 : 0) | 1u << 16);  /* CFL 5 dwords, W, PRDTL 1 */
	w32(hdr + 4, 0);                                 /* PRDBC */
	w64(hdr + 8, tbl);
	w8(tbl + 0, 0x27);                               /* H2D register FIS */
	w8(tbl + 1, 0x80);                               /* C: command */
	w8(tbl + 2, write ? 0x35 : 0x25);                /* WRITE/READ DMA EXT */
	w8(tbl + 4, (uint8_t)lba);
	w8(tbl + 5, (uint8_t)(lba >> 8));
	w8(tbl + 6, (uint8_t)(lba >> 16));
	w8(tbl + 7, 0x40);                               /* LBA mode */
	w8(tbl + 8, (uint8_t)(lba >> 24));
	w8(tbl + 9, (uint8_t)(lba >> 32));
	w8(tbl + 10, (uint8_t)(lba >> 40));
	w8(tbl + 12, (uint8_t)n);
	w8(tbl + 13, (uint8_t)(n >> 8));
	w64(tbl + 0x80, buf);                            /* PRD: DBA */
	w32(tbl + 0x8c, n * 512 - 1);                    /* DBC: bytes - 1 */
	__asm__ volatile("fence rw, rw");
	w32(PORT0 + 0x38, 1);                            /* PxCI */
	if (wait_clear(PORT0 + 0x38, 1))
		return "command did not complete";
	if (r32(PORT0 + 0x10) & (1u << 30))              /* PxIS.TFES */
		return "task file error";
	if (r32(PORT0 + 0x20) & 1)                       /* PxTFD.ERR */
		return "ATA error";
	if (r32(hdr + 4) != n * 512)                     /* PRDBC */
		return "short transfer";
	return 0;
}

static uint8_t pattern_byte(unsigned s, unsigned i)
{
	static const char tag[] = "HOSTILE-PATTERN";

	return i < 15 ? (uint8_t)tag[i] : (uint8_t)(s * 31 + i);
}

static const char *disk_check(void)
{
	uint64_t out = GOOD + 0x10000, in = GOOD + 0x20000;
	const char *why;

	if ((why = ahci_bring_up()))
		return why;
	for (unsigned s = 1; s <= PATTERN_SECTORS; s++)
		for (unsigned i = 0; i < 512; i++)
			w8(out + (s - 1) * 512 + i, pattern_byte(s, i));
	for (unsigned i = 0; i < PATTERN_SECTORS * 512; i += 8)
		w64(in + i, ~0UL);
	if ((why = ahci_rw(1, 1, PATTERN_SECTORS, out)) || (why = ahci_rw(0, 1, PATTERN_SECTORS, in)))
		return why;
	for (unsigned i = 0; i < PATTERN_SECTORS * 512; i++)
		if (*(volatile uint8_t *)(in + i) != *(volatile uint8_t *)(out + i))
			return "the sectors read back differ";
	return 0;
}

void test_main(void)
{
	const char *disk;
	uint64_t traps;

	trap_hook = (void *)hostile_hook;
	ram_end = RAM_BASE + (128UL << 20);
	pci_setup();
	if (!ahci_bar || !e1000_bar) {
		puts("hostile: no AHCI or e1000 on the PCI bus\n");
		return;
	}
	for (unsigned i = 0; i < ROUNDS; i++) {
		switch (rnd() % 8) {
		case 0: ahci_round(); break;
		case 1: e1000_round(); break;
		case 2: insn_round(); break;
		default: register_round(); break;
		}
	}
	traps = trap_count;
	/* The NIC quiet: reset, and no more DMA (PCI command: memory only). */
	w32(e1000_bar, 1u << 26);
	w16(config_of(e1000_bar) + 4, 0x2);
	/* Well-behaved drivers again: the UART set up afresh (8n1, FIFOs
	 * on, no interrupts, no loopback), the disk, then a line. */
	w8(UART + 3, 0x03);
	w8(UART + 1, 0x00);
	w8(UART + 2, 0x07);
	w8(UART + 4, 0x00);
	w32(config_of(ahci_bar) + 0x24, (uint32_t)ahci_bar);  /* ABAR, as pci_setup left it */
	w16(config_of(ahci_bar) + 4, 0x6);                   /* memory, bus master */
	disk = disk_check();
	puts("\nHOSTILE-SURVIVED traps=");
	puthex(traps);
	puts(disk ? " disk=FAIL: " : " disk=ok");
	if (disk)
		puts(disk);
	puts("\n");
}
