/* Split virtqueues (src/dev/virtio.c) against a RAM array: normal and
 * indirect chains, event-index suppression both ways, and every hostile
 * ring we could think of. Nothing here may crash or touch memory outside
 * guest RAM (run it under ASan: build/san/tests/unit/test_virtq). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/virtio.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (1ULL << 20)
#define QSZ 8
#define DESC (RAM_BASE + 0x1000)
#define AVAIL (RAM_BASE + 0x2000)
#define USED (RAM_BASE + 0x3000)
#define BUF (RAM_BASE + 0x10000)
#define TABLE (RAM_BASE + 0x8000)

static struct guest_mem mem;
static struct virtq vq;
static struct virtq_req req;
static int failures;
static uint16_t avail_idx;

#define CHECK(name, cond)                                                \
	do {                                                             \
		if (cond) {                                              \
			printf("PASS %s\n", name);                       \
		} else {                                                 \
			printf("FAIL %s: %s (line %d)\n", name, #cond, __LINE__); \
			failures++;                                      \
		}                                                        \
	} while (0)

static uint8_t *host(uint64_t gpa)
{
	return gmem_ptr(&mem, gpa, 1);
}

static void set_desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };
	memcpy(host(table + 16 * i), &d, 16);
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	set_desc_at(DESC, i, addr, len, flags, next);
}

static void offer(uint16_t head)
{
	uint16_t *ring = (uint16_t *)host(AVAIL + 4);
	ring[avail_idx % QSZ] = head;
	avail_idx++;
	gmem_write16(&mem, AVAIL + 2, avail_idx);
}

static uint16_t used_idx(void)
{
	uint16_t v;
	gmem_read16(&mem, USED + 2, &v);
	return v;
}

static void used_elem(unsigned slot, uint32_t *id, uint32_t *len)
{
	gmem_read32(&mem, USED + 4 + 8 * slot, id);
	gmem_read32(&mem, USED + 8 + 8 * slot, len);
}

/* Fresh queue: zeroed rings, ready, features as asked. */
static void setup(bool event_idx, bool indirect)
{
	memset(host(RAM_BASE), 0, 0x20000);
	vq.mem = &mem;
	vq.max_size = QSZ;
	virtq_reset(&vq);
	vq.size = QSZ;
	vq.desc = DESC;
	vq.avail = AVAIL;
	vq.used = USED;
	vq.ready = true;
	vq.event_idx = event_idx;
	vq.indirect = indirect;
	avail_idx = 0;
}

static void test_normal_chain(void)
{
	uint32_t id, len;
	int r;

	setup(false, false);
	CHECK("virtq_empty", virtq_pop_chain(&vq, &req) == 0);
	set_desc(3, BUF, 16, VIRTQ_DESC_F_NEXT, 5);
	set_desc(5, BUF + 0x100, 512, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF + 0x1000, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(3);
	CHECK("virtq_pending", virtq_pending(&vq) == 1);
	r = virtq_pop_chain(&vq, &req);
	CHECK("virtq_normal_chain",
	      r == 1 && req.head == 3 && req.nr_out == 2 && req.nr_in == 1 && req.out_len == 528 &&
		      req.in_len == 1 && req.seg[0].gpa == BUF && req.seg[1].len == 512 &&
		      req.seg[2].host == host(BUF + 0x1000));
	CHECK("virtq_empty_after_pop", virtq_pop_chain(&vq, &req) == 0);
	CHECK("virtq_push_used", virtq_push_used(&vq, 3, 1) == 0);
	used_elem(0, &id, &len);
	CHECK("virtq_used_ring", used_idx() == 1 && id == 3 && len == 1);
	/* Without EVENT_IDX the avail flag decides. */
	CHECK("virtq_notify_plain", virtq_should_notify(&vq));
	gmem_write16(&mem, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_push_used(&vq, 3, 1);
	CHECK("virtq_no_interrupt_flag", !virtq_should_notify(&vq));

	/* Request data helpers. */
	{
		uint8_t hdr[16], st = 0x5a;
		memset(host(BUF), 0xab, 16);
		setup(false, false);
		set_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
		set_desc(1, BUF + 0x1000, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
		set_desc(2, BUF + 0x2000, 4, VIRTQ_DESC_F_WRITE, 0);
		memset(host(BUF), 0xab, 16);
		offer(0);
		virtq_pop_chain(&vq, &req);
		CHECK("virtq_req_read", virtq_req_read(&req, 0, hdr, 16) == 16 && hdr[15] == 0xab &&
						virtq_req_read(&req, 10, hdr, 16) == 6);
		CHECK("virtq_req_write_spans",
		      virtq_req_write(&mem, &req, 3, (uint8_t[]){ 1, 2 }, 2) == 2 &&
			      *host(BUF + 0x1003) == 1 && *host(BUF + 0x2000) == 2);
		CHECK("virtq_req_write_clipped", virtq_req_write(&mem, &req, 7, &st, 1) == 1 &&
							 virtq_req_write(&mem, &req, 8, &st, 1) == 0);
	}
}

static void test_indirect(void)
{
	int r;

	setup(false, true);
	set_desc_at(TABLE, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc_at(TABLE, 1, BUF + 0x100, 4096, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	set_desc_at(TABLE, 2, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	/* 2.7.5.3.2: the device ignores WRITE on the descriptor of the table. */
	set_desc(2, TABLE, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	offer(2);
	r = virtq_pop_chain(&vq, &req);
	CHECK("virtq_indirect_chain", r == 1 && req.head == 2 && req.nr_out == 1 &&
					      req.nr_in == 2 && req.in_len == 4097);

	/* Normal descriptors followed by one indirect (2.7.5.3.2 "MUST
	 * handle"). */
	set_desc(4, BUF + 0x3000, 8, VIRTQ_DESC_F_NEXT, 6);
	set_desc(6, TABLE, 48, VIRTQ_DESC_F_INDIRECT, 0);
	offer(4);
	r = virtq_pop_chain(&vq, &req);
	CHECK("virtq_direct_then_indirect", r == 1 && req.nr_out == 2 && req.nr_in == 2 &&
						    req.out_len == 24);
}

static void test_event_idx(void)
{
	uint16_t avail_event;

	setup(true, false);
	set_desc(0, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
	for (int i = 0; i < 3; i++)
		offer(0);
	virtq_pop_chain(&vq, &req);
	gmem_read16(&mem, USED + 4 + 8 * QSZ, &avail_event);
	CHECK("virtq_avail_event_follows_pops", avail_event == 1);

	/* used_event = 0: notify when used idx passes 0 -> 1. */
	gmem_write16(&mem, AVAIL + 4 + 2 * QSZ, 0);
	virtq_push_used(&vq, 0, 8);
	CHECK("virtq_event_first_notifies", virtq_should_notify(&vq));
	virtq_pop_chain(&vq, &req);
	virtq_push_used(&vq, 0, 8);
	/* used_event still 0: idx 1 -> 2 does not cross it. */
	CHECK("virtq_event_suppressed", !virtq_should_notify(&vq));
	gmem_write16(&mem, AVAIL + 4 + 2 * QSZ, 2);
	virtq_pop_chain(&vq, &req);
	virtq_push_used(&vq, 0, 8);
	CHECK("virtq_event_crossed", virtq_should_notify(&vq));

	/* Device side (2.7.10): disabled notifications leave avail_event
	 * behind; enabling publishes it and reports buffers that raced in. */
	virtq_disable_notify(&vq);
	offer(0);
	virtq_pop_chain(&vq, &req);
	gmem_read16(&mem, USED + 4 + 8 * QSZ, &avail_event);
	CHECK("virtq_event_disabled_stale", avail_event == 3);
	offer(0);
	CHECK("virtq_enable_sees_race", virtq_enable_notify(&vq));
	gmem_read16(&mem, USED + 4 + 8 * QSZ, &avail_event);
	CHECK("virtq_enable_publishes", avail_event == 4);
	virtq_pop_chain(&vq, &req);
	CHECK("virtq_enable_quiet", !virtq_enable_notify(&vq));

	/* Without EVENT_IDX, disable sets VIRTQ_USED_F_NO_NOTIFY. */
	{
		uint16_t flags;
		setup(false, false);
		virtq_disable_notify(&vq);
		gmem_read16(&mem, USED, &flags);
		CHECK("virtq_no_notify_flag", flags == VIRTQ_USED_F_NO_NOTIFY);
		virtq_enable_notify(&vq);
		gmem_read16(&mem, USED, &flags);
		CHECK("virtq_no_notify_cleared", flags == 0);
	}
}

/* One bad chain: pop must say -EINVAL, keep the ring sound, and the next
 * good chain must still come through. */
static void expect_bad_chain(const char *name, uint16_t head)
{
	char n2[96];
	int r;

	offer(head);
	r = virtq_pop_chain(&vq, &req);
	snprintf(n2, sizeof(n2), "%s", name);
	CHECK(n2, r == -EINVAL && req.head == head && !vq.broken);
	set_desc(7, BUF, 4, 0, 0);
	offer(7);
	r = virtq_pop_chain(&vq, &req);
	snprintf(n2, sizeof(n2), "%s_ring_lives", name);
	CHECK(n2, r == 1 && req.head == 7);
}

static void expect_broken(const char *name)
{
	int r = virtq_pop_chain(&vq, &req);
	CHECK(name, r == -EPROTO && vq.broken && virtq_push_used(&vq, 0, 0) == -EFAULT &&
			    virtq_pop_chain(&vq, &req) == -EPROTO);
}

static void test_hostile_chains(void)
{
	setup(false, true);
	set_desc(0, BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 4, VIRTQ_DESC_F_NEXT, 0);
	expect_bad_chain("virtq_loop", 0);

	setup(false, true);
	set_desc(0, BUF, 4, VIRTQ_DESC_F_NEXT, 0);
	expect_bad_chain("virtq_self_loop", 0);

	setup(false, true);
	set_desc(0, BUF, 4, VIRTQ_DESC_F_NEXT, QSZ);
	expect_bad_chain("virtq_next_out_of_table", 0);

	setup(false, true);
	set_desc(0, BUF, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 4, 0, 0);
	expect_bad_chain("virtq_writable_before_readable", 0);

	setup(false, true);
	set_desc(0, RAM_BASE + RAM_SIZE - 2, 4, 0, 0);
	expect_bad_chain("virtq_buffer_past_ram", 0);

	setup(false, true);
	set_desc(0, 0x1000, 4, 0, 0);
	expect_bad_chain("virtq_buffer_below_ram", 0);

	setup(false, true);
	set_desc(0, UINT64_MAX - 10, 100, 0, 0);
	expect_bad_chain("virtq_buffer_addr_wraps", 0);

	/* Indirect tables. */
	setup(false, false);
	set_desc_at(TABLE, 0, BUF, 4, 0, 0);
	set_desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad_chain("virtq_indirect_without_feature", 0);

	setup(false, true);
	set_desc(0, TABLE, 24, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad_chain("virtq_indirect_len_not_16", 0);

	setup(false, true);
	set_desc(0, TABLE, 0, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad_chain("virtq_indirect_len_zero", 0);

	setup(false, true);
	set_desc(0, TABLE, 16 * (VIRTQ_MAX_SEGS + 1), VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad_chain("virtq_indirect_too_big", 0);

	setup(false, true);
	set_desc(0, RAM_BASE + RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad_chain("virtq_indirect_table_past_ram", 0);

	setup(false, true);
	set_desc_at(TABLE, 0, TABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad_chain("virtq_indirect_nested", 0);

	setup(false, true);
	set_desc_at(TABLE, 0, BUF, 4, 0, 0);
	set_desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 4, 0, 0);
	expect_bad_chain("virtq_indirect_with_next", 0);

	setup(false, true);
	set_desc_at(TABLE, 0, BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc_at(TABLE, 1, BUF, 4, VIRTQ_DESC_F_NEXT, 0);
	set_desc(0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad_chain("virtq_indirect_loop", 0);

	setup(false, true);
	set_desc_at(TABLE, 0, BUF, 4, VIRTQ_DESC_F_NEXT, 2);
	set_desc(0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad_chain("virtq_indirect_next_past_table", 0);

	/* A chain of more segments than we accept: 1024 two-piece buffers
	 * in an indirect table would need 2048 segments. */
	{
		uint64_t big = RAM_BASE + 0x40000;
		setup(false, true);
		for (unsigned i = 0; i < VIRTQ_MAX_SEGS; i++)
			set_desc_at(big, i, BUF, 4, i + 1 < VIRTQ_MAX_SEGS ? VIRTQ_DESC_F_NEXT : 0,
				    (uint16_t)(i + 1));
		set_desc(0, big, 16 * VIRTQ_MAX_SEGS, VIRTQ_DESC_F_INDIRECT, 0);
		offer(0);
		CHECK("virtq_max_segs_accepted", virtq_pop_chain(&vq, &req) == 1 &&
							 req.nr_out == VIRTQ_MAX_SEGS);
	}
}

/* 2.7.5.2: more than 4 GiB in one chain. Needs a RAM region that big, which
 * costs nothing with MAP_NORESERVE until touched. */
static void test_chain_over_4g(void)
{
	struct guest_mem big = { 0 };
	struct virtq bq;
	uint64_t base = 0x100000000ULL;

	if (gmem_add_region(&big, base, 6 * GiB)) {
		printf("SKIP virtq_chain_over_4g: cannot map 6 GiB of address space\n");
		return;
	}
	bq.mem = &big;
	bq.max_size = 4;
	virtq_reset(&bq);
	bq.desc = base;
	bq.avail = base + 0x100;
	bq.used = base + 0x200;
	bq.ready = true;
	{
		struct virtq_desc d[2] = {
			{ base + 0x1000, 0xc0000000u, VIRTQ_DESC_F_NEXT, 1 },
			{ base + 0x1000, 0xc0000000u, 0, 0 },
		};
		uint16_t one = 1, head = 0;
		gmem_write(&big, base, d, sizeof(d));
		gmem_write(&big, base + 0x104, &head, 2);
		gmem_write(&big, base + 0x102, &one, 2);
	}
	CHECK("virtq_chain_over_4g", virtq_pop_chain(&bq, &req) == -EINVAL && !bq.broken);
	gmem_free(&big);
}

static void test_hostile_rings(void)
{
	setup(false, false);
	set_desc(0, BUF, 4, 0, 0);
	gmem_write16(&mem, AVAIL + 2, QSZ + 1);
	expect_broken("virtq_avail_idx_jump");

	setup(false, false);
	((uint16_t *)host(AVAIL + 4))[0] = QSZ;
	gmem_write16(&mem, AVAIL + 2, 1);
	expect_broken("virtq_head_out_of_range");

	setup(false, false);
	vq.desc = RAM_BASE + RAM_SIZE - 64;
	offer(0);
	expect_broken("virtq_desc_table_past_ram");

	setup(false, false);
	vq.used = RAM_BASE + RAM_SIZE - 8;
	offer(0);
	expect_broken("virtq_used_ring_past_ram");

	setup(false, false);
	vq.avail = 0x10;
	expect_broken("virtq_avail_ring_outside_ram");

	setup(false, false);
	vq.used = USED + 2;
	offer(0);
	expect_broken("virtq_used_ring_misaligned");

	setup(false, false);
	vq.size = 0;
	expect_broken("virtq_size_zero");

	setup(false, false);
	vq.ready = false;
	offer(0);
	CHECK("virtq_not_ready_is_empty", virtq_pop_chain(&vq, &req) == 0 && !vq.broken &&
						  virtq_push_used(&vq, 0, 0) == -EFAULT);

	/* Not ready: nothing happens, nothing breaks. */
	setup(false, false);
	vq.ready = false;
	virtq_reset(&vq);
	CHECK("virtq_reset_clears_broken", !vq.broken && vq.size == QSZ && !vq.ready);
}

/* A buffer across two contiguous RAM regions becomes two segments. */
static void test_region_split(void)
{
	struct guest_mem two = { 0 };
	struct virtq q2;
	uint64_t b = 0x40000000ULL;

	if (gmem_add_region(&two, b, 0x10000) || gmem_add_region(&two, b + 0x10000, 0x10000)) {
		printf("FAIL virtq_region_split: cannot map\n");
		failures++;
		return;
	}
	q2.mem = &two;
	q2.max_size = 4;
	virtq_reset(&q2);
	q2.desc = b;
	q2.avail = b + 0x100;
	q2.used = b + 0x200;
	q2.ready = true;
	{
		struct virtq_desc d = { b + 0xff00, 0x200, 0, 0 };
		uint16_t one = 1, head = 0;
		gmem_write(&two, b, &d, sizeof(d));
		gmem_write(&two, b + 0x104, &head, 2);
		gmem_write(&two, b + 0x102, &one, 2);
	}
	CHECK("virtq_region_split", virtq_pop_chain(&q2, &req) == 1 && req.nr_out == 2 &&
					    req.seg[0].len == 0x100 && req.seg[1].len == 0x100 &&
					    req.seg[1].gpa == b + 0x10000);
	gmem_free(&two);
}

int main(void)
{
	if (gmem_add_region(&mem, RAM_BASE, RAM_SIZE)) {
		printf("FAIL test_virtq: cannot map RAM\n");
		return 1;
	}
	test_normal_chain();
	test_indirect();
	test_event_idx();
	test_hostile_chains();
	test_chain_over_4g();
	test_hostile_rings();
	test_region_split();
	gmem_free(&mem);
	return failures ? 1 : 0;
}
