/* Control and status registers (privileged spec 1.12, chapters 2-4;
 * unprivileged Zicsr and Zicntr). Unknown CSRs and accesses without the
 * privilege raise illegal-instruction (the caller does it on -1). */
#include "../vm.h"
#include "cpu.h"

enum {
	CSR_FFLAGS = 0x001, CSR_FRM = 0x002, CSR_FCSR = 0x003,
	CSR_SSTATUS = 0x100, CSR_SIE = 0x104, CSR_STVEC = 0x105, CSR_SCOUNTEREN = 0x106,
	CSR_SENVCFG = 0x10a, CSR_SSCRATCH = 0x140, CSR_SEPC = 0x141, CSR_SCAUSE = 0x142,
	CSR_STVAL = 0x143, CSR_SIP = 0x144, CSR_SATP = 0x180,
	CSR_MSTATUS = 0x300, CSR_MISA = 0x301, CSR_MEDELEG = 0x302, CSR_MIDELEG = 0x303,
	CSR_MIE = 0x304, CSR_MTVEC = 0x305, CSR_MCOUNTEREN = 0x306, CSR_MENVCFG = 0x30a,
	CSR_MCOUNTINHIBIT = 0x320, CSR_MSCRATCH = 0x340, CSR_MEPC = 0x341, CSR_MCAUSE = 0x342,
	CSR_MTVAL = 0x343, CSR_MIP = 0x344,
	CSR_PMPCFG0 = 0x3a0, CSR_PMPADDR0 = 0x3b0,
	CSR_MCYCLE = 0xb00, CSR_MINSTRET = 0xb02,
	CSR_CYCLE = 0xc00, CSR_TIME = 0xc01, CSR_INSTRET = 0xc02,
	CSR_MVENDORID = 0xf11, CSR_MARCHID = 0xf12, CSR_MIMPID = 0xf13, CSR_MHARTID = 0xf14,
	CSR_MCONFIGPTR = 0xf15,
	CSR_TSELECT = 0x7a0, CSR_TDATA1 = 0x7a1, CSR_TDATA2 = 0x7a2, CSR_TDATA3 = 0x7a3,
	CSR_TINFO = 0x7a4,
};

#define SSTATUS_MASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | \
		      MSTATUS_MXR)
#define MSTATUS_WMASK (SSTATUS_MASK | MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | \
		       MSTATUS_MPRV | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR)
#define ALL_INTS (MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP)
#define S_INTS (MIP_SSIP | MIP_STIP | MIP_SEIP)
/* 3.1.8: medeleg[11] (ecall from M) is read-only zero */
#define MEDELEG_MASK 0xb3ffULL
/* menvcfg/senvcfg: only FIOM is implemented (no Zicbom, Sstc, Svpbmt) */
#define ENVCFG_MASK 1ULL

static uint64_t mstatus_read(const struct hart *h)
{
	uint64_t s = h->mstatus | (2ULL << 32) | (2ULL << 34); /* UXL = SXL = 64 */
	if ((s & MSTATUS_FS) == MSTATUS_FS)
		s |= MSTATUS_SD;
	return s;
}

/* Counter access rule (3.1.11, 4.1.5): mcounteren gates S and U, scounteren U. */
static bool counter_allowed(const struct hart *h, unsigned csr)
{
	unsigned bit = csr & 31;
	if (h->priv < PRV_M && !((h->mcounteren >> bit) & 1))
		return false;
	if (h->priv < PRV_S && !((h->scounteren >> bit) & 1))
		return false;
	return true;
}

static bool fp_enabled(const struct hart *h)
{
	return (h->mstatus & MSTATUS_FS) != 0;
}

int csr_read(struct hart *h, unsigned csr, uint64_t *val)
{
	if (((csr >> 8) & 3) > (unsigned)h->priv)
		return -1;
	switch (csr) {
	case CSR_FFLAGS:
		if (!fp_enabled(h))
			return -1;
		*val = h->fpu.fflags;
		return 0;
	case CSR_FRM:
		if (!fp_enabled(h))
			return -1;
		*val = h->fpu.frm;
		return 0;
	case CSR_FCSR:
		if (!fp_enabled(h))
			return -1;
		*val = (h->fpu.frm << 5) | h->fpu.fflags;
		return 0;
	case CSR_CYCLE: case CSR_INSTRET: case CSR_TIME:
		if (!counter_allowed(h, csr))
			return -1;
		*val = csr == CSR_TIME ? rv_mtime(h->cpu) : h->instret;
		return 0;
	case CSR_MCYCLE: case CSR_MINSTRET:
		*val = h->instret;
		return 0;
	case CSR_SSTATUS:
		*val = mstatus_read(h) & (SSTATUS_MASK | MSTATUS_UXL | MSTATUS_SD);
		return 0;
	case CSR_SIE: *val = h->mie & h->mideleg; return 0;
	case CSR_SIP: *val = atomic_load(&h->mip) & h->mideleg; return 0;
	case CSR_STVEC: *val = h->stvec; return 0;
	case CSR_SCOUNTEREN: *val = h->scounteren; return 0;
	case CSR_SENVCFG: *val = h->senvcfg; return 0;
	case CSR_SSCRATCH: *val = h->sscratch; return 0;
	case CSR_SEPC: *val = h->sepc; return 0;
	case CSR_SCAUSE: *val = h->scause; return 0;
	case CSR_STVAL: *val = h->stval; return 0;
	case CSR_SATP:
		if (h->priv == PRV_S && (h->mstatus & MSTATUS_TVM))
			return -1;
		*val = h->satp;
		return 0;
	case CSR_MSTATUS: *val = mstatus_read(h); return 0;
	case CSR_MISA: *val = h->misa; return 0;
	case CSR_MEDELEG: *val = h->medeleg; return 0;
	case CSR_MIDELEG: *val = h->mideleg; return 0;
	case CSR_MIE: *val = h->mie; return 0;
	case CSR_MIP: *val = atomic_load(&h->mip); return 0;
	case CSR_MTVEC: *val = h->mtvec; return 0;
	case CSR_MCOUNTEREN: *val = h->mcounteren; return 0;
	case CSR_MENVCFG: *val = h->menvcfg; return 0;
	case CSR_MCOUNTINHIBIT: *val = h->mcountinhibit; return 0;
	case CSR_MSCRATCH: *val = h->mscratch; return 0;
	case CSR_MEPC: *val = h->mepc; return 0;
	case CSR_MCAUSE: *val = h->mcause; return 0;
	case CSR_MTVAL: *val = h->mtval; return 0;
	case CSR_MVENDORID: case CSR_MARCHID: case CSR_MIMPID: case CSR_MCONFIGPTR:
		*val = 0;
		return 0;
	case CSR_MHARTID: *val = h->mhartid; return 0;
	/* Debug spec 0.13.2, 5.2: no triggers. tselect holds only 0 (WARL),
	 * tdata1 reads type 0 ("there is no trigger at this tselect"), and
	 * tinfo says only type 0 exists; probing software (OpenSBI, Linux,
	 * gdb) sees an empty trigger module instead of a trap. */
	case CSR_TSELECT: case CSR_TDATA1: case CSR_TDATA2: case CSR_TDATA3:
		*val = 0;
		return 0;
	case CSR_TINFO:
		*val = 1;
		return 0;
	default:
		break;
	}
	if (csr >= CSR_PMPCFG0 && csr < CSR_PMPCFG0 + 16) {
		if (csr & 1)
			return -1; /* RV64: odd pmpcfg registers do not exist */
		*val = h->pmpcfg[(csr - CSR_PMPCFG0) / 2];
		return 0;
	}
	if (csr >= CSR_PMPADDR0 && csr < CSR_PMPADDR0 + 64) {
		*val = h->pmpaddr[csr - CSR_PMPADDR0];
		return 0;
	}
	/* hpm counters and events: implemented as constant zero */
	if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) {
		*val = 0;
		return 0;
	}
	if (csr >= 0xc03 && csr <= 0xc1f) {
		if (!counter_allowed(h, csr))
			return -1;
		*val = 0;
		return 0;
	}
	return -1;
}

static void set_mstatus(struct hart *h, uint64_t v, uint64_t mask)
{
	uint64_t old = h->mstatus, nv = (old & ~mask) | (v & mask);

	/* MPP is WARL: 2 (reserved) keeps the old value */
	if (((nv >> 11) & 3) == 2)
		nv = (nv & ~MSTATUS_MPP) | (old & MSTATUS_MPP);
	h->mstatus = nv;
	if ((old ^ nv) & (MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_SUM | MSTATUS_MXR))
		tlb_select(h);  /* other contexts (cpu.h): no flush */
}

int csr_write(struct hart *h, unsigned csr, uint64_t v)
{
	if (((csr >> 8) & 3) > (unsigned)h->priv || (csr >> 10) == 3)
		return -1;
	switch (csr) {
	case CSR_FFLAGS:
		if (!fp_enabled(h))
			return -1;
		h->fpu.fflags = v & 0x1f;
		h->mstatus |= MSTATUS_FS;
		return 0;
	case CSR_FRM:
		if (!fp_enabled(h))
			return -1;
		h->fpu.frm = v & 7;
		h->mstatus |= MSTATUS_FS;
		return 0;
	case CSR_FCSR:
		if (!fp_enabled(h))
			return -1;
		h->fpu.fflags = v & 0x1f;
		h->fpu.frm = (v >> 5) & 7;
		h->mstatus |= MSTATUS_FS;
		return 0;
	case CSR_SSTATUS: set_mstatus(h, v, SSTATUS_MASK); return 0;
	case CSR_SIE: h->mie = (h->mie & ~h->mideleg) | (v & h->mideleg & S_INTS); return 0;
	case CSR_SIP:
		/* only SSIP is writable from S (4.1.3) */
		if (h->mideleg & MIP_SSIP)
			hart_set_mip(h, MIP_SSIP, v & MIP_SSIP);
		return 0;
	case CSR_STVEC: h->stvec = v & ~2ULL; return 0;
	case CSR_SCOUNTEREN: h->scounteren = v & 0xffffffff; return 0;
	case CSR_SENVCFG: h->senvcfg = v & ENVCFG_MASK; return 0;
	case CSR_SSCRATCH: h->sscratch = v; return 0;
	case CSR_SEPC: h->sepc = v & ~1ULL; return 0;
	case CSR_SCAUSE: h->scause = v; return 0;
	case CSR_STVAL: h->stval = v; return 0;
	case CSR_SATP: {
		uint64_t mode = v >> 60;
		if (h->priv == PRV_S && (h->mstatus & MSTATUS_TVM))
			return -1;
		/* 4.1.11: an unsupported MODE makes the whole write have no
		 * effect; ASIDLEN = 16 (all of ASID is writable). A write
		 * implies no invalidation: the TLB keeps each address space
		 * apart (cpu.h) and switches to the new one's contexts. */
		if (mode != 0 && mode != 8 && mode != 9)
			return 0;
		h->satp = v & ((0xfULL << 60) | (0xffffULL << 44) | ((1ULL << 44) - 1));
		tlb_switch_space(h);
		return 0;
	}
	case CSR_MSTATUS: set_mstatus(h, v, MSTATUS_WMASK); return 0;
	case CSR_MISA: return 0; /* WARL, fixed */
	case CSR_MEDELEG: h->medeleg = v & MEDELEG_MASK; return 0;
	case CSR_MIDELEG: h->mideleg = v & S_INTS; return 0;
	case CSR_MIE: h->mie = v & ALL_INTS; return 0;
	case CSR_MIP: {
		/* SSIP and STIP are writable by M; MEIP/MTIP/MSIP/SEIP follow
		 * their sources */
		uint64_t wmask = MIP_SSIP | MIP_STIP;
		hart_set_mip(h, v & wmask, true);
		hart_set_mip(h, ~v & wmask, false);
		return 0;
	}
	case CSR_MTVEC: h->mtvec = v & ~2ULL; return 0;
	case CSR_MCOUNTEREN: h->mcounteren = v & 0xffffffff; return 0;
	case CSR_MENVCFG: h->menvcfg = v & ENVCFG_MASK; return 0;
	case CSR_MCOUNTINHIBIT: h->mcountinhibit = v & 0xfffffffd; return 0;
	case CSR_MSCRATCH: h->mscratch = v; return 0;
	case CSR_MEPC: h->mepc = v & ~1ULL; return 0;
	case CSR_MCAUSE: h->mcause = v; return 0;
	case CSR_MTVAL: h->mtval = v; return 0;
	case CSR_MCYCLE: case CSR_MINSTRET:
		h->instret = v;
		return 0;
	case CSR_TSELECT: case CSR_TDATA1: case CSR_TDATA2: case CSR_TDATA3:
		return 0;  /* WARL with no trigger to select or program */
	case CSR_TINFO:
		return 0;  /* read-only: writes have no effect */
	default:
		break;
	}
	if (csr >= CSR_PMPCFG0 && csr < CSR_PMPCFG0 + 16) {
		unsigned n = (csr - CSR_PMPCFG0) / 2;
		uint64_t old = h->pmpcfg[n], nv = 0;
		if (csr & 1)
			return -1;
		/* per entry: locked entries keep their value; W without R is
		 * reserved and reads back with R=W=0 (WARL) */
		for (int e = 0; e < 8; e++) {
			uint8_t ob = old >> (8 * e), b = v >> (8 * e);
			if (ob & 0x80)
				b = ob;
			else if ((b & 3) == 2)
				b &= ~3;
			nv |= (uint64_t)(b & 0x9f) << (8 * e);
		}
		h->pmpcfg[n] = nv;
		return 0;
	}
	if (csr >= CSR_PMPADDR0 && csr < CSR_PMPADDR0 + 64) {
		unsigned n = csr - CSR_PMPADDR0;
		if ((h->pmpcfg[n / 8] >> (8 * (n % 8))) & 0x80)
			return 0;
		h->pmpaddr[n] = v & ((1ULL << 54) - 1);
		return 0;
	}
	if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f))
		return 0;
	return -1;
}

int csr_insn(struct hart *h, uint32_t raw, unsigned csr, unsigned rs1, unsigned rd,
	     uint64_t rs1_val, uint64_t pc, uint64_t adj, uint64_t *rd_val, bool *wrote)
{
	unsigned f3 = (raw >> 12) & 7;
	uint64_t src = (f3 & 4) ? rs1 : rs1_val, old = 0;
	bool write = (f3 & 3) == 1 || rs1 != 0;
	bool read = (f3 & 3) != 1 || rd != 32;
	int err = 0;

	h->instret -= adj;
	h->pc = pc;
	if (read)
		err = csr_read(h, csr, &old);
	if (!err && write) {
		uint64_t nv = (f3 & 3) == 1 ? src : (f3 & 3) == 2 ? old | src : old & ~src;
		err = csr_write(h, csr, nv);
	}
	h->instret += adj;
	if (err)
		return -1;
	*rd_val = old;
	*wrote = write;
	return 0;
}
