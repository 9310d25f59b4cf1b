/* libFuzzer target for the snapshot reader (src/migrate/snapshot.c,
 * included whole): a file given to `trevo run --restore`, opened (header,
 * configuration, section table) and, when that accepts it, restored into a
 * small machine of the same shape (guest RAM in the zstd and the raw
 * layouts, vCPU, board and device sections). Bit 0 of the first byte asks
 * the harness to recompute the header's and sections' crc32s first, so the
 * fuzzer gets past them to the parsers. A bad file must be refused with
 * one line, never a crash, a read past the file or a write outside RAM.
 *
 * FUZZ_SNAPSHOT_SEEDS=DIR: write seed snapshots of that machine (both RAM
 * layouts, and twelve vCPUs) into DIR and exit (how tests/fuzz/corpus/snapshot
 * was made). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "migrate/snapshot.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (16 * MiB)   /* the smallest machine a snapshot describes */

static int get_vcpu(struct vm *vm, int cpu, struct vcpu_state *s)
{
	(void)vm;
	memset(s, 0, sizeof(*s));
	s->version = VCPU_STATE_VERSION;
	s->arch = VCPU_ARCH_RISCV64;
	s->rv.pc = RAM_BASE + (uint64_t)cpu * 4;
	return 0;
}
static int set_vcpu(struct vm *vm, int cpu, const struct vcpu_state *s)
{
	if (cpu < 0 || cpu >= vm->cfg->cpus)
		abort();
	return s->version == VCPU_STATE_VERSION && s->arch == VCPU_ARCH_RISCV64 ? 0 : -EINVAL;
}
static const struct engine_ops fuzz_engine = {
	.name = "fuzz-rv",
	.arch = VCPU_ARCH_RISCV64,
	.get_vcpu = get_vcpu,
	.set_vcpu = set_vcpu,
};
ENGINE(fuzz_engine)

/* A board and a device whose state is a few checked fields. */
static int some_state(struct vmstate *s)
{
	uint32_t a = 7;
	uint64_t b = 9;
	bool c = true;
	uint8_t blob[40] = { 1 };

	if (vms_version(s, 1) < 0)
		return vms_error(s);
	vms_u32(s, &a);
	vms_u64(s, &b);
	vms_bool(s, &c);
	vms_bytes(s, blob, sizeof(blob));
	vms_check(s, a < 100, "a");
	return vms_error(s);
}
static int board_state(struct vm *vm, struct vmstate *s) { (void)vm; return some_state(s); }
static int dev_state(void *opaque, struct vmstate *s) { (void)opaque; return some_state(s); }
static const struct board_ops fuzz_board = { .name = "fuzz", .state = board_state };
static const struct device_ops fuzz_dev_ops = { .name = "fuzzdev", .state = dev_state };

static struct vm_config cfg;
static struct vm vm;
static struct device dev = { .ops = &fuzz_dev_ops, .id = "fuzzdev0" };

static void machine(void)
{
	memset(&vm, 0, sizeof(vm));
	cfg = (struct vm_config){ .engine = "fuzz-rv", .memory = RAM_SIZE, .cpus = 1,
				  .kernel = "Image", .append = "console=hvc0" };
	vm.cfg = &cfg;
	vm.engine = &fuzz_engine;
	vm.board = &fuzz_board;
	vm.devices = &dev;
	if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_SNAPSHOT_SEEDS");
	char path[PATH_MAX], why[256];

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	machine();
	memset(vm.mem.region[0].host, 0x5a, 3 * PAGE);
	memcpy(vm.mem.region[0].host + 100 * PAGE, "hello", 5);
	/* zstd and raw RAM, and (zstd) a machine of twelve vCPUs: more than the
	 * eight the reader's vcpu_seen table once held */
	for (int raw = 0; raw < 3; raw++) {
		snprintf(path, sizeof(path), "%s/%s", dir, raw == 2 ? "twelve-vcpus" : raw ? "raw" : "zstd");
		cfg.cpus = raw == 2 ? 12 : 1;
		if (snapshot_save(&vm, path, raw == 1, why, sizeof(why))) {
			fprintf(stderr, "%s\n", why);
			exit(1);
		}
	}
	exit(0);
}

/* The header's and every section's checksum, as the writer computes them. */
static void fix_crcs(uint8_t *f, size_t n)
{
	uint32_t len, crc;
	uint64_t off;

	if (n < HEADER_SIZE)
		return;
	memcpy(&len, f + 16, 4);
	if (len > n - HEADER_SIZE)
		return;
	crc = (uint32_t)crc32(0, f + HEADER_SIZE, len);
	memcpy(f + 20, &crc, 4);
	for (off = HEADER_SIZE + len; n - off >= SECT_HEADER_SIZE;) {
		uint64_t sl;
		memcpy(&sl, f + off + 40, 8);
		if (sl > n - off - SECT_HEADER_SIZE)
			return;
		crc = (uint32_t)crc32(0, f + off + SECT_HEADER_SIZE, (uInt)sl);
		memcpy(f + off + 48, &crc, 4);
		off += SECT_HEADER_SIZE + sl;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config got = { 0 };
	struct snapshot *snap;
	char path[64];
	uint8_t *f;
	int fd;

	if (size < 1)
		return 0;
	fd = memfd_create("snapshot", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	f = malloc(size);
	memcpy(f, data + 1, size - 1);
	if (data[0] & 1)
		fix_crcs(f, size - 1);
	if (write(fd, f, size - 1) != (ssize_t)(size - 1))
		abort();
	free(f);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (snapshot_open(path, &got, &snap) == 0) {
		if (got.cpus < 1 || got.cpus > SNAPSHOT_MAX_CPUS || got.memory < 16 * MiB || got.nr_disks > VM_MAX_DISKS)
			abort();
		/* Restore into the machine this file describes, when it is
		 * the small one the harness can afford. */
		if (got.memory == RAM_SIZE && snap->arch == VCPU_ARCH_RISCV64) {
			machine();
			cfg.cpus = got.cpus;
			(void)snapshot_restore(&vm, snap);
			gmem_free(&vm.mem);
		}
		snapshot_close(snap);
	}
	close(fd);
	return 0;
}
