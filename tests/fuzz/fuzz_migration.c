/* libFuzzer target for the migration stream receiver (src/migrate/
 * migration.c, included whole): `trevo run --incoming unix:PATH` as it
 * meets a hostile source. A thread of the harness connects to the socket
 * the receiver listens on, sends the input and closes its side; the
 * receiver reads and checks the header and configuration
 * (migration_incoming_open) and, when it accepts them, takes the records
 * (RAM pages, vCPU, board and device state, end) into a small machine of
 * the shape the configuration names (migration_incoming_restore). Bit 0 of
 * the first input byte asks the harness to recompute the header's and the
 * records' crc32s first, so the fuzzer gets past them to the parsers. A
 * bad stream must be refused with one line, never a crash, a read past a
 * buffer, or a page written outside guest RAM; vCPU state may reach only
 * vCPUs that exist.
 *
 * FUZZ_MIGRATION_SEEDS=DIR: write seed streams into DIR and exit (how
 * tests/fuzz/corpus/migration was made): a one-vCPU machine, a two-vCPU
 * one with a page record of every kind, and the twelve-vCPU stream that
 * found the receiver's eight-entry vcpu_seen table. */
#include <stdlib.h>
#include <string.h>

#include "migrate/migration.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (16 * MiB)   /* the smallest machine a configuration describes */

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

/* vmrun.c's, which only the source side (never run here) calls. */
int vm_call_paused(struct vm *v, int (*fn)(struct vm *v, void *arg), void *arg)
{
	(void)v;
	(void)fn;
	(void)arg;
	abort();
}

/* A board and a device whose state is a few checked fields. */
static int some_state(struct vmstate *s)
{
	uint32_t a = 7;
	uint64_t b = 9;
	uint8_t blob[24] = { 1 };

	if (vms_version(s, 1) < 0)
		return vms_error(s);
	vms_u32(s, &a);
	vms_u64(s, &b);
	vms_bytes(s, blob, sizeof(blob));
	vms_check(s, a < 100, "a");
	return vms_error(s);
}
static int board_state(struct vm *vm, struct vmstate *s) { (void)vm; return some_state(s); }
static int dev_state(void *opaque, struct vmstate *s) { (void)opaque; return some_state(s); }
static const struct board_ops fuzz_board = { .name = "fuzz", .state = board_state };
static const struct device_ops fuzz_dev_ops = { .name = "fuzzdev", .state = dev_state };

static struct vm vm;
static struct device dev = { .ops = &fuzz_dev_ops, .id = "fuzzdev0" };
static char uri[108], *sock_path;

/* The source: connect (the receiver binds first), send, close. */
struct feed { const uint8_t *p; size_t n; };

static void *source(void *arg)
{
	struct feed *f = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t sink[256];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	for (int tries = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)); tries++) {
		if (tries > 200000)
			abort();
		sched_yield();
	}
	for (size_t done = 0; done < f->n;) {
		ssize_t k = send(fd, f->p + done, f->n - done, MSG_NOSIGNAL);
		if (k <= 0)
			break;  /* the receiver gave up: fine */
		done += (size_t)k;
	}
	shutdown(fd, SHUT_WR);
	while (recv(fd, sink, sizeof(sink), 0) > 0)
		;
	close(fd);
	return NULL;
}

static void put_record(uint8_t **p, uint32_t kind, uint32_t count, const void *a, size_t alen,
		       const void *b, size_t blen)
{
	uint64_t len = alen + blen;
	uint32_t crc = 0, zero = 0;

	if (alen)
		crc = (uint32_t)crc32(crc, a, (uInt)alen);
	if (blen)
		crc = (uint32_t)crc32(crc, b, (uInt)blen);
	memcpy(*p, &kind, 4);
	memcpy(*p + 4, &count, 4);
	memcpy(*p + 8, &len, 8);
	memcpy(*p + 16, &crc, 4);
	memcpy(*p + 20, &zero, 4);
	*p += REC_HEADER;
	if (alen)
		memcpy(*p, a, alen);
	*p += alen;
	if (blen)
		memcpy(*p, b, blen);
	*p += blen;
}

/* The header's and every record's checksum, as the source computes them. */
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
	for (off = HEADER_SIZE + len; n - off >= REC_HEADER;) {
		uint64_t rl;
		memcpy(&rl, f + off + 8, 8);
		if (rl > n - off - REC_HEADER)
			return;
		crc = rl ? (uint32_t)crc32(0, f + off + REC_HEADER, (uInt)rl) : 0;
		memcpy(f + off + 16, &crc, 4);
		off += REC_HEADER + rl;
	}
}

/* A whole stream from a machine of cpus vCPUs; pages: a zero page and a
 * data page record besides. Returns its length (the first byte is the
 * harness's flags: 0, every checksum is right already). */
static size_t make_stream(uint8_t *out, int cpus, bool pages)
{
	struct vm_config c = { .engine = "fuzz-rv", .memory = RAM_SIZE, .cpus = cpus,
			       .kernel = "Image", .append = "console=hvc0" };
	struct vm v = { .cfg = &c };
	struct vmstate s, bs;
	uint32_t format = MIG_FORMAT, arch = VCPU_ARCH_RISCV64, len, crc;
	uint8_t *p = out;
	char why[200], id[32] = "fuzzdev0";

	*p++ = 0;
	if (snapshot_config_save(&v, &s, why, sizeof(why)))
		abort();
	len = (uint32_t)s.len;
	crc = (uint32_t)crc32(0, s.buf, len);
	memcpy(p, MIG_MAGIC, 8);
	memcpy(p + 8, &format, 4);
	memcpy(p + 12, &arch, 4);
	memcpy(p + 16, &len, 4);
	memcpy(p + 20, &crc, 4);
	memcpy(p + 24, s.buf, len);
	p += HEADER_SIZE + len;
	vms_free(&s);
	if (pages) {
		uint8_t rec[3 * 8 + 2 * PAGE];
		uint64_t e[3] = { RAM_BASE | ZERO_PAGE_BIT, RAM_BASE + PAGE, RAM_BASE + 100 * PAGE };
		memcpy(rec, e, sizeof(e));
		memset(rec + sizeof(e), 0x5a, PAGE);
		memcpy(rec + sizeof(e) + PAGE, "hello", 6);
		memset(rec + sizeof(e) + PAGE + 6, 0, PAGE - 6);
		put_record(&p, REC_PAGES, 3, rec, sizeof(rec), NULL, 0);
	}
	for (int i = 0; i < cpus; i++) {
		struct vcpu_state st;
		get_vcpu(&v, i, &st);
		put_record(&p, REC_VCPU, (uint32_t)i, &st, sizeof(st), NULL, 0);
	}
	vms_init_save(&bs);
	some_state(&bs);
	put_record(&p, REC_BOARD, 0, bs.buf, bs.len, NULL, 0);
	put_record(&p, REC_DEVICE, 0, id, sizeof(id), bs.buf, bs.len);
	vms_free(&bs);
	put_record(&p, REC_END, 0, NULL, 0, NULL, 0);
	return (size_t)(p - out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_MIGRATION_SEEDS");
	static const struct { const char *name; int cpus; bool pages; } seeds[] = {
		{ "one-vcpu", 1, false }, { "two-vcpus-pages", 2, true }, { "twelve-vcpus", 12, false },
	};

	(void)argc;
	(void)argv;
	snprintf(uri, sizeof(uri), "unix:/tmp/trevo-fuzz-migration-%d.sock", (int)getpid());
	sock_path = uri + 5;
	vm.engine = &fuzz_engine;
	vm.board = &fuzz_board;
	vm.devices = &dev;
	if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE))
		abort();
	if (!dir)
		return 0;
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		static uint8_t buf[64 * 1024];
		char path[PATH_MAX];
		size_t n = make_stream(buf, seeds[i].cpus, seeds[i].pages);
		FILE *f;
		snprintf(path, sizeof(path), "%s/%s", dir, seeds[i].name);
		if (!(f = fopen(path, "wb")) || fwrite(buf, 1, n, f) != n || fclose(f))
			abort();
	}
	exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg = { 0 };
	struct incoming *in;
	struct feed f;
	pthread_t t;
	uint8_t *copy;

	if (size < 1)
		return 0;
	copy = malloc(size);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		fix_crcs(copy, size - 1);
	f = (struct feed){ copy, size - 1 };
	unlink(sock_path);
	if (pthread_create(&t, NULL, source, &f))
		abort();
	if (migration_incoming_open(uri, &cfg, &in) == 0) {
		if (cfg.cpus < 1 || cfg.cpus > SNAPSHOT_MAX_CPUS || cfg.memory < 16 * MiB || !cfg.engine ||
		    strcmp(cfg.engine, "fuzz-rv"))
			abort();
		vm.cfg = &cfg;
		(void)migration_incoming_restore(&vm, in);
		incoming_free(in);
	}
	pthread_join(t, NULL);
	free(copy);
	return 0;
}
