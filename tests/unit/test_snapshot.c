/* The snapshot reader (src/migrate/snapshot.c) against hostile files: each
 * must be refused with -EINVAL (one line on stderr) and never read outside
 * its buffers (the sanitizer build runs this too). Files are made by hand,
 * following the format comment at the top of snapshot.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "engine.h"
#include "migrate/snapshot.h"
#include "vm.h"
#include "vmstate.h"

static int failures;

#define CHECK(name, cond)                                                          \
	do {                                                                       \
		if (cond)                                                          \
			printf("PASS snapshot-%s\n", name);                        \
		else {                                                             \
			printf("FAIL snapshot-%s: %s (line %d)\n", name, #cond,    \
			       __LINE__);                                          \
			failures++;                                                \
		}                                                                  \
	} while (0)

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len) {
		b->cap = (b->cap + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void put64(struct buf *b, uint64_t v) { put(b, &v, 8); }

struct conf {
	uint32_t version, mode, sbi, devices;
	uint64_t memory;
	int32_t cpus;
	int32_t nr_disks, nr_nets;
	uint32_t engine_len;         /* 0: strlen("interp") */
	const char *engine;
};

static void put_string(struct buf *b, const char *s, uint32_t len)
{
	uint8_t present = 1;

	put(b, &present, 1);
	put32(b, len);
	put(b, s, strlen(s));
}

static void put_absent(struct buf *b)
{
	uint8_t present = 0;

	put(b, &present, 1);
}

/* The configuration as config_state writes it. */
static void put_config(struct buf *b, const struct conf *c)
{
	uint8_t no = 0;

	put32(b, c->version);
	put_string(b, TREVO_VERSION, strlen(TREVO_VERSION));
	put_string(b, c->engine, c->engine_len ? c->engine_len : (uint32_t)strlen(c->engine));
	put32(b, c->mode);
	put32(b, c->sbi);
	put32(b, c->devices);
	put(b, &no, 1);
	put64(b, c->memory);
	put32(b, (uint32_t)c->cpus);
	put64(b, 0);
	put_absent(b);
	put_absent(b);
	put_absent(b);
	put_absent(b);
	put32(b, (uint32_t)c->nr_disks);
	put32(b, (uint32_t)c->nr_nets);
}

static void put_section(struct buf *b, uint32_t kind, uint32_t index, const char *id,
			const void *p, uint64_t len, uint64_t claimed_len)
{
	char name[32] = { 0 };

	put32(b, kind);
	put32(b, index);
	if (id)
		memcpy(name, id, strnlen(id, sizeof(name)));
	put(b, name, 32);
	put64(b, claimed_len);
	put32(b, (uint32_t)crc32(0, p, (uInt)len));
	put32(b, 0);
	if (len)
		put(b, p, len);
}

static const struct conf good_conf = {
	.version = 1, .mode = MODE_FULL, .sbi = SBI_FIRMWARE, .devices = DEVICES_REAL,
	.memory = 64 * MiB, .cpus = 1, .engine = "interp",
};

/* A whole file: header, configuration, then what sections() appends. */
static void make(struct buf *b, const struct conf *c, uint32_t format, uint32_t arch,
		 void (*sections)(struct buf *))
{
	struct buf conf = { 0 };

	put_config(&conf, c);
	b->len = 0;
	put(b, "TREVOSNP", 8);
	put32(b, format);
	put32(b, arch);
	put32(b, (uint32_t)conf.len);
	put32(b, (uint32_t)crc32(0, conf.p, (uInt)conf.len));
	put(b, conf.p, conf.len);
	free(conf.p);
	if (sections)
		sections(b);
}

static void good_sections(struct buf *b)
{
	struct vcpu_state st = { 0 };
	uint8_t ram[8] = { 0 };

	put_section(b, 1, 0, NULL, &st, sizeof(st), sizeof(st));
	put_section(b, 4, 0, NULL, ram, sizeof(ram), sizeof(ram));
	put_section(b, 5, 0, NULL, NULL, 0, 0);
}

static void no_vcpu(struct buf *b)
{
	uint8_t ram[8] = { 0 };

	put_section(b, 4, 0, NULL, ram, sizeof(ram), sizeof(ram));
	put_section(b, 5, 0, NULL, NULL, 0, 0);
}

static void vcpu_twice(struct buf *b)
{
	struct vcpu_state st = { 0 };

	put_section(b, 1, 0, NULL, &st, sizeof(st), sizeof(st));
	put_section(b, 1, 0, NULL, &st, sizeof(st), sizeof(st));
	put_section(b, 5, 0, NULL, NULL, 0, 0);
}

static void vcpu_out_of_range(struct buf *b)
{
	struct vcpu_state st = { 0 };

	put_section(b, 1, 7, NULL, &st, sizeof(st), sizeof(st));
	put_section(b, 5, 0, NULL, NULL, 0, 0);
}

static void vcpu_short(struct buf *b)
{
	struct vcpu_state st = { 0 };

	put_section(b, 1, 0, NULL, &st, 16, 16);
	put_section(b, 5, 0, NULL, NULL, 0, 0);
}

static void huge_section(struct buf *b)
{
	put_section(b, 3, 0, "uart", NULL, 0, UINT64_MAX - 20);
}

static void huge_state(struct buf *b)
{
	static uint8_t big[17 * 1024 * 1024];

	put_section(b, 3, 0, "uart", big, sizeof(big), sizeof(big));
	put_section(b, 5, 0, NULL, NULL, 0, 0);
}

static void no_end(struct buf *b)
{
	struct vcpu_state st = { 0 };

	put_section(b, 1, 0, NULL, &st, sizeof(st), sizeof(st));
}

static void unknown_kind(struct buf *b)
{
	put_section(b, 99, 0, NULL, NULL, 0, 0);
}

static void many_sections(struct buf *b)
{
	char id[32];

	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "dev%d", i);
		put_section(b, 3, 0, id, NULL, 0, 0);
	}
	put_section(b, 5, 0, NULL, NULL, 0, 0);
}

static void device_twice(struct buf *b)
{
	put_section(b, 3, 0, "uart", "x", 1, 1);
	put_section(b, 3, 0, "uart", "x", 1, 1);
	put_section(b, 5, 0, NULL, NULL, 0, 0);
}

static void unnamed_id(struct buf *b)
{
	put_section(b, 3, 0, "", "x", 1, 1);
	put_section(b, 5, 0, NULL, NULL, 0, 0);
}

static char path[64];

/* Write b to the file and open it; the snapshot (owner of cfg's strings)
 * is closed again unless keep is given. */
static int try_keep(const struct buf *b, struct vm_config *cfg, struct snapshot **keep)
{
	struct snapshot *s = NULL;
	FILE *f = fopen(path, "wb");
	int err;

	fwrite(b->p, 1, b->len, f);
	fclose(f);
	memset(cfg, 0, sizeof(*cfg));
	cfg->console = "pty";
	err = snapshot_open(path, cfg, &s);
	if (!err && !s)
		return -1000;   /* success must hand out a snapshot */
	if (keep)
		*keep = s;
	else
		snapshot_close(s);
	return err;
}

static int try(const struct buf *b, struct vm_config *cfg)
{
	return try_keep(b, cfg, NULL);
}

int main(void)
{
	struct buf b = { 0 };
	struct vm_config cfg;
	struct conf c;
	uint32_t seed = 12345;
	struct snapshot *kept = NULL;

	snprintf(path, sizeof(path), "/tmp/trevo-test-snapshot-%d.snap", (int)getpid());
	/* Each refusal prints its one line; thousands of them say nothing here
	 * (a sanitizer report goes there too: the exit status still fails the
	 * test; run with TREVO_TEST_VERBOSE=1 to see it). */
	if (!getenv("TREVO_TEST_VERBOSE") && !freopen("/dev/null", "w", stderr))
		return 1;

	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("good", try_keep(&b, &cfg, &kept) == 0 && cfg.cpus == 1 && cfg.memory == 64 * MiB &&
		      cfg.engine && !strcmp(cfg.engine, "interp") && cfg.console &&
		      !strcmp(cfg.console, "pty"));
	snapshot_close(kept);

	CHECK("missing", (unlink(path), snapshot_open(path, &cfg, &(struct snapshot *){ 0 })) == -ENOENT);
	b.len = 0;
	CHECK("empty", try(&b, &cfg) == -EINVAL);
	put(&b, "TREVOSN", 7);
	CHECK("short-magic", try(&b, &cfg) == -EINVAL);

	make(&b, &good_conf, 2, VCPU_ARCH_RISCV64, good_sections);
	CHECK("format-2", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 0, VCPU_ARCH_RISCV64, good_sections);
	CHECK("format-0", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, 3, good_sections);
	CHECK("arch-unknown", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_X86_64, good_sections);
	CHECK("arch-engine-mismatch", try(&b, &cfg) == -EINVAL);

	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, good_sections);
	b.p[16] = 0xff; b.p[17] = 0xff; b.p[18] = 0xff; b.p[19] = 0xff;   /* config_len */
	CHECK("config-len-huge", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, good_sections);
	b.p[30] ^= 1;
	CHECK("config-crc", try(&b, &cfg) == -EINVAL);

	c = good_conf; c.version = 2;
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("config-version-new", try(&b, &cfg) == -EINVAL);
	c = good_conf; c.cpus = 100;
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("cpus-100", try(&b, &cfg) == -EINVAL);
	c = good_conf; c.cpus = -1;
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("cpus-negative", try(&b, &cfg) == -EINVAL);
	c = good_conf; c.memory = 5;
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("memory-tiny", try(&b, &cfg) == -EINVAL);
	c = good_conf; c.memory = 64 * MiB + 1;
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("memory-unaligned", try(&b, &cfg) == -EINVAL);
	c = good_conf; c.mode = 9;
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("mode-bad", try(&b, &cfg) == -EINVAL);
	c = good_conf; c.nr_disks = 1000;
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("disks-1000", try(&b, &cfg) == -EINVAL);
	c = good_conf; c.nr_nets = -5;
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("nets-negative", try(&b, &cfg) == -EINVAL);
	c = good_conf; c.engine_len = 0x7fffffff;
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("string-len-huge", try(&b, &cfg) == -EINVAL);
	c = good_conf; c.engine = "nosuch";
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("engine-unknown", try(&b, &cfg) == -EINVAL);
	c = good_conf; c.engine = "in\x01terp";
	make(&b, &c, 1, VCPU_ARCH_RISCV64, good_sections);
	CHECK("engine-junk", try(&b, &cfg) == -EINVAL);

	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, NULL);
	CHECK("no-sections", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, no_vcpu);
	CHECK("no-vcpu", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, vcpu_twice);
	CHECK("vcpu-twice", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, vcpu_out_of_range);
	CHECK("vcpu-index", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, vcpu_short);
	CHECK("vcpu-short", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, huge_section);
	CHECK("section-len-huge", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, huge_state);
	CHECK("state-over-16M", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, no_end);
	CHECK("no-end", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, unknown_kind);
	CHECK("unknown-kind", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, many_sections);
	CHECK("300-sections", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, device_twice);
	CHECK("device-twice", try(&b, &cfg) == -EINVAL);
	make(&b, &good_conf, 1, VCPU_ARCH_RISCV64, unnamed_id);
	CHECK("device-no-id", try(&b, &cfg) == -EINVAL);

	/* Every truncation of the good file, and random byte flips: refused
	 * or accepted, never a crash or a read out of bounds. */
	{
		struct buf g = { 0 };
		size_t full;
		int refused = 0, odd = 0;
		make(&g, &good_conf, 1, VCPU_ARCH_RISCV64, good_sections);
		full = g.len;
		for (size_t n = 0; n < full; n++) {
			g.len = n;
			int err = try(&g, &cfg);
			refused += err == -EINVAL;
			odd += err != -EINVAL;
		}
		CHECK("every-truncation", refused == (int)full && odd == 0);
		g.len = full;
		for (int i = 0; i < 2000; i++) {
			struct buf m = { 0 };
			put(&m, g.p, g.len);
			for (int k = 0; k < 1 + i % 4; k++) {
				seed = seed * 1103515245 + 12345;
				m.p[(seed >> 8) % m.len] ^= (uint8_t)(1 + (seed >> 24) % 255);
			}
			int err = try(&m, &cfg);
			odd += err != 0 && err != -EINVAL;
			free(m.p);
		}
		CHECK("2000-mutations", odd == 0);
		free(g.p);
	}
	unlink(path);
	free(b.p);
	return failures ? 1 : 0;
}
