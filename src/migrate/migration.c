/* Live migration: pre-copy of guest RAM while the guest runs, then the
 * rest with the machine paused, as QEMU's precopy does.
 *
 * The stream (format 1), on one TCP or unix stream socket. Integers are
 * little-endian; every length is checked against a bound before anything
 * is read or allocated, every record carries a crc32 (zlib) of its payload.
 *
 *   source -> destination, header, 24 bytes and the configuration:
 *     char magic[8] "TREVOMIG", u32 format (MIG_FORMAT), u32 arch (enum
 *     vcpu_arch), u32 config_len (<= 64 KiB), u32 crc32 of the
 *     configuration, which is the snapshot header's (snapshot.c)
 *   destination -> source, its answer, 16 bytes and a message:
 *     char magic[8] "TREVOACK", u32 status (0 accepted, 1 refused),
 *     u32 message length (<= 512), the reason for a refusal
 *   source -> destination, records, each a 24-byte header and payload:
 *     u32 kind, u32 count, u64 len, u32 crc32 of the payload, u32 0
 *     REC_PAGES  count (1..256) u64 entries: a page's guest-physical
 *                address, bit 0 set for a page of zeros; then 4 KiB for
 *                each entry without bit 0, in order
 *     REC_VCPU   count = vCPU number; struct vcpu_state (engine.h)
 *     REC_BOARD  the board's state bytes
 *     REC_DEVICE char id[32] (NUL-padded), then the device's state bytes
 *     REC_END    len 0: the machine is complete
 *   destination -> source, once its vCPUs run, 12 bytes:
 *     char magic[8] "TREVORUN", u32 0
 *
 * The source sends every page the guest may have (round 0), then, round
 * after round, the pages written meanwhile (the dirty log: the software
 * CPU's stores, KVM's KVM_GET_DIRTY_LOG and every DMA write through
 * gmem_dma_written), until what is left would take no longer than
 * downtime-limit at the bandwidth measured; then it pauses the machine
 * (vm_call_paused), sends the rest and the vCPU, board and device state,
 * and waits for "TREVORUN". Only then does the source end (status 0);
 * any failure before (connection cut, refusal, timeout, cancel) leaves it
 * running as it was. The destination builds the machine from the header,
 * writes pages as they come and starts only after REC_END; a stream that
 * breaks off or fails a check ends it with one line and status 2. */
#include "migration.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "../engine.h"
#include "../host/json.h"
#include "../host/seccomp.h"
#include "../vm.h"
#include "../vmstate.h"
#include "snapshot.h"

#define MIG_MAGIC "TREVOMIG"
#define ACK_MAGIC "TREVOACK"
#define RUN_MAGIC "TREVORUN"
#define MIG_FORMAT 1
#define HEADER_SIZE 24
#define REC_HEADER 24
#define MAX_CONFIG (64 * 1024)
#define MAX_MESSAGE 512
#define MAX_STATE (16 * MiB)
#define PAGE 4096ULL
#define PAGES_PER_REC 256
#define MAX_PAGES_REC (PAGES_PER_REC * (8 + PAGE))
#define ZERO_PAGE_BIT 1ULL
#define IO_TIMEOUT_S 10          /* a peer silent this long has gone */
#define MAX_ROUNDS 30            /* then: does not converge */
#define MIN_ROUND_NS 20000000ULL /* 20 ms between two collections of the dirty log */

enum { REC_PAGES = 1, REC_VCPU, REC_BOARD, REC_DEVICE, REC_END };

enum mig_status {
	MIG_NONE, MIG_SETUP, MIG_ACTIVE, MIG_DEVICE, MIG_CANCELLING, MIG_CANCELLED,
	MIG_COMPLETED, MIG_FAILED,
};

/* QMP's MigrationStatus names (qemu-qmp-ref(7)). */
static const char *const status_name[] = {
	[MIG_NONE] = "none", [MIG_SETUP] = "setup", [MIG_ACTIVE] = "active",
	[MIG_DEVICE] = "device", [MIG_CANCELLING] = "cancelling",
	[MIG_CANCELLED] = "cancelled", [MIG_COMPLETED] = "completed", [MIG_FAILED] = "failed",
};

struct migration {
	struct vm *vm;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;        /* everything below */
	pthread_cond_t cond;
	bool go, quit;
	char uri[256];
	enum mig_status status;
	int fd;
	bool cancel;
	/* parameters (migrate-set-parameters); QEMU's defaults */
	int64_t downtime_limit_ms;   /* 300 */
	int64_t max_bandwidth;       /* bytes/s, 128 MiB/s */
	/* statistics for query-migrate */
	uint64_t start_ns, setup_ns, end_ns, downtime_start_ns;
	uint64_t transferred, precopy_bytes, downtime_bytes;
	uint64_t duplicate, normal, dirty_sync_count, remaining_pages;
	uint64_t dirty_rate, expected_downtime_ms, total_pages;
	/* downtime as QEMU measures it: the guest stopped until the last
	 * byte of the stream is sent; and until the destination said it runs */
	uint64_t downtime_ms, downtime_running_ms;
	double mbps;
	char error[300];
	/* the migration thread's own */
	uint64_t *todo[GMEM_MAX_REGIONS];  /* pages to send: bit p of word p/64 */
	uint8_t *rec;                /* one REC_PAGES payload */
	uint64_t window_ns, window_bytes;  /* bandwidth limiting */
	uint64_t collected;          /* pages the last collect_dirty found */
};

static uint64_t ms_of(uint64_t ns) { return ns / 1000000; }

/* ---- sockets ------------------------------------------------------------ */

int migration_parse_uri(const char *uri, struct sockaddr_storage *ss, unsigned *len)
{
	memset(ss, 0, sizeof(*ss));
	if (!strncmp(uri, "unix:", 5)) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		size_t n = strlen(uri + 5);
		if (!n || n >= sizeof(un->sun_path))
			return -EINVAL;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, uri + 5, n + 1);
		*len = (unsigned)sizeof(*un);
		return 0;
	}
	if (!strncmp(uri, "tcp:", 4)) {
		const char *host = uri + 4, *colon = strrchr(host, ':');
		char h[64];
		char *end;
		long port;
		size_t hl;
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - host);
		port = strtol(colon + 1, &end, 10);
		if (*end || colon[1] == 0 || port < 1 || port > 65535 || hl >= sizeof(h))
			return -EINVAL;
		memcpy(h, host, hl);
		h[hl] = 0;
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
			h[hl - 1] = 0;
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			if (inet_pton(AF_INET6, h + 1, &in6->sin6_addr) != 1)
				return -EINVAL;
			*len = (unsigned)sizeof(*in6);
			return 0;
		}
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		/* No name lookups: an address, or the two names every host has. */
		if (!hl || !strcmp(h, "localhost"))
			strcpy(h, hl ? "127.0.0.1" : "0.0.0.0");
		if (inet_pton(AF_INET, h, &in->sin_addr) != 1)
			return -EINVAL;
		*len = (unsigned)sizeof(*in);
		return 0;
	}
	return -EINVAL;
}

static void set_timeouts(int fd, int seconds)
{
	struct timeval tv = { seconds, 0 };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  /* fails on unix: fine */
}

/* All n bytes, or -errno (-EPIPE when the peer closed). */
static int send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Exactly n bytes; -ECONNRESET when the stream ends first. */
static int recv_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t k = recv(fd, b, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (k == 0)
			return -ECONNRESET;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static const char *io_error(int err)
{
	return err == -ECONNRESET ? "connection closed by the peer" :
	       err == -ETIMEDOUT ? "the peer went silent (timed out)" : strerror(-err);
}

/* ---- source: sending ----------------------------------------------------- */

static void stat_add(struct migration *g, uint64_t bytes)
{
	pthread_mutex_lock(&g->lock);
	g->transferred += bytes;
	if (g->status == MIG_DEVICE)
		g->downtime_bytes += bytes;
	else
		g->precopy_bytes += bytes;
	pthread_mutex_unlock(&g->lock);
}

static int send_record(struct migration *g, uint32_t kind, uint32_t count, const void *a,
		       size_t alen, const void *b, size_t blen)
{
	uint8_t h[REC_HEADER] = { 0 };
	uint64_t len = alen + blen;
	uint32_t crc = 0;
	int err;

	/* crc32(c, NULL, 0) is zlib's initial value, not c: skip empty parts. */
	if (alen)
		crc = (uint32_t)crc32(crc, a, (uInt)alen);
	if (blen)
		crc = (uint32_t)crc32(crc, b, (uInt)blen);
	memcpy(h, &kind, 4);
	memcpy(h + 4, &count, 4);
	memcpy(h + 8, &len, 8);
	memcpy(h + 16, &crc, 4);
	if ((err = send_all(g->fd, h, sizeof(h))) || (alen && (err = send_all(g->fd, a, alen))) ||
	    (blen && (err = send_all(g->fd, b, blen))))
		return err;
	stat_add(g, sizeof(h) + len);
	return 0;
}

static bool cancelled(struct migration *g)
{
	bool c;

	pthread_mutex_lock(&g->lock);
	c = g->cancel;
	pthread_mutex_unlock(&g->lock);
	return c;
}

/* max-bandwidth, over windows of 100 ms (not while the guest is paused:
 * the downtime is what the limit is there to keep short). */
static void throttle(struct migration *g, uint64_t bytes, bool paused)
{
	uint64_t now = host_ns(), limit;

	pthread_mutex_lock(&g->lock);
	limit = (uint64_t)g->max_bandwidth;
	pthread_mutex_unlock(&g->lock);
	if (paused || !limit)
		return;
	if (now - g->window_ns >= 100000000ULL) {
		g->window_ns = now;
		g->window_bytes = 0;
	}
	g->window_bytes += bytes;
	if (g->window_bytes >= limit / 10) {
		uint64_t wait = g->window_ns + 100000000ULL - now;
		struct timespec ts = { (time_t)(wait / 1000000000ULL), (long)(wait % 1000000000ULL) };
		if (wait < 100000000ULL)
			nanosleep(&ts, NULL);
		g->window_ns = host_ns();
		g->window_bytes = 0;
	}
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (size_t i = 0; i < PAGE / 8; i += 4)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return false;
	return true;
}

/* Send the pages marked in g->todo (clearing the marks). The guest may be
 * writing them meanwhile: such a page is in the dirty log again and goes
 * in a later round. 0, 1 when cancelled, or -errno. */
static int send_pages(struct migration *g, bool paused, uint64_t *sent_pages)
{
	struct guest_mem *m = &g->vm->mem;
	uint64_t *entries = (uint64_t *)g->rec, n = 0, nz = 0;
	uint8_t *data = g->rec + PAGES_PER_REC * 8;
	int err;

	*sent_pages = 0;
	for (int r = 0; r < m->nr_regions; r++) {
		const struct mem_region *reg = &m->region[r];
		uint64_t words = (reg->size / PAGE + 63) / 64;
		for (uint64_t w = 0; w < words; w++) {
			while (g->todo[r][w]) {
				int b = __builtin_ctzll(g->todo[r][w]);
				uint64_t p = w * 64 + (uint64_t)b;
				const uint8_t *src = reg->host + p * PAGE;
				g->todo[r][w] &= g->todo[r][w] - 1;
				if (page_is_zero(src)) {
					entries[n++] = (reg->gpa + p * PAGE) | ZERO_PAGE_BIT;
				} else {
					memcpy(data + nz * PAGE, src, PAGE);
					entries[n++] = reg->gpa + p * PAGE;
					nz++;
				}
				if (n < PAGES_PER_REC)
					continue;
				if ((err = send_record(g, REC_PAGES, (uint32_t)n, entries, n * 8, data,
						       nz * PAGE)))
					return err;
				pthread_mutex_lock(&g->lock);
				g->normal += nz;
				g->duplicate += n - nz;
				g->remaining_pages -= g->remaining_pages < n ? g->remaining_pages : n;
				pthread_mutex_unlock(&g->lock);
				*sent_pages += n;
				throttle(g, n * 8 + nz * PAGE, paused);
				n = nz = 0;
				if (!paused && cancelled(g))
					return 1;
			}
		}
	}
	if (n) {
		if ((err = send_record(g, REC_PAGES, (uint32_t)n, entries, n * 8, data, nz * PAGE)))
			return err;
		pthread_mutex_lock(&g->lock);
		g->normal += nz;
		g->duplicate += n - nz;
		g->remaining_pages = 0;
		pthread_mutex_unlock(&g->lock);
		*sent_pages += n;
	}
	return 0;
}

/* Round 0: every page the guest may have written. Pages the host never
 * mapped (/proc/self/pagemap bits 63 and 62 clear) are zero here and on
 * the destination, which starts from zeroed RAM; a machine restored from
 * a snapshot may have file-backed pages not yet mapped, so there all go. */
static uint64_t mark_present(struct migration *g)
{
	struct guest_mem *m = &g->vm->mem;
	int fd = g->vm->restore ? -1 : open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t chunk = 4096, count = 0, *pm = fd >= 0 ? malloc(chunk * 8) : NULL;

	for (int r = 0; r < m->nr_regions; r++) {
		const struct mem_region *reg = &m->region[r];
		uint64_t pages = reg->size / PAGE;
		for (uint64_t p = 0; p < pages; p += chunk) {
			uint64_t n = pages - p < chunk ? pages - p : chunk;
			off_t at = (off_t)(((uintptr_t)reg->host / PAGE + p) * 8);
			bool known = pm && pread(fd, pm, n * 8, at) == (ssize_t)(n * 8);
			for (uint64_t i = 0; i < n; i++) {
				if (known && !(pm[i] >> 62))
					continue;
				g->todo[r][(p + i) / 64] |= 1ULL << ((p + i) % 64);
				count++;
			}
		}
	}
	free(pm);
	if (fd >= 0)
		close(fd);
	return count;
}

/* Move the dirty log into g->todo; how many pages are to go. With the
 * machine paused (the engine re-arms its tracking for what it hands over),
 * so for a moment between rounds, as QEMU's TCG does to reset its TLBs. */
static int collect_dirty_paused(struct vm *vm, void *arg)
{
	struct migration *g = arg;
	uint64_t *count = &g->collected;
	int err;

	*count = 0;
	if (vm->engine->dirty_sync && (err = vm->engine->dirty_sync(vm)))
		return err;
	for (int r = 0; r < vm->mem.nr_regions; r++)
		gmem_dirty_fetch(&vm->mem, r, g->todo[r]);
	for (int r = 0; r < vm->mem.nr_regions; r++)
		for (uint64_t w = 0; w < (vm->mem.region[r].size / PAGE + 63) / 64; w++)
			*count += (uint64_t)__builtin_popcountll(g->todo[r][w]);
	pthread_mutex_lock(&g->lock);
	g->dirty_sync_count++;
	g->remaining_pages = *count;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static int collect_dirty(struct migration *g, uint64_t *count, bool paused)
{
	int err = paused ? collect_dirty_paused(g->vm, g) : vm_call_paused(g->vm, collect_dirty_paused, g);

	*count = g->collected;
	return err;
}

static int log_start(struct vm *vm, void *arg)
{
	int err;

	(void)arg;
	if ((err = gmem_dirty_start(&vm->mem)))
		return err;
	if ((err = vm->engine->dirty_log(vm, true)))
		gmem_dirty_stop(&vm->mem);
	return err;
}

static int log_stop(struct vm *vm, void *arg)
{
	(void)arg;
	vm->engine->dirty_log(vm, false);
	gmem_dirty_stop(&vm->mem);
	return 0;
}

struct final_call {
	struct migration *g;
	char why[256];
};

static int send_state(struct migration *g, char *why, size_t why_len)
{
	struct vm *vm = g->vm;
	struct vmstate s;
	int err;

	for (int i = 0; i < vm->cfg->cpus; i++) {
		struct vcpu_state st;
		memset(&st, 0, sizeof(st));
		if ((err = vm->engine->get_vcpu(vm, i, &st))) {
			snprintf(why, why_len, "vCPU %d: %s", i, strerror(-err));
			return err;
		}
		if ((err = send_record(g, REC_VCPU, (uint32_t)i, &st, sizeof(st), NULL, 0)))
			goto io;
	}
	if (vm->board->state) {
		vms_init_save(&s);
		if ((err = vm->board->state(vm, &s))) {
			snprintf(why, why_len, "board %s: %s", vm->board->name, strerror(-err));
			vms_free(&s);
			return err;
		}
		err = send_record(g, REC_BOARD, 0, s.buf, s.len, NULL, 0);
		vms_free(&s);
		if (err)
			goto io;
	}
	for (struct device *d = vm->devices; d; d = d->next) {
		char id[32] = { 0 };
		if (!d->ops->state)
			continue;
		vms_init_save(&s);
		if ((err = d->ops->state(d->state, &s))) {
			snprintf(why, why_len, "device %s: %s", d->id, strerror(-err));
			vms_free(&s);
			return err;
		}
		memcpy(id, d->id, strnlen(d->id, sizeof(id) - 1));
		err = send_record(g, REC_DEVICE, 0, id, sizeof(id), s.buf, s.len);
		vms_free(&s);
		if (err)
			goto io;
	}
	if (!(err = send_record(g, REC_END, 0, NULL, 0, NULL, 0)))
		return 0;
io:
	snprintf(why, why_len, "sending the machine state: %s", io_error(err));
	return err;
}

/* With the machine paused (vm_call_paused, on the controller thread): the
 * last dirty pages, the state, and the destination's word that it runs. On
 * success the source stays stopped and ends; on failure it goes on. */
static int final_phase(struct vm *vm, void *arg)
{
	struct final_call *c = arg;
	struct migration *g = c->g;
	uint64_t count, sent;
	uint8_t run[12];
	int err;

	pthread_mutex_lock(&g->lock);
	g->status = MIG_DEVICE;
	pthread_mutex_unlock(&g->lock);
	if ((err = collect_dirty(g, &count, true))) {
		snprintf(c->why, sizeof(c->why), "dirty log: %s", strerror(-err));
		goto fail;
	}
	if ((err = send_pages(g, true, &sent)) < 0) {
		snprintf(c->why, sizeof(c->why), "sending RAM: %s", io_error(err));
		goto fail;
	}
	if ((err = send_state(g, c->why, sizeof(c->why))))
		goto fail;
	pthread_mutex_lock(&g->lock);
	g->downtime_ms = ms_of(host_ns() - g->downtime_start_ns);
	pthread_mutex_unlock(&g->lock);
	log_stop(vm, NULL);
	if ((err = recv_all(g->fd, run, sizeof(run))) || memcmp(run, RUN_MAGIC, 8)) {
		snprintf(c->why, sizeof(c->why), "the destination did not start: %s",
			 err ? io_error(err) : "unexpected answer");
		return err ? err : -EPROTO;
	}
	pthread_mutex_lock(&g->lock);
	g->end_ns = host_ns();
	g->downtime_running_ms = ms_of(g->end_ns - g->downtime_start_ns);
	g->status = MIG_COMPLETED;
	/* The source ends now, before a client may ask query-migrate: the
	 * figures on stderr and in QMP's MIGRATION event (qemu-qmp-ref(7)). */
	warn("migration to %s completed: total-time %llu ms, downtime %llu ms, %llu bytes, "
	     "%llu rounds, running there %llu ms after the stop", g->uri,
	     (unsigned long long)ms_of(g->end_ns - g->start_ns),
	     (unsigned long long)g->downtime_ms, (unsigned long long)g->transferred,
	     (unsigned long long)g->dirty_sync_count, (unsigned long long)g->downtime_running_ms);
	pthread_mutex_unlock(&g->lock);
	if (vm->event)
		vm->event(vm->event_opaque, "MIGRATION", "{\"status\": \"completed\"}");
	/* QEMU's postmigrate: the source stays stopped, and here it ends. */
	atomic_store(&vm->run_state, VM_STATE_PAUSED);
	vm_request_exit(vm, VM_QUIT, 0);
	return 0;
fail:
	log_stop(vm, NULL);
	return err;
}

static int connect_to(struct migration *g, char *why, size_t why_len)
{
	struct sockaddr_storage ss;
	unsigned len;
	int fd;

	if (migration_parse_uri(g->uri, &ss, &len)) {
		snprintf(why, why_len, "bad uri");
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, why_len, "socket: %s", strerror(errno));
		return -errno;
	}
	set_timeouts(fd, IO_TIMEOUT_S);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		int err = -errno;
		snprintf(why, why_len, "cannot connect to %.120s: %s", g->uri, strerror(errno));
		close(fd);
		return err;
	}
	pthread_mutex_lock(&g->lock);
	g->fd = fd;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

/* The header, and the destination's answer. */
static int handshake(struct migration *g, char *why, size_t why_len)
{
	struct vm *vm = g->vm;
	uint8_t h[HEADER_SIZE], ack[16];
	uint32_t format = MIG_FORMAT, arch = vm->engine->arch, len, crc, status, mlen;
	struct vmstate s;
	int err;

	if ((err = snapshot_config_save(vm, &s, why, why_len))) {
		vms_free(&s);
		return err;
	}
	len = (uint32_t)s.len;
	crc = (uint32_t)crc32(0, s.buf, len);
	memcpy(h, MIG_MAGIC, 8);
	memcpy(h + 8, &format, 4);
	memcpy(h + 12, &arch, 4);
	memcpy(h + 16, &len, 4);
	memcpy(h + 20, &crc, 4);
	err = send_all(g->fd, h, sizeof(h));
	if (!err)
		err = send_all(g->fd, s.buf, len);
	vms_free(&s);
	if (!err)
		stat_add(g, sizeof(h) + len);
	if (!err)
		err = recv_all(g->fd, ack, sizeof(ack));
	if (err) {
		snprintf(why, why_len, "handshake: %s", io_error(err));
		return err;
	}
	memcpy(&status, ack + 8, 4);
	memcpy(&mlen, ack + 12, 4);
	if (memcmp(ack, ACK_MAGIC, 8) || mlen > MAX_MESSAGE) {
		snprintf(why, why_len, "the peer does not speak Trevo's migration stream");
		return -EPROTO;
	}
	if (status) {
		char msg[MAX_MESSAGE + 1] = "";
		if (!recv_all(g->fd, msg, mlen))
			msg[mlen] = 0;
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		snprintf(why, why_len, "the destination refused the stream: %.200s", msg);
		return -EPROTO;
	}
	return 0;
}

static void finish(struct migration *g, enum mig_status st, const char *why)
{
	pthread_mutex_lock(&g->lock);
	g->status = st;
	g->end_ns = host_ns();
	if (why && st == MIG_FAILED)
		snprintf(g->error, sizeof(g->error), "%s", why);
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	pthread_mutex_unlock(&g->lock);
	if (st == MIG_FAILED)
		warn("migration to %s failed: %s; the guest goes on here", g->uri, why);
}

static void migrate(struct migration *g)
{
	struct vm *vm = g->vm;
	struct final_call fc = { .g = g };
	char why[256] = "";
	uint64_t count, sent;
	bool logging = false;
	int err;

	if ((err = connect_to(g, why, sizeof(why))) || (err = handshake(g, why, sizeof(why))))
		goto fail;
	if (cancelled(g))
		goto cancel;
	if ((err = vm_call_paused(vm, log_start, NULL))) {
		snprintf(why, sizeof(why), "cannot start the dirty log: %s", strerror(-err));
		goto fail;
	}
	logging = true;
	count = mark_present(g);
	pthread_mutex_lock(&g->lock);
	g->setup_ns = host_ns();
	g->status = MIG_ACTIVE;
	g->remaining_pages = count;
	pthread_mutex_unlock(&g->lock);
	for (int round = 0;; round++) {
		uint64_t t0 = host_ns(), bytes0, dt, bw, limit_ms;
		pthread_mutex_lock(&g->lock);
		bytes0 = g->transferred;
		pthread_mutex_unlock(&g->lock);
		if ((err = send_pages(g, false, &sent)) < 0) {
			snprintf(why, sizeof(why), "sending RAM: %s", io_error(err));
			goto fail;
		}
		if (err == 1)
			goto cancel;
		if ((err = collect_dirty(g, &count, false))) {
			snprintf(why, sizeof(why), "dirty log: %s", strerror(-err));
			goto fail;
		}
		dt = host_ns() - t0;
		pthread_mutex_lock(&g->lock);
		/* QEMU's figures: bandwidth of this round, time to send the rest. */
		bw = dt ? (g->transferred - bytes0) * 1000000000ULL / dt : 0;
		g->mbps = dt ? (double)(g->transferred - bytes0) * 8e3 / (double)dt : 0;
		g->dirty_rate = dt ? count * 1000000000ULL / dt : 0;
		g->expected_downtime_ms = bw ? count * (PAGE + 8) * 1000 / bw : 0;
		limit_ms = (uint64_t)g->downtime_limit_ms;
		debug("migration: round %d: %llu pages sent in %.1f ms, %llu dirty, expected downtime "
		      "%llu ms", round, (unsigned long long)sent, (double)dt / 1e6,
		      (unsigned long long)count, (unsigned long long)g->expected_downtime_ms);
		pthread_mutex_unlock(&g->lock);
		/* As QEMU: what is left, in bytes, against what the link carries
		 * within downtime-limit (in ms, not rounded: a limit of 0 waits for
		 * a round that leaves nothing). */
		if (!count || (bw && count * (PAGE + 8) * 1000 <= limit_ms * bw))
			break;
		if (round + 1 >= MAX_ROUNDS) {
			snprintf(why, sizeof(why), "does not converge: after %d rounds the guest still "
				 "dirties %llu pages/s, %llu ms of work at %.0f Mbit/s, above "
				 "downtime-limit %llu ms", MAX_ROUNDS,
				 (unsigned long long)g->dirty_rate,
				 (unsigned long long)g->expected_downtime_ms, g->mbps,
				 (unsigned long long)limit_ms);
			err = -ETIMEDOUT;
			goto fail;
		}
		if (cancelled(g))
			goto cancel;
		/* Each collection pauses the machine for a moment: a round that
		 * was over in a flash waits out MIN_ROUND_NS, so that the guest
		 * runs between pauses and the next round measures its real pace. */
		if ((dt = host_ns() - t0) < MIN_ROUND_NS) {
			struct timespec ts = { 0, (long)(MIN_ROUND_NS - dt) };
			nanosleep(&ts, NULL);
		}
	}
	logging = false;   /* final_phase stops it in every case */
	/* The downtime starts as the vCPUs are asked to stop, so that parking
	 * them and quiescing the devices count. */
	pthread_mutex_lock(&g->lock);
	g->downtime_start_ns = host_ns();
	pthread_mutex_unlock(&g->lock);
	if ((err = vm_call_paused(vm, final_phase, &fc))) {
		snprintf(why, sizeof(why), "%s", fc.why[0] ? fc.why : strerror(-err));
		goto fail;
	}
	pthread_mutex_lock(&g->lock);
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	pthread_mutex_unlock(&g->lock);
	return;
cancel:
	if (logging)
		vm_call_paused(vm, log_stop, NULL);
	finish(g, MIG_CANCELLED, NULL);
	return;
fail:
	if (logging)
		vm_call_paused(vm, log_stop, NULL);
	if (cancelled(g))
		finish(g, MIG_CANCELLED, NULL);
	else
		finish(g, MIG_FAILED, why);
}

static void *migration_thread(void *arg)
{
	struct migration *g = arg;

	seccomp_enter(SECCOMP_MIGRATION);
	pthread_mutex_lock(&g->lock);
	for (;;) {
		while (!g->go && !g->quit)
			pthread_cond_wait(&g->cond, &g->lock);
		if (g->quit)
			break;
		g->go = false;
		pthread_mutex_unlock(&g->lock);
		migrate(g);
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int migration_setup(struct vm *vm)
{
	struct migration *g;
	int err;

	if (!vm->engine->dirty_log)
		return 0;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->vm = vm;
	g->fd = -1;
	g->downtime_limit_ms = 300;
	g->max_bandwidth = 128 * MiB;
	g->rec = malloc(MAX_PAGES_REC);
	for (int r = 0; r < vm->mem.nr_regions && g->rec; r++)
		if (!(g->todo[r] = calloc((vm->mem.region[r].size / PAGE + 63) / 64, 8)))
			goto nomem;
	if (!g->rec)
		goto nomem;
	for (int r = 0; r < vm->mem.nr_regions; r++)
		g->total_pages += vm->mem.region[r].size / PAGE;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	if ((err = pthread_create(&g->thread, NULL, migration_thread, g))) {
		pthread_mutex_destroy(&g->lock);
		pthread_cond_destroy(&g->cond);
		goto free;
	}
	g->started = true;
	vm->migration = g;
	return 0;
nomem:
	err = ENOMEM;
free:
	for (int r = 0; r < GMEM_MAX_REGIONS; r++)
		free(g->todo[r]);
	free(g->rec);
	free(g);
	return -err;
}

void migration_teardown(struct vm *vm)
{
	struct migration *g = vm->migration;

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->quit = true;
	g->cancel = true;
	if (g->fd >= 0)
		shutdown(g->fd, SHUT_RDWR);
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	/* A migration in its final phase waits for the controller, which is
	 * here: it ends at the next vm_call_paused (-EBUSY). */
	pthread_join(g->thread, NULL);
	if (g->fd >= 0)
		close(g->fd);
	for (int r = 0; r < GMEM_MAX_REGIONS; r++)
		free(g->todo[r]);
	free(g->rec);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
	free(g);
	vm->migration = NULL;
}

int migration_start(struct vm *vm, const char *uri, char *why, size_t why_len)
{
	struct migration *g = vm->migration;
	struct sockaddr_storage ss;
	unsigned len;
	int err = 0;

	if (!g) {
		snprintf(why, why_len, "the %s engine cannot migrate",
			 vm->cfg && vm->cfg->engine ? vm->cfg->engine : "current");
		return -ENOTSUP;
	}
	if (strlen(uri) >= sizeof(g->uri) || migration_parse_uri(uri, &ss, &len)) {
		snprintf(why, why_len, "bad uri '%.100s' (tcp:HOST:PORT or unix:PATH)", uri);
		return -EINVAL;
	}
	pthread_mutex_lock(&g->lock);
	if (g->go || g->status == MIG_SETUP || g->status == MIG_ACTIVE ||
	    g->status == MIG_DEVICE || g->status == MIG_CANCELLING ||
	    g->status == MIG_COMPLETED) {
		snprintf(why, why_len, "a migration is already %s", status_name[g->status]);
		err = -EBUSY;
	} else {
		snprintf(g->uri, sizeof(g->uri), "%s", uri);
		g->status = MIG_SETUP;
		g->cancel = false;
		g->error[0] = 0;
		g->start_ns = host_ns();
		g->setup_ns = g->end_ns = g->downtime_start_ns = 0;
		g->transferred = g->precopy_bytes = g->downtime_bytes = 0;
		g->duplicate = g->normal = g->dirty_sync_count = g->remaining_pages = 0;
		g->dirty_rate = g->expected_downtime_ms = g->downtime_ms = 0;
		g->mbps = 0;
		g->window_ns = g->window_bytes = 0;
		for (int r = 0; r < vm->mem.nr_regions; r++)
			memset(g->todo[r], 0, (vm->mem.region[r].size / PAGE + 63) / 64 * 8);
		g->go = true;
		pthread_cond_broadcast(&g->cond);
	}
	pthread_mutex_unlock(&g->lock);
	return err;
}

void migration_cancel(struct vm *vm)
{
	struct migration *g = vm->migration;

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	/* In the final phase the machine is paused and the state on its way:
	 * too late, as in QEMU once the device state is being sent. */
	if (g->status == MIG_SETUP || g->status == MIG_ACTIVE) {
		g->cancel = true;
		g->status = MIG_CANCELLING;
		if (g->fd >= 0)
			shutdown(g->fd, SHUT_RDWR);  /* a blocked send returns */
	}
	pthread_mutex_unlock(&g->lock);
}

void migration_info(struct vm *vm, struct json_writer *w)
{
	struct migration *g = vm->migration;
	uint64_t now = host_ns(), end;

	jw_object_begin(w);
	if (!g) {
		jw_object_end(w);
		return;
	}
	pthread_mutex_lock(&g->lock);
	if (g->status == MIG_NONE) {
		pthread_mutex_unlock(&g->lock);
		jw_object_end(w);
		return;
	}
	end = g->end_ns ? g->end_ns : now;
	jw_key(w, "status");
	jw_string(w, status_name[g->status]);
	if (g->status != MIG_SETUP) {
		jw_key(w, "total-time");
		jw_uint(w, ms_of(end - g->start_ns));
		if (g->setup_ns) {
			jw_key(w, "setup-time");
			jw_uint(w, ms_of(g->setup_ns - g->start_ns));
		}
		if (g->status == MIG_COMPLETED) {
			jw_key(w, "downtime");
			jw_uint(w, g->downtime_ms);
			jw_key(w, "x-downtime-to-running");
			jw_uint(w, g->downtime_running_ms);
		} else if (g->status == MIG_ACTIVE || g->status == MIG_DEVICE) {
			jw_key(w, "expected-downtime");
			jw_uint(w, g->expected_downtime_ms);
		}
		jw_key(w, "ram");
		jw_object_begin(w);
		jw_key(w, "transferred"); jw_uint(w, g->transferred);
		jw_key(w, "remaining"); jw_uint(w, g->remaining_pages * PAGE);
		jw_key(w, "total"); jw_uint(w, g->total_pages * PAGE);
		jw_key(w, "duplicate"); jw_uint(w, g->duplicate);
		jw_key(w, "skipped"); jw_uint(w, 0);
		jw_key(w, "normal"); jw_uint(w, g->normal);
		jw_key(w, "normal-bytes"); jw_uint(w, g->normal * PAGE);
		jw_key(w, "dirty-pages-rate"); jw_uint(w, g->dirty_rate);
		jw_key(w, "mbps"); jw_double(w, g->mbps);
		jw_key(w, "dirty-sync-count"); jw_uint(w, g->dirty_sync_count);
		jw_key(w, "page-size"); jw_uint(w, PAGE);
		jw_key(w, "precopy-bytes"); jw_uint(w, g->precopy_bytes);
		jw_key(w, "downtime-bytes"); jw_uint(w, g->downtime_bytes);
		jw_object_end(w);
	}
	if (g->status == MIG_FAILED) {
		jw_key(w, "error-desc");
		jw_string(w, g->error);
	}
	pthread_mutex_unlock(&g->lock);
	jw_object_end(w);
}

int migration_set_parameters(struct vm *vm, int64_t downtime_limit_ms, int64_t max_bandwidth,
			     char *why, size_t why_len)
{
	struct migration *g = vm->migration;

	if (!g) {
		snprintf(why, why_len, "the %s engine cannot migrate",
			 vm->cfg && vm->cfg->engine ? vm->cfg->engine : "current");
		return -ENOTSUP;
	}
	/* QEMU's bounds: downtime-limit up to 2000 s, max-bandwidth up to
	 * SIZE_MAX (here: any non-negative 64-bit value). */
	if (downtime_limit_ms > 2000000) {
		snprintf(why, why_len, "downtime-limit must be 0 to 2000000 (ms)");
		return -EINVAL;
	}
	pthread_mutex_lock(&g->lock);
	if (downtime_limit_ms >= 0)
		g->downtime_limit_ms = downtime_limit_ms;
	if (max_bandwidth >= 0)
		g->max_bandwidth = max_bandwidth;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

void migration_parameters(struct vm *vm, struct json_writer *w)
{
	struct migration *g = vm->migration;

	jw_object_begin(w);
	if (g) {
		pthread_mutex_lock(&g->lock);
		jw_key(w, "downtime-limit");
		jw_int(w, g->downtime_limit_ms);
		jw_key(w, "max-bandwidth");
		jw_int(w, g->max_bandwidth);
		pthread_mutex_unlock(&g->lock);
	}
	jw_object_end(w);
}

/* ---- destination ---------------------------------------------------------- */

struct incoming {
	char *uri;
	int fd;
	struct snapshot *strings;    /* owns the configuration's strings */
	uint8_t *buf;                /* one record's payload */
	uint64_t received;
};

static int in_fail(struct incoming *in, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int in_fail(struct incoming *in, int err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn("migration: incoming from %s: %s", in->uri, msg);
	return err;
}

static void answer(int fd, uint32_t status, const char *msg)
{
	uint8_t a[16];
	uint32_t len = (uint32_t)strlen(msg);

	if (len > MAX_MESSAGE)
		len = MAX_MESSAGE;
	memcpy(a, ACK_MAGIC, 8);
	memcpy(a + 8, &status, 4);
	memcpy(a + 12, &len, 4);
	if (!send_all(fd, a, sizeof(a)))
		send_all(fd, msg, len);
}

static int listen_accept(struct incoming *in)
{
	struct sockaddr_storage ss;
	unsigned len;
	int lfd, fd, one = 1;

	if (migration_parse_uri(in->uri, &ss, &len))
		return in_fail(in, -EINVAL, "bad address (tcp:HOST:PORT or unix:PATH)");
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return in_fail(in, -errno, "socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 1)) {
		int err = -errno;
		close(lfd);
		return in_fail(in, -EINVAL, "cannot listen: %s%s", strerror(-err),
			       err == -EADDRINUSE ? " (another process has it)" : "");
	}
	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	close(lfd);
	if (ss.ss_family == AF_UNIX)
		unlink(((struct sockaddr_un *)&ss)->sun_path);
	if (fd < 0)
		return in_fail(in, -errno, "accept: %s", strerror(errno));
	set_timeouts(fd, IO_TIMEOUT_S);
	in->fd = fd;
	return 0;
}

static void incoming_free(struct incoming *in)
{
	if (!in)
		return;
	if (in->fd >= 0)
		close(in->fd);
	snapshot_close(in->strings);
	free(in->buf);
	free(in->uri);
	free(in);
}

int migration_incoming_open(const char *uri, struct vm_config *cfg, struct incoming **out)
{
	struct incoming *in = calloc(1, sizeof(*in));
	uint8_t h[HEADER_SIZE], *conf = NULL;
	uint32_t format, arch, len, crc;
	const struct engine_ops *e;
	char why[300];
	int err;

	*out = NULL;
	if (!in || !(in->uri = strdup(uri)) || !(in->buf = malloc(MAX_PAGES_REC))) {
		incoming_free(in);
		warn("migration: out of memory");
		return -ENOMEM;
	}
	in->fd = -1;
	if ((err = listen_accept(in)))
		goto fail;
	if ((err = recv_all(in->fd, h, sizeof(h)))) {
		err = in_fail(in, -EINVAL, "reading the header: %s", io_error(err));
		goto fail;
	}
	memcpy(&format, h + 8, 4);
	memcpy(&arch, h + 12, 4);
	memcpy(&len, h + 16, 4);
	memcpy(&crc, h + 20, 4);
	if (memcmp(h, MIG_MAGIC, 8)) {
		answer(in->fd, 1, "not a Trevo migration stream");
		err = in_fail(in, -EINVAL, "not a Trevo migration stream");
		goto fail;
	}
	if (format != MIG_FORMAT) {
		snprintf(why, sizeof(why), "stream format %u, this Trevo reads format %d", format,
			 MIG_FORMAT);
		answer(in->fd, 1, why);
		err = in_fail(in, -EINVAL, "%s", why);
		goto fail;
	}
	if (len > MAX_CONFIG || !(conf = malloc(len ? len : 1)) ||
	    (err = recv_all(in->fd, conf, len))) {
		answer(in->fd, 1, "truncated or oversized header");
		err = in_fail(in, -EINVAL, "truncated or oversized header");
		goto fail;
	}
	if ((uint32_t)crc32(0, conf, len) != crc) {
		answer(in->fd, 1, "corrupt header (checksum mismatch)");
		err = in_fail(in, -EINVAL, "corrupt header (checksum mismatch)");
		goto fail;
	}
	if ((err = snapshot_config_load(conf, len, cfg, &in->strings, why, sizeof(why)))) {
		answer(in->fd, 1, why);
		err = in_fail(in, -EINVAL, "%s", why);
		goto fail;
	}
	e = engine_find(cfg->engine);
	if (!e || (uint32_t)e->arch != arch) {
		answer(in->fd, 1, "architecture and engine do not match");
		err = in_fail(in, -EINVAL, "architecture %u does not match engine %s", arch,
			      cfg->engine);
		goto fail;
	}
	free(conf);
	answer(in->fd, 0, "");
	*out = in;
	return 0;
fail:
	free(conf);
	incoming_free(in);
	return err ? err : -EINVAL;
}

static const char *const rec_name[] = {
	[REC_PAGES] = "RAM pages", [REC_VCPU] = "vCPU", [REC_BOARD] = "board",
	[REC_DEVICE] = "device", [REC_END] = "end",
};

static int load_pages(struct incoming *in, struct vm *vm, uint32_t count, uint64_t len,
		      uint32_t crc)
{
	uint64_t *entries = (uint64_t *)in->buf, nz = 0;
	uint8_t *data = in->buf + (uint64_t)count * 8;
	int err;

	if (count < 1 || count > PAGES_PER_REC || len < (uint64_t)count * 8 ||
	    len > MAX_PAGES_REC)
		return in_fail(in, -EINVAL, "corrupt stream (a page record of %u pages, %llu bytes)",
			       count, (unsigned long long)len);
	if ((err = recv_all(in->fd, in->buf, (size_t)count * 8)))
		return in_fail(in, -EINVAL, "stream cut in RAM: %s", io_error(err));
	for (uint32_t i = 0; i < count; i++)
		nz += !(entries[i] & ZERO_PAGE_BIT);
	if (len != (uint64_t)count * 8 + nz * PAGE)
		return in_fail(in, -EINVAL, "corrupt stream (page record length)");
	if ((err = recv_all(in->fd, data, (size_t)(nz * PAGE))))
		return in_fail(in, -EINVAL, "stream cut in RAM: %s", io_error(err));
	if ((uint32_t)crc32(0, in->buf, (uInt)len) != crc)
		return in_fail(in, -EINVAL, "corrupt stream (RAM checksum mismatch)");
	nz = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t gpa = entries[i] & ~(PAGE - 1), flags = entries[i] & (PAGE - 1);
		uint8_t *dst = gmem_ptr(&vm->mem, gpa, PAGE);
		if (flags & ~ZERO_PAGE_BIT || !dst)
			return in_fail(in, -EINVAL, "corrupt stream (page 0x%llx is not guest RAM)",
				       (unsigned long long)entries[i]);
		if (flags & ZERO_PAGE_BIT)
			memset(dst, 0, PAGE);
		else
			memcpy(dst, data + nz++ * PAGE, PAGE);
	}
	return 0;
}

int migration_incoming_restore(struct vm *vm, void *opaque)
{
	struct incoming *in = opaque;
	bool vcpu_seen[SNAPSHOT_MAX_CPUS] = { false }, board = false;
	uint64_t begin = host_ns();
	int nr_devices = 0, devices_seen = 0;
	int err;

	for (struct device *d = vm->devices; d; d = d->next)
		nr_devices += d->ops->state != NULL;
	/* What the loaders put there goes: pages the source never had are
	 * zero, and those it has come in the stream. */
	for (int i = 0; i < vm->mem.nr_regions; i++)
		madvise(vm->mem.region[i].host, vm->mem.region[i].size, MADV_DONTNEED);
	for (;;) {
		uint8_t h[REC_HEADER];
		uint32_t kind, count, crc;
		uint64_t len;
		if ((err = recv_all(in->fd, h, sizeof(h))))
			return in_fail(in, -EINVAL, "stream cut after %llu bytes: %s",
				       (unsigned long long)in->received, io_error(err));
		memcpy(&kind, h, 4);
		memcpy(&count, h + 4, 4);
		memcpy(&len, h + 8, 8);
		memcpy(&crc, h + 16, 4);
		in->received += sizeof(h) + len;
		if (kind == REC_PAGES) {
			if ((err = load_pages(in, vm, count, len, crc)))
				return err;
			continue;
		}
		if (kind < REC_PAGES || kind > REC_END || len > MAX_STATE)
			return in_fail(in, -EINVAL, "corrupt stream (record kind %u, %llu bytes)", kind,
				       (unsigned long long)len);
		if (kind == REC_END) {
			if (len)
				return in_fail(in, -EINVAL, "corrupt stream (end record)");
			break;
		}
		uint8_t *p = malloc(len ? len : 1);
		if (!p)
			return in_fail(in, -ENOMEM, "out of memory");
		if ((err = recv_all(in->fd, p, len))) {
			free(p);
			return in_fail(in, -EINVAL, "stream cut in the %s state: %s", rec_name[kind],
				       io_error(err));
		}
		if ((uint32_t)crc32(0, p, (uInt)len) != crc) {
			free(p);
			return in_fail(in, -EINVAL, "corrupt stream (%s state checksum mismatch)",
				       rec_name[kind]);
		}
		err = 0;
		if (kind == REC_VCPU) {
			struct vcpu_state st;
			if (count >= (uint32_t)vm->cfg->cpus || vcpu_seen[count] || len != sizeof(st)) {
				err = in_fail(in, -EINVAL, "corrupt stream (vCPU %u)", count);
			} else {
				memcpy(&st, p, sizeof(st));
				vcpu_seen[count] = true;
				if ((err = vm->engine->set_vcpu(vm, (int)count, &st)))
					err = in_fail(in, -EINVAL, "vCPU %u: state refused", count);
			}
		} else if (kind == REC_BOARD) {
			struct vmstate s;
			vms_init_load(&s, p, len);
			if (board || !vm->board->state || vm->board->state(vm, &s) || s.pos != s.len)
				err = in_fail(in, -EINVAL, "board state refused");
			board = true;
		} else {
			struct vmstate s;
			struct device *d;
			char id[33];
			if (len < 32) {
				free(p);
				return in_fail(in, -EINVAL, "corrupt stream (device record)");
			}
			memcpy(id, p, 32);
			id[32] = 0;
			d = vm_find_device(vm, id);
			vms_init_load(&s, p + 32, len - 32);
			if (!d || !d->ops->state)
				err = in_fail(in, -EINVAL, "device %.32s is not in this machine", id);
			else if (d->ops->state(d->state, &s) || s.pos != s.len)
				err = in_fail(in, -EINVAL, "device %s: state refused", id);
			devices_seen++;
		}
		free(p);
		if (err)
			return err;
	}
	for (int i = 0; i < vm->cfg->cpus; i++)
		if (!vcpu_seen[i])
			return in_fail(in, -EINVAL, "incomplete stream (no state for vCPU %d)", i);
	if ((vm->board->state && !board) || devices_seen != nr_devices)
		return in_fail(in, -EINVAL, "incomplete stream (board or device state missing)");
	for (int i = 0; i < vm->mem.nr_regions && vm->engine->invalidate_code; i++)
		vm->engine->invalidate_code(vm, vm->mem.region[i].gpa, vm->mem.region[i].size);
	debug("migration: %llu bytes received, state loaded in %.1f ms",
	      (unsigned long long)in->received, (double)(host_ns() - begin) / 1e6);
	return 0;
}

void migration_incoming_running(struct vm *vm, void *opaque)
{
	struct incoming *in = opaque;
	uint8_t run[12] = RUN_MAGIC;

	(void)vm;
	/* If the source cannot hear it, it resumes the guest too; nothing the
	 * destination can do about that but say so. */
	if (send_all(in->fd, run, sizeof(run)))
		warn("migration: could not tell the source that the guest runs here");
	close(in->fd);
	in->fd = -1;
}
