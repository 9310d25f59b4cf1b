/* Goldfish RTC: host wall time, guest-set time, alarm through the loop. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unit_vm.h"
#include "host/loop.h"
#include "vm.h"

#define CHECK_PREFIX "rtc-"
#include "check.h"

static _Atomic int irq_level;
static unsigned irq_num;

static void fake_set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	irq_num = irq;
	irq_level = level;
}

static const struct mmio_region *rtc;

static uint32_t rd(unsigned off)
{
	return (uint32_t)rtc->ops->read(rtc->opaque, off, 4);
}

static void wr(unsigned off, uint32_t v)
{
	rtc->ops->write(rtc->opaque, off, v, 4);
}

static uint64_t guest_time(void)
{
	uint64_t lo = rd(0x00);
	return ((uint64_t)rd(0x04) << 32) | lo;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int64_t diff(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b);
}

static bool wait_irq(int level, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (irq_level == level)
			return true;
		usleep(1000);
	}
	return irq_level == level;
}

int main(void)
{
	struct vm_config cfg = { 0 };
	struct vm vm = { .cfg = &cfg, .set_irq = fake_set_irq };
	struct dev_params p = { .base = 0x101000, .irq = 11 };
	uint64_t t, alarm;
	int64_t d;

	vm.loop = loop_create();
	loop_start(vm.loop);
	CHECK("create", vm_create_device(&vm, "goldfish-rtc", &p) == 0);
	rtc = bus_find(&vm.mmio, 0x101000, 4);
	CHECK("describe", rtc && vm.nr_desc == 1 && !strcmp(vm.desc[0].node_name, "rtc") &&
				  !strcmp(vm.desc[0].compatible, "google,goldfish-rtc") &&
				  vm.desc[0].irq == 11 && vm.desc[0].size == 0x1000);
	if (!rtc)
		return 1;

	t = guest_time();
	d = diff(t, wall_ns());
	CHECK("host-time", d > -1000000000LL && d < 1000000000LL);
	CHECK("time-advances", guest_time() > t);

	/* Linux's set_time: TIME_HIGH, then TIME_LOW. */
	t = 1000000000ULL * 86400 * 365 * 10;  /* 1980 */
	wr(0x04, (uint32_t)(t >> 32));
	wr(0x00, (uint32_t)t);
	d = diff(guest_time(), t);
	CHECK("set-time", d >= 0 && d < 1000000000LL);

	/* Alarm 50 ms ahead, interrupt enabled. */
	irq_level = 0;
	alarm = guest_time() + 50000000ULL;
	wr(0x10, 1);
	wr(0x0c, (uint32_t)(alarm >> 32));
	wr(0x08, (uint32_t)alarm);
	CHECK("alarm-armed", rd(0x18) == 1 && irq_level == 0);
	CHECK("alarm-readback", rd(0x08) == (uint32_t)alarm && rd(0x0c) == (uint32_t)(alarm >> 32));
	CHECK("alarm-fires", wait_irq(1, 2000) && irq_num == 11);
	CHECK("alarm-not-early", diff(guest_time(), alarm) >= 0);
	CHECK("alarm-status-after", rd(0x18) == 0);
	wr(0x1c, 1);
	CHECK("clear-interrupt", irq_level == 0);

	/* An alarm in the past fires at once. */
	alarm = guest_time() - 1000;
	wr(0x0c, (uint32_t)(alarm >> 32));
	wr(0x08, (uint32_t)alarm);
	CHECK("alarm-past", irq_level == 1);
	wr(0x1c, 1);

	/* Cancelled alarm does not fire. */
	alarm = guest_time() + 30000000ULL;
	wr(0x0c, (uint32_t)(alarm >> 32));
	wr(0x08, (uint32_t)alarm);
	wr(0x14, 1);
	usleep(60000);
	CHECK("clear-alarm", irq_level == 0 && rd(0x18) == 0);

	/* Disabled interrupt: pending but the line stays low until enabled. */
	wr(0x10, 0);
	CHECK("irq-enabled-read", rd(0x10) == 0);
	alarm = guest_time() + 10000000ULL;
	wr(0x0c, (uint32_t)(alarm >> 32));
	wr(0x08, (uint32_t)alarm);
	usleep(40000);
	CHECK("masked", irq_level == 0 && rd(0x18) == 0);
	wr(0x10, 1);
	CHECK("unmask-raises", irq_level == 1);
	wr(0x1c, 1);
	CHECK("unknown-reg", rd(0x40) == 0);

	loop_stop(vm.loop);
	unit_vm_free(&vm);
	loop_destroy(vm.loop);
	return failures ? 1 : 0;
}
