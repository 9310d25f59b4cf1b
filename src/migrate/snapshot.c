/* Snapshots: the whole VM in one file.
 *
 * The format (version 1). Every integer is little-endian; every length in
 * the file is checked against the file's size and against what its reader
 * expects before anything is read or allocated.
 *
 *   file header, 24 bytes:
 *     char magic[8]    "TREVOSNP"
 *     u32  format      SNAP_FORMAT (1); another one is refused
 *     u32  arch        enum vcpu_arch of the machine (1 riscv64, 2 x86_64)
 *     u32  config_len  bytes of the configuration that follows (<= 64 KiB)
 *     u32  config_crc  crc32 (zlib) of those bytes
 *   configuration: a vmstate stream (config_state below): its own version,
 *     the Trevo version that wrote it, engine, mode, sbi, device family,
 *     memory, cpus, firmware/kernel/initrd paths and append (each may be
 *     absent), the disks (spec, and the image's st_dev, st_ino, size and
 *     mtime when the snapshot was taken) and the network specs.
 *   sections, each a 56-byte header and len bytes of payload:
 *     u32 kind, u32 index, char id[32] (NUL-padded), u64 len, u32 crc32 of
 *     the payload, u32 0
 *     SECT_VCPU   index = vCPU number; payload = struct vcpu_state (engine.h)
 *     SECT_BOARD  the board's state function's bytes
 *     SECT_DEVICE id = the device id ("virtio-blk0"); its state bytes
 *     SECT_RAM    u32 layout, u32 nr_regions, then per region u64 gpa,
 *                 u64 size and
 *                   zstd: u64 pages present, a bitmap of them (bit p of
 *                         byte p/8 for the region's page p); after the last
 *                         region one zstd frame of the present pages in
 *                         order, up to the end of the section
 *                   raw:  u64 file offset (page-aligned) of the region's
 *                         image
 *     SECT_END    len 0; ends the sections
 *   raw layout only: each region's image, page-aligned, after SECT_END. It
 *     is a sparse file: zero pages are holes, so they take no disk space,
 *     and restore maps the image over guest RAM with MAP_PRIVATE|MAP_FIXED
 *     (copy-on-write, read from the page cache on first touch, as
 *     Firecracker restores). Its bytes carry no checksum: computing one
 *     would read all of RAM at restore, which the layout exists to avoid.
 *
 * Pages that are all zero are not stored (zstd) or left as holes (raw). A
 * snapshot is written to a temporary file beside its target, fsynced,
 * renamed over it and the directory fsynced, so the target is either the
 * old file or the whole new one. Disk images are the user's (as with
 * Firecracker): only their identity is recorded, and a restore refuses an
 * image that changed. */
#include "snapshot.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "../engine.h"
#include "../host/blockfile.h"
#include "../vm.h"
#include "../vmstate.h"

#define SNAP_MAGIC "TREVOSNP"
#define SNAP_FORMAT 1
#define CONFIG_VERSION 1
#define HEADER_SIZE 24
#define SECT_HEADER_SIZE 56
#define MAX_CONFIG (64 * KiB)
#define MAX_STRING 4096
#define MAX_STATE (16 * MiB)     /* one board or device section */
#define MAX_SECTIONS 256
#define PAGE 4096ULL

enum { SECT_VCPU = 1, SECT_BOARD, SECT_DEVICE, SECT_RAM, SECT_END };
enum { RAM_ZSTD = 0, RAM_RAW = 1 };

struct disk_id {
	uint64_t dev, ino, size, mtime_sec, mtime_nsec;
};

struct section {
	uint32_t kind, index;
	char id[33];
	uint64_t off, len;           /* payload */
	uint32_t crc;
};

struct snapshot {
	char *path;
	int fd;
	uint64_t file_size;
	uint64_t opened_ns;          /* host_ns() at snapshot_open */
	uint32_t arch;
	int nr_sections;
	struct section sect[MAX_SECTIONS];
	/* The configuration's strings, owned here. */
	char *strings[8 + VM_MAX_DISKS + VM_MAX_NETS];
	int nr_strings;
	struct disk_id disk[VM_MAX_DISKS];
};

/* ---- the configuration -------------------------------------------------- */

/* What a restore needs to build the same machine; the strings point into
 * the config when saving and into snap->strings when loading. */
struct snap_config {
	struct vm_config *cfg;
	struct snapshot *snap;       /* loading: owns the strings */
	struct disk_id *disk;
	char *version;
};

static void vms_string(struct vmstate *s, struct snapshot *snap, const char **str)
{
	bool present = *str != NULL;
	uint32_t len = present ? (uint32_t)strlen(*str) : 0;
	char *p;

	vms_bool(s, &present);
	if (!present) {
		*str = NULL;
		return;
	}
	vms_u32(s, &len);
	if (!s->loading) {
		vms_bytes(s, (void *)*str, len);
		return;
	}
	*str = NULL;
	if (!vms_check(s, len <= MAX_STRING && len <= s->len - s->pos, "string length") ||
	    !vms_check(s, snap->nr_strings < (int)ARRAY_SIZE(snap->strings), "string count"))
		return;
	p = malloc(len + 1);
	if (!p) {
		vms_check(s, false, "memory");
		return;
	}
	vms_bytes(s, p, len);
	p[len] = 0;
	snap->strings[snap->nr_strings++] = p;
	if (vms_check(s, strlen(p) == len, "string without NUL"))
		*str = p;
}

static int config_state(struct vmstate *s, struct snap_config *c)
{
	struct vm_config *cfg = c->cfg;
	uint32_t mode = cfg->mode, sbi = cfg->sbi, devices = cfg->devices;
	const char *version = TREVO_VERSION;
	int ver = vms_version(s, CONFIG_VERSION);

	if (ver < 0)
		return ver;
	vms_string(s, c->snap, &version);
	c->version = (char *)version;
	vms_string(s, c->snap, &cfg->engine);
	vms_u32(s, &mode);
	vms_u32(s, &sbi);
	vms_u32(s, &devices);
	vms_bool(s, &cfg->no_reboot);
	vms_u64(s, &cfg->memory);
	vms_int(s, &cfg->cpus);
	vms_u64(s, &cfg->max_insns);
	vms_string(s, c->snap, &cfg->firmware);
	vms_string(s, c->snap, &cfg->kernel);
	vms_string(s, c->snap, &cfg->initrd);
	vms_string(s, c->snap, &cfg->append);
	vms_int(s, &cfg->nr_disks);
	if (!vms_check(s, cfg->nr_disks >= 0 && cfg->nr_disks <= VM_MAX_DISKS, "disk count"))
		cfg->nr_disks = 0;
	for (int i = 0; i < cfg->nr_disks; i++) {
		vms_string(s, c->snap, &cfg->disks[i]);
		vms_check(s, cfg->disks[i] != NULL, "disk spec");
		vms_u64(s, &c->disk[i].dev);
		vms_u64(s, &c->disk[i].ino);
		vms_u64(s, &c->disk[i].size);
		vms_u64(s, &c->disk[i].mtime_sec);
		vms_u64(s, &c->disk[i].mtime_nsec);
	}
	vms_int(s, &cfg->nr_nets);
	if (!vms_check(s, cfg->nr_nets >= 0 && cfg->nr_nets <= VM_MAX_NETS, "net count"))
		cfg->nr_nets = 0;
	for (int i = 0; i < cfg->nr_nets; i++) {
		vms_string(s, c->snap, &cfg->nets[i]);
		vms_check(s, cfg->nets[i] != NULL, "net spec");
	}
	if (s->loading) {
		vms_check(s, cfg->engine != NULL, "engine");
		vms_check(s, mode <= MODE_HW && sbi <= SBI_MONITOR && devices <= DEVICES_VIRTIO, "mode");
		vms_check(s, cfg->memory >= 16 * MiB && cfg->memory <= 64 * GiB &&
			  cfg->memory % PAGE == 0, "memory");
		vms_check(s, cfg->cpus >= 1 && cfg->cpus <= SNAPSHOT_MAX_CPUS, "cpus");
		cfg->mode = mode;
		cfg->sbi = sbi;
		cfg->devices = devices;
	}
	return vms_error(s);
}

/* "FILE[,readonly]" -> FILE */
static int disk_path(const char *spec, char *buf, size_t size)
{
	size_t n = strcspn(spec, ",");

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, spec, n);
	buf[n] = 0;
	return 0;
}

static int disk_identity(const char *spec, struct disk_id *id)
{
	char path[PATH_MAX];
	struct stat st;

	if (disk_path(spec, path, sizeof(path)))
		return -ENAMETOOLONG;
	/* A network block device is shared storage with no identity to check
	 * here (its server is the user's): recorded as zeros. */
	if (blockfile_is_nbd(path)) {
		*id = (struct disk_id){ 0 };
		return 0;
	}
	if (stat(path, &st))
		return -errno;
	*id = (struct disk_id){ (uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
				(uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec };
	return 0;
}

/* ---- the configuration for the migration stream ------------------------ */

int snapshot_config_save(struct vm *vm, struct vmstate *s, char *why, size_t why_len)
{
	struct disk_id disk[VM_MAX_DISKS] = { 0 };
	struct snap_config c = { .cfg = vm->cfg, .disk = disk };
	int err;

	for (int i = 0; i < vm->cfg->nr_disks; i++) {
		if ((err = disk_identity(vm->cfg->disks[i], &disk[i]))) {
			snprintf(why, why_len, "disk %s: %s", vm->cfg->disks[i], strerror(-err));
			return err;
		}
	}
	vms_init_save(s);
	if ((err = config_state(s, &c)))
		snprintf(why, why_len, "configuration: %s", strerror(-err));
	return err;
}

int snapshot_config_load(const void *buf, size_t len, struct vm_config *cfg,
			 struct snapshot **owner, char *why, size_t why_len)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	struct vm_config nc = { 0 };
	struct snap_config c = { .cfg = &nc };
	struct vmstate s;
	const struct engine_ops *e;

	*owner = NULL;
	if (!snap) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	snap->fd = -1;
	c.snap = snap;
	c.disk = snap->disk;
	vms_init_load(&s, buf, len);
	if (config_state(&s, &c) || s.pos != s.len) {
		snprintf(why, why_len, "bad machine configuration");
		goto fail;
	}
	e = engine_find(nc.engine);
	if (!e) {
		snprintf(why, why_len, "engine %s, which this build does not have", nc.engine);
		goto fail;
	}
	/* Shared storage: the image goes on changing on the source until it
	 * stops, so only its size is compared. */
	for (int i = 0; i < nc.nr_disks; i++) {
		struct disk_id now;
		int err = disk_identity(nc.disks[i], &now);
		if (err) {
			snprintf(why, why_len, "disk %s: %s", nc.disks[i], strerror(-err));
			goto fail;
		}
		if (now.size != snap->disk[i].size) {
			snprintf(why, why_len, "disk %s: %llu bytes here, %llu on the source",
				 nc.disks[i], (unsigned long long)now.size,
				 (unsigned long long)snap->disk[i].size);
			goto fail;
		}
	}
	nc.console = cfg->console;
	nc.qmp = cfg->qmp;
	nc.no_sandbox = cfg->no_sandbox;
	nc.incoming = cfg->incoming;
	*cfg = nc;
	*owner = snap;
	return 0;
fail:
	snapshot_close(snap);
	return -EINVAL;
}

/* ---- writing ------------------------------------------------------------ */

struct writer {
	int fd;
	uint64_t off;
	uint32_t crc;               /* of the current section's payload */
	int err;
};

static void put(struct writer *w, const void *p, size_t n)
{
	const uint8_t *b = p;

	if (w->err)
		return;
	w->crc = (uint32_t)crc32(w->crc, b, (uInt)n);
	while (n) {
		ssize_t k = pwrite(w->fd, b, n, (off_t)w->off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			w->err = k < 0 ? -errno : -EIO;
			return;
		}
		b += k;
		n -= (size_t)k;
		w->off += (uint64_t)k;
	}
}

static void put32(struct writer *w, uint32_t v) { put(w, &v, 4); }
static void put64(struct writer *w, uint64_t v) { put(w, &v, 8); }

static void sect_header(uint8_t *h, uint32_t kind, uint32_t index, const char *id,
			uint64_t len, uint32_t crc)
{
	memset(h, 0, SECT_HEADER_SIZE);
	memcpy(h, &kind, 4);
	memcpy(h + 4, &index, 4);
	if (id)
		strncpy((char *)h + 8, id, 32);
	memcpy(h + 40, &len, 8);
	memcpy(h + 48, &crc, 4);
}

/* Opens a section: its header is written again once the payload is done. */
static uint64_t sect_begin(struct writer *w)
{
	uint8_t h[SECT_HEADER_SIZE] = { 0 };
	uint64_t at = w->off;

	put(w, h, sizeof(h));
	w->crc = 0;
	return at;
}

static void sect_end(struct writer *w, uint64_t at, uint32_t kind, uint32_t index, const char *id)
{
	uint8_t h[SECT_HEADER_SIZE];
	uint64_t len = w->off - at - SECT_HEADER_SIZE;

	if (w->err)
		return;
	sect_header(h, kind, index, id, len, w->crc);
	if (pwrite(w->fd, h, sizeof(h), (off_t)at) != (ssize_t)sizeof(h))
		w->err = -EIO;
}

static void put_section(struct writer *w, uint32_t kind, uint32_t index, const char *id,
			const void *p, size_t n)
{
	uint64_t at = sect_begin(w);

	put(w, p, n);
	sect_end(w, at, kind, index, id);
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (size_t i = 0; i < PAGE / 8; i += 4)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return false;
	return true;
}

static bool bit(const uint8_t *map, uint64_t p)
{
	return map[p / 8] & (1u << (p % 8));
}

/* The region's pages that hold something, as a bitmap (bit p of byte
 * p/8). Pages the host never gave the guest (no frame and not swapped out,
 * /proc/self/pagemap: bits 63 and 62) read as zero and are not even
 * looked at, so an idle guest's untouched RAM costs no page faults. A
 * machine restored from a snapshot may have file-backed RAM whose pages
 * are not mapped yet but hold data, so there every page is read. */
static uint8_t *present_pages(struct vm *vm, const struct mem_region *reg, uint64_t *count)
{
	uint64_t pages = reg->size / PAGE, chunk = 65536, *pm = NULL;
	uint8_t *map = calloc((pages + 7) / 8, 1);
	int fd = vm->restore ? -1 : open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	*count = 0;
	if (!map)
		goto out;
	if (fd >= 0 && !(pm = malloc(chunk * 8))) {
		close(fd);
		fd = -1;
	}
	for (uint64_t p = 0; p < pages; p += chunk) {
		uint64_t n = pages - p < chunk ? pages - p : chunk;
		off_t at = (off_t)(((uintptr_t)reg->host / PAGE + p) * 8);
		bool known = fd >= 0 && pread(fd, pm, n * 8, at) == (ssize_t)(n * 8);
		for (uint64_t i = 0; i < n; i++) {
			if (known && !(pm[i] >> 62))
				continue;
			if (!page_is_zero(reg->host + (p + i) * PAGE)) {
				map[(p + i) / 8] |= (uint8_t)(1u << ((p + i) % 8));
				++*count;
			}
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(pm);
	return map;
}

/* The zstd layout: the present-page bitmaps, then one frame of the pages. */
static int put_ram_zstd(struct writer *w, struct vm *vm)
{
	const struct guest_mem *m = &vm->mem;
	size_t out_size = ZSTD_CStreamOutSize();
	uint8_t *out = malloc(out_size), *map[GMEM_MAX_REGIONS] = { NULL };
	ZSTD_CCtx *z = ZSTD_createCCtx();
	int err = 0;

	if (!out || !z) {
		err = -ENOMEM;
		goto out;
	}
	ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 1);
	ZSTD_CCtx_setParameter(z, ZSTD_c_nbWorkers, 2);  /* refused by a build without threads */
	for (int r = 0; r < m->nr_regions; r++) {
		const struct mem_region *reg = &m->region[r];
		uint64_t pages = reg->size / PAGE, present;
		if (!(map[r] = present_pages(vm, reg, &present))) {
			err = -ENOMEM;
			goto out;
		}
		put64(w, reg->gpa);
		put64(w, reg->size);
		put64(w, present);
		put(w, map[r], (pages + 7) / 8);
	}
	for (int r = 0; r <= m->nr_regions && !w->err; r++) {
		bool last = r == m->nr_regions;
		const struct mem_region *reg = last ? NULL : &m->region[r];
		uint64_t pages = last ? 1 : reg->size / PAGE;
		for (uint64_t p = 0; p < pages; ) {
			ZSTD_inBuffer in = { NULL, 0, 0 };
			uint64_t run = 0;
			if (!last) {
				while (p < pages && !bit(map[r], p))
					p++;
				while (p + run < pages && bit(map[r], p + run))
					run++;
				if (!run)
					break;
				in = (ZSTD_inBuffer){ reg->host + p * PAGE, run * PAGE, 0 };
				p += run;
			} else {
				p = 1;
			}
			for (;;) {
				ZSTD_outBuffer o = { out, out_size, 0 };
				size_t left = ZSTD_compressStream2(z, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
				if (ZSTD_isError(left)) {
					err = -EIO;
					goto out;
				}
				put(w, out, o.pos);
				if (last ? left == 0 : in.pos == in.size)
					break;
			}
		}
	}
out:
	for (int r = 0; r < GMEM_MAX_REGIONS; r++)
		free(map[r]);
	ZSTD_freeCCtx(z);
	free(out);
	return err ? err : w->err;
}

static uint64_t align_page(uint64_t v)
{
	return (v + PAGE - 1) & ~(PAGE - 1);
}

/* The raw layout: where each region's image goes, after the END section. */
static void put_ram_raw_meta(struct writer *w, struct vm *vm, uint64_t *data_off)
{
	const struct guest_mem *m = &vm->mem;
	uint64_t at = w->off + (uint64_t)m->nr_regions * 24 + SECT_HEADER_SIZE;

	for (int r = 0; r < m->nr_regions; r++) {
		data_off[r] = align_page(at);
		at = data_off[r] + m->region[r].size;
		put64(w, m->region[r].gpa);
		put64(w, m->region[r].size);
		put64(w, data_off[r]);
	}
}

/* Present pages only, run by run; the zero pages stay holes. */
static int put_ram_raw_data(struct writer *w, struct vm *vm, const uint64_t *data_off)
{
	const struct guest_mem *m = &vm->mem;

	for (int r = 0; r < m->nr_regions && !w->err; r++) {
		const struct mem_region *reg = &m->region[r];
		uint64_t pages = reg->size / PAGE, present;
		uint8_t *map = present_pages(vm, reg, &present);
		if (!map)
			return -ENOMEM;
		for (uint64_t p = 0; p < pages && !w->err; ) {
			uint64_t run = 0;
			while (p < pages && !bit(map, p))
				p++;
			while (p + run < pages && bit(map, p + run))
				run++;
			if (!run)
				break;
			w->off = data_off[r] + p * PAGE;
			put(w, reg->host + p * PAGE, run * PAGE);
			p += run;
		}
		free(map);
		w->off = data_off[r] + reg->size;
	}
	return w->err;
}

static int write_snapshot(struct writer *w, struct vm *vm, bool raw, char *why, size_t why_len)
{
	struct vm_config *cfg = vm->cfg;
	struct disk_id disk[VM_MAX_DISKS] = { 0 };
	struct snap_config c = { .cfg = cfg, .disk = disk };
	struct vmstate s;
	uint64_t data_off[GMEM_MAX_REGIONS], at;
	uint32_t arch = vm->engine->arch, format = SNAP_FORMAT, len, crc;
	int err;

	for (int i = 0; i < cfg->nr_disks; i++) {
		if ((err = disk_identity(cfg->disks[i], &disk[i]))) {
			snprintf(why, why_len, "disk %s: %s", cfg->disks[i], strerror(-err));
			return err;
		}
	}
	vms_init_save(&s);
	if ((err = config_state(&s, &c))) {
		vms_free(&s);
		return err;
	}
	len = (uint32_t)s.len;
	crc = (uint32_t)crc32(0, s.buf, len);
	put(w, SNAP_MAGIC, 8);
	put32(w, format);
	put32(w, arch);
	put32(w, len);
	put32(w, crc);
	put(w, s.buf, len);
	vms_free(&s);

	for (int i = 0; i < cfg->cpus; i++) {
		struct vcpu_state st;
		if ((err = vm->engine->get_vcpu(vm, i, &st))) {
			snprintf(why, why_len, "vCPU %d: %s", i, strerror(-err));
			return err;
		}
		put_section(w, SECT_VCPU, (uint32_t)i, NULL, &st, sizeof(st));
	}
	if (vm->board->state) {
		vms_init_save(&s);
		if ((err = vm->board->state(vm, &s))) {
			snprintf(why, why_len, "board %s: %s", vm->board->name, strerror(-err));
			vms_free(&s);
			return err;
		}
		put_section(w, SECT_BOARD, 0, NULL, s.buf, s.len);
		vms_free(&s);
	}
	for (struct device *d = vm->devices; d; d = d->next) {
		if (!d->ops->state)
			continue;
		vms_init_save(&s);
		if ((err = d->ops->state(d->state, &s))) {
			snprintf(why, why_len, "device %s: %s", d->id, strerror(-err));
			vms_free(&s);
			return err;
		}
		put_section(w, SECT_DEVICE, 0, d->id, s.buf, s.len);
		vms_free(&s);
	}
	at = sect_begin(w);
	put32(w, raw ? RAM_RAW : RAM_ZSTD);
	put32(w, (uint32_t)vm->mem.nr_regions);
	if (raw) {
		put_ram_raw_meta(w, vm, data_off);
	} else if ((err = put_ram_zstd(w, vm))) {
		snprintf(why, why_len, "guest RAM: %s", strerror(-err));
		return err;
	}
	sect_end(w, at, SECT_RAM, 0, NULL);
	put_section(w, SECT_END, 0, NULL, NULL, 0);
	if (raw) {
		if ((err = put_ram_raw_data(w, vm, data_off)) && !w->err)
			w->err = err;
		if (!w->err && ftruncate(w->fd, (off_t)w->off))
			w->err = -errno;
	}
	if (w->err)
		snprintf(why, why_len, "write: %s", strerror(-w->err));
	return w->err;
}

int snapshot_save(struct vm *vm, const char *path, bool raw, char *why, size_t why_len)
{
	char tmp[PATH_MAX], dir[PATH_MAX], base[PATH_MAX];
	struct writer w = { .fd = -1 };
	int err, dfd;

	why[0] = 0;
	if (strlen(path) >= sizeof(dir) - 32 || !*path) {
		snprintf(why, why_len, "file name too long or empty");
		return -ENAMETOOLONG;
	}
	strcpy(dir, path);
	strcpy(base, path);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp%d", dirname(dir), basename(base), (int)getpid());
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w.fd < 0) {
		err = -errno;
		snprintf(why, why_len, "%s: %s", tmp, strerror(errno));
		return err;
	}
	err = write_snapshot(&w, vm, raw, why, why_len);
	if (!err && fsync(w.fd)) {
		err = -errno;
		snprintf(why, why_len, "fsync: %s", strerror(errno));
	}
	close(w.fd);
	if (!err && rename(tmp, path)) {
		err = -errno;
		snprintf(why, why_len, "rename to %s: %s", path, strerror(errno));
	}
	if (err) {
		unlink(tmp);
		return err;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

static int bad(struct snapshot *snap, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct snapshot *snap, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn("snapshot: %s: %s", snap->path, msg);
	return err;
}

/* Exactly n bytes at off, or -EINVAL when the file ends first. */
static int read_at(struct snapshot *snap, uint64_t off, void *buf, size_t n)
{
	uint8_t *b = buf;

	if (off > snap->file_size || n > snap->file_size - off)
		return -EINVAL;
	while (n) {
		ssize_t k = pread(snap->fd, b, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EINVAL;
		b += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static const char *arch_name(uint32_t arch)
{
	return arch == VCPU_ARCH_RISCV64 ? "riscv64" : arch == VCPU_ARCH_X86_64 ? "x86_64" : "?";
}

static int read_sections(struct snapshot *snap, uint64_t off, int cpus)
{
	bool vcpu_seen[SNAPSHOT_MAX_CPUS] = { false }, ram = false, board = false;

	for (;;) {
		uint8_t h[SECT_HEADER_SIZE];
		struct section *sc;
		int err;

		if (snap->nr_sections >= MAX_SECTIONS)
			return bad(snap, -EINVAL, "more than %d sections", MAX_SECTIONS);
		if ((err = read_at(snap, off, h, sizeof(h))))
			return bad(snap, err, "truncated (section header at byte %llu)",
				   (unsigned long long)off);
		sc = &snap->sect[snap->nr_sections++];
		memcpy(&sc->kind, h, 4);
		memcpy(&sc->index, h + 4, 4);
		memcpy(sc->id, h + 8, 32);
		sc->id[32] = 0;
		memcpy(&sc->len, h + 40, 8);
		memcpy(&sc->crc, h + 48, 4);
		sc->off = off + SECT_HEADER_SIZE;
		if (sc->len > snap->file_size - sc->off)
			return bad(snap, -EINVAL, "truncated (a section of %llu bytes at byte %llu)",
				   (unsigned long long)sc->len, (unsigned long long)off);
		switch (sc->kind) {
		case SECT_VCPU:
			if (sc->index >= (uint32_t)cpus || vcpu_seen[sc->index] ||
			    sc->len != sizeof(struct vcpu_state))
				return bad(snap, -EINVAL, "corrupt (vCPU section %u)", sc->index);
			vcpu_seen[sc->index] = true;
			break;
		case SECT_BOARD:
		case SECT_DEVICE:
			if (sc->len > MAX_STATE || (sc->kind == SECT_BOARD && board))
				return bad(snap, -EINVAL, "corrupt (state section at byte %llu)",
					   (unsigned long long)off);
			board |= sc->kind == SECT_BOARD;
			if (sc->kind == SECT_DEVICE && !sc->id[0])
				return bad(snap, -EINVAL, "corrupt (device section without id)");
			for (int i = 0; i < snap->nr_sections - 1; i++)
				if (sc->kind == SECT_DEVICE && snap->sect[i].kind == SECT_DEVICE &&
				    !strcmp(snap->sect[i].id, sc->id))
					return bad(snap, -EINVAL, "corrupt (device %s twice)", sc->id);
			break;
		case SECT_RAM:
			if (ram)
				return bad(snap, -EINVAL, "corrupt (two RAM sections)");
			ram = true;
			break;
		case SECT_END:
			for (int i = 0; i < cpus; i++)
				if (!vcpu_seen[i])
					return bad(snap, -EINVAL, "corrupt (no state for vCPU %d)", i);
			if (!ram)
				return bad(snap, -EINVAL, "corrupt (no guest RAM)");
			return 0;
		default:
			return bad(snap, -EINVAL, "corrupt (unknown section kind %u)", sc->kind);
		}
		off = sc->off + sc->len;
	}
}

void snapshot_close(struct snapshot *snap)
{
	if (!snap)
		return;
	if (snap->fd >= 0)
		close(snap->fd);
	for (int i = 0; i < snap->nr_strings; i++)
		free(snap->strings[i]);
	free(snap->path);
	free(snap);
}

int snapshot_open(const char *path, struct vm_config *cfg, struct snapshot **out)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	struct vm_config nc = { 0 };
	struct snap_config c = { .cfg = &nc, .disk = NULL };
	uint8_t h[HEADER_SIZE], *conf = NULL;
	uint32_t format, len, crc;
	struct vmstate s;
	struct stat st;
	const struct engine_ops *e;
	int err;

	*out = NULL;
	if (!snap || !(snap->path = strdup(path))) {
		free(snap);
		warn("snapshot: out of memory");
		return -ENOMEM;
	}
	c.snap = snap;
	c.disk = snap->disk;
	snap->opened_ns = host_ns();
	snap->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (snap->fd < 0 || fstat(snap->fd, &st)) {
		err = bad(snap, -errno, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = bad(snap, -EINVAL, "not a regular file");
		goto fail;
	}
	snap->file_size = (uint64_t)st.st_size;
	if (read_at(snap, 0, h, sizeof(h)) || memcmp(h, SNAP_MAGIC, 8)) {
		err = bad(snap, -EINVAL, "not a Trevo snapshot");
		goto fail;
	}
	memcpy(&format, h + 8, 4);
	memcpy(&snap->arch, h + 12, 4);
	memcpy(&len, h + 16, 4);
	memcpy(&crc, h + 20, 4);
	if (format != SNAP_FORMAT) {
		err = bad(snap, -EINVAL, "snapshot format %u, this Trevo reads format %d", format,
			  SNAP_FORMAT);
		goto fail;
	}
	if (snap->arch != VCPU_ARCH_RISCV64 && snap->arch != VCPU_ARCH_X86_64) {
		err = bad(snap, -EINVAL, "foreign architecture %u", snap->arch);
		goto fail;
	}
	if (len > MAX_CONFIG || !(conf = malloc(len ? len : 1)) ||
	    read_at(snap, HEADER_SIZE, conf, len)) {
		err = bad(snap, -EINVAL, "truncated or corrupt header");
		goto fail;
	}
	if ((uint32_t)crc32(0, conf, len) != crc) {
		err = bad(snap, -EINVAL, "corrupt header (checksum mismatch)");
		goto fail;
	}
	vms_init_load(&s, conf, len);
	if (config_state(&s, &c) || s.pos != s.len) {
		err = bad(snap, -EINVAL, "corrupt header (bad machine configuration)");
		goto fail;
	}
	e = engine_find(nc.engine);
	if (!e || e->arch != snap->arch) {
		err = bad(snap, -EINVAL, "taken on %s with engine %s, which this build does not have",
			  arch_name(snap->arch), nc.engine);
		goto fail;
	}
	if ((err = read_sections(snap, HEADER_SIZE + len, nc.cpus)))
		goto fail;
	for (int i = 0; i < nc.nr_disks; i++) {
		struct disk_id now;
		if ((err = disk_identity(nc.disks[i], &now))) {
			err = bad(snap, err, "disk %s: %s", nc.disks[i], strerror(-err));
			goto fail;
		}
		if (memcmp(&now, &snap->disk[i], sizeof(now))) {
			err = bad(snap, -EINVAL, "disk %s changed since the snapshot (%s); refusing it",
				  nc.disks[i],
				  now.dev != snap->disk[i].dev || now.ino != snap->disk[i].ino ?
				  "another file" : now.size != snap->disk[i].size ? "size" :
				  "modified");
			goto fail;
		}
	}
	free(conf);
	/* Host-side choices stay the caller's. */
	nc.console = cfg->console;
	nc.qmp = cfg->qmp;
	nc.restore = cfg->restore;
	*cfg = nc;
	*out = snap;
	return 0;
fail:
	free(conf);
	snapshot_close(snap);
	return err ? err : -EINVAL;
}

/* A board or device section's payload, checksummed; NULL after a message. */
static uint8_t *read_payload(struct snapshot *snap, const struct section *sc, const char *what)
{
	uint8_t *p = malloc(sc->len ? sc->len : 1);

	if (!p) {
		bad(snap, -ENOMEM, "%s: out of memory", what);
		return NULL;
	}
	if (read_at(snap, sc->off, p, sc->len)) {
		bad(snap, -EINVAL, "%s: truncated", what);
		free(p);
		return NULL;
	}
	if ((uint32_t)crc32(0, p, (uInt)sc->len) != sc->crc) {
		bad(snap, -EINVAL, "%s: corrupt (checksum mismatch)", what);
		free(p);
		return NULL;
	}
	return p;
}

/* Reads a RAM section sequentially, checksumming what it reads. */
struct reader {
	struct snapshot *snap;
	uint64_t off, end;
	uint32_t crc;
};

static int get(struct reader *r, void *p, size_t n)
{
	int err;

	if (n > r->end - r->off)
		return -EINVAL;
	if ((err = read_at(r->snap, r->off, p, n)))
		return err;
	r->off += n;
	r->crc = (uint32_t)crc32(r->crc, p, (uInt)n);
	return 0;
}

static int restore_ram_raw(struct snapshot *snap, struct vm *vm, struct reader *r)
{
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *reg = &vm->mem.region[i];
		uint64_t gpa, size, off;
		if (get(r, &gpa, 8) || get(r, &size, 8) || get(r, &off, 8))
			return bad(snap, -EINVAL, "guest RAM: truncated");
		if (gpa != reg->gpa || size != reg->size || off % PAGE || reg->size % PAGE)
			return bad(snap, -EINVAL, "guest RAM: region %d does not match the machine", i);
		if (off > snap->file_size || size > snap->file_size - off)
			return bad(snap, -EINVAL, "truncated (guest RAM image ends past the file)");
	}
	return 0;
}

static int map_ram_raw(struct snapshot *snap, struct vm *vm, uint64_t meta_off)
{
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *reg = &vm->mem.region[i];
		uint64_t off;
		void *p;
		if (read_at(snap, meta_off + (uint64_t)i * 24 + 16, &off, 8))
			return bad(snap, -EINVAL, "guest RAM: truncated");
		p = mmap(reg->host, reg->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
			 snap->fd, (off_t)off);
		if (p == MAP_FAILED)
			return bad(snap, -errno, "guest RAM: mmap: %s", strerror(errno));
	}
	return 0;
}

static int restore_ram_zstd(struct snapshot *snap, struct vm *vm, struct reader *r)
{
	const struct guest_mem *m = &vm->mem;
	uint8_t *bitmap[GMEM_MAX_REGIONS] = { NULL };
	size_t in_size = ZSTD_DStreamInSize();
	uint8_t *in_buf = malloc(in_size), spare;
	ZSTD_DCtx *z = ZSTD_createDCtx();
	ZSTD_inBuffer in = { in_buf, 0, 0 };
	size_t ret = 1;              /* 0 once the frame is complete */
	int err = 0;

	if (!in_buf || !z) {
		err = bad(snap, -ENOMEM, "guest RAM: out of memory");
		goto out;
	}
	for (int i = 0; i < m->nr_regions; i++) {
		const struct mem_region *reg = &m->region[i];
		uint64_t gpa, size, present, count = 0, pages = reg->size / PAGE, bytes = (pages + 7) / 8;
		if (get(r, &gpa, 8) || get(r, &size, 8) || get(r, &present, 8)) {
			err = bad(snap, -EINVAL, "guest RAM: truncated");
			goto out;
		}
		if (gpa != reg->gpa || size != reg->size || reg->size % PAGE) {
			err = bad(snap, -EINVAL, "guest RAM: region %d does not match the machine", i);
			goto out;
		}
		if (!(bitmap[i] = malloc(bytes)) || get(r, bitmap[i], bytes)) {
			err = bad(snap, -EINVAL, "guest RAM: truncated page map");
			goto out;
		}
		if (pages % 8 && bitmap[i][bytes - 1] >> (pages % 8)) {
			err = bad(snap, -EINVAL, "guest RAM: corrupt page map");
			goto out;
		}
		for (uint64_t b = 0; b < bytes; b++)
			count += (uint64_t)__builtin_popcount(bitmap[i][b]);
		if (count != present) {
			err = bad(snap, -EINVAL, "guest RAM: corrupt page map");
			goto out;
		}
		/* What the loaders put there goes: absent pages are zero. */
		madvise(reg->host, reg->size, MADV_DONTNEED);
	}
	for (int i = 0; i <= m->nr_regions; i++) {
		bool last = i == m->nr_regions;
		uint64_t pages = last ? 1 : m->region[i].size / PAGE;
		for (uint64_t p = 0; p < pages; p++) {
			ZSTD_outBuffer o;
			if (last)
				o = (ZSTD_outBuffer){ &spare, 1, 0 };
			else if (bitmap[i][p / 8] & (1u << (p % 8)))
				o = (ZSTD_outBuffer){ m->region[i].host + p * PAGE, PAGE, 0 };
			else
				continue;
			while (o.pos < o.size) {
				if (in.pos == in.size) {
					size_t n = r->end - r->off < in_size ? (size_t)(r->end - r->off) : in_size;
					if (n == 0)
						break;
					if (get(r, in_buf, n)) {
						err = bad(snap, -EINVAL, "guest RAM: truncated");
						goto out;
					}
					in = (ZSTD_inBuffer){ in_buf, n, 0 };
				}
				ret = ZSTD_decompressStream(z, &o, &in);
				if (ZSTD_isError(ret)) {
					err = bad(snap, -EINVAL, "guest RAM: corrupt (%s)", ZSTD_getErrorName(ret));
					goto out;
				}
				if (ret == 0 && last)
					break;
				if (ret == 0 && o.pos < o.size) {
					err = bad(snap, -EINVAL, "guest RAM: corrupt (fewer pages than the map)");
					goto out;
				}
			}
			if (last ? ret != 0 || o.pos != 0 || in.pos != in.size || r->off != r->end :
			    o.pos != o.size) {
				err = bad(snap, -EINVAL, "guest RAM: corrupt or truncated compressed pages");
				goto out;
			}
		}
	}
out:
	for (int i = 0; i < GMEM_MAX_REGIONS; i++)
		free(bitmap[i]);
	ZSTD_freeDCtx(z);
	free(in_buf);
	return err;
}

static int restore_ram(struct snapshot *snap, struct vm *vm, const struct section *sc)
{
	struct reader r = { snap, sc->off, sc->off + sc->len, 0 };
	uint32_t layout, nr;
	int err;

	if (get(&r, &layout, 4) || get(&r, &nr, 4))
		return bad(snap, -EINVAL, "guest RAM: truncated");
	if (nr != (uint32_t)vm->mem.nr_regions || layout > RAM_RAW)
		return bad(snap, -EINVAL, "guest RAM: corrupt (layout %u, %u regions)", layout, nr);
	if (layout == RAM_RAW) {
		if ((err = restore_ram_raw(snap, vm, &r)))
			return err;
		if (r.off != r.end || r.crc != sc->crc)
			return bad(snap, -EINVAL, "guest RAM: corrupt (checksum mismatch)");
		err = map_ram_raw(snap, vm, sc->off + 8);
	} else {
		if ((err = restore_ram_zstd(snap, vm, &r)))
			return err;
		if (r.crc != sc->crc)
			return bad(snap, -EINVAL, "guest RAM: corrupt (checksum mismatch)");
	}
	if (err)
		return err;
	for (int i = 0; i < vm->mem.nr_regions && vm->engine->invalidate_code; i++)
		vm->engine->invalidate_code(vm, vm->mem.region[i].gpa, vm->mem.region[i].size);
	return 0;
}

static int load_state(struct snapshot *snap, const struct section *sc, const char *what,
		      int (*fn)(void *, struct vmstate *), void *opaque)
{
	uint8_t *p = read_payload(snap, sc, what);
	struct vmstate s;
	int err;

	if (!p)
		return -EINVAL;
	vms_init_load(&s, p, sc->len);
	err = fn(opaque, &s);
	if (!err && s.pos != s.len)
		err = -EINVAL;
	free(p);
	if (err)
		return bad(snap, err, "%s: state refused (%s)", what, strerror(-err));
	return 0;
}

static int board_state_fn(void *vm, struct vmstate *s)
{
	return ((struct vm *)vm)->board->state(vm, s);
}

int snapshot_restore(struct vm *vm, void *opaque)
{
	struct snapshot *snap = opaque;
	uint64_t begin = host_ns();
	int err;

	if ((uint32_t)vm->engine->arch != snap->arch)
		return bad(snap, -EINVAL, "foreign architecture %s", arch_name(snap->arch));
	/* RAM first: device state may point into it. */
	for (int i = 0; i < snap->nr_sections; i++)
		if (snap->sect[i].kind == SECT_RAM && (err = restore_ram(snap, vm, &snap->sect[i])))
			return err;
	for (int i = 0; i < snap->nr_sections; i++) {
		const struct section *sc = &snap->sect[i];
		char what[64];
		switch (sc->kind) {
		case SECT_VCPU: {
			uint8_t *p;
			struct vcpu_state st;
			snprintf(what, sizeof(what), "vCPU %u", sc->index);
			if (!(p = read_payload(snap, sc, what)))
				return -EINVAL;
			memcpy(&st, p, sizeof(st));
			free(p);
			if ((err = vm->engine->set_vcpu(vm, (int)sc->index, &st)))
				return bad(snap, err, "%s: state refused", what);
			break;
		}
		case SECT_BOARD:
			if (!vm->board->state)
				return bad(snap, -EINVAL, "board %s keeps no state", vm->board->name);
			if ((err = load_state(snap, sc, "board", board_state_fn, vm)))
				return err;
			break;
		case SECT_DEVICE: {
			struct device *d = vm_find_device(vm, sc->id);
			if (!d || !d->ops->state)
				return bad(snap, -EINVAL, "device %s is not in this machine", sc->id);
			snprintf(what, sizeof(what), "device %s", sc->id);
			if ((err = load_state(snap, sc, what, d->ops->state, d->state)))
				return err;
			break;
		}
		}
	}
	for (struct device *d = vm->devices; d; d = d->next) {
		bool found = false;
		if (!d->ops->state)
			continue;
		for (int i = 0; i < snap->nr_sections && !found; i++)
			found = snap->sect[i].kind == SECT_DEVICE && !strcmp(snap->sect[i].id, d->id);
		if (!found)
			return bad(snap, -EINVAL, "no state for device %s", d->id);
	}
	if (vm->board->state) {
		bool found = false;
		for (int i = 0; i < snap->nr_sections && !found; i++)
			found = snap->sect[i].kind == SECT_BOARD;
		if (!found)
			return bad(snap, -EINVAL, "no state for board %s", vm->board->name);
	}
	debug("snapshot: machine built in %.1f ms, state restored in %.1f ms",
	      (double)(begin - snap->opened_ns) / 1e6, (double)(host_ns() - begin) / 1e6);
	return 0;
}
