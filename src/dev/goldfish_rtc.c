/* Goldfish RTC (Android emulator's real-time clock, "google,goldfish-rtc"),
 * the RTC of QEMU's RISC-V virt board; Linux's rtc-goldfish drives it.
 *
 * The clock is host wall time (CLOCK_REALTIME) in nanoseconds plus an offset
 * the guest moves by writing the time registers. A 64-bit value is read low
 * word first: reading TIME_LOW latches the high word for the next TIME_HIGH
 * read, so the pair is consistent. The alarm is a timerfd on the VM's event
 * loop armed at the host time that corresponds to the guest's alarm; when it
 * fires the interrupt is raised (if enabled) until CLEAR_INTERRUPT. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../host/loop.h"
#include "../stats.h"
#include "../vm.h"
#include "../vmstate.h"
#include "device.h"

#define RTC_MMIO_SIZE 0x1000

enum {
	RTC_TIME_LOW = 0x00,
	RTC_TIME_HIGH = 0x04,
	RTC_ALARM_LOW = 0x08,
	RTC_ALARM_HIGH = 0x0c,
	RTC_IRQ_ENABLED = 0x10,
	RTC_CLEAR_ALARM = 0x14,
	RTC_ALARM_STATUS = 0x18,
	RTC_CLEAR_INTERRUPT = 0x1c,
};

struct goldfish_rtc {
	pthread_mutex_t lock;
	struct vm *vm;
	struct irq_line irq;
	int irq_level;
	int timer_fd;

	int64_t offset_ns;       /* guest time - host CLOCK_REALTIME */
	uint32_t time_high_latch;
	uint64_t alarm_ns;       /* guest time */
	bool alarm_armed;        /* ALARM_STATUS */
	bool irq_enabled;
	bool irq_pending;
	bool paused;             /* VM paused: the alarm does not fire */
	uint64_t alarms;         /* alarms that fired */
};

static uint64_t host_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t rtc_now(const struct goldfish_rtc *r)
{
	return host_realtime_ns() + (uint64_t)r->offset_ns;
}

static void rtc_update_irq(struct goldfish_rtc *r)
{
	int level = r->irq_enabled && r->irq_pending;

	if (level != r->irq_level) {
		r->irq_level = level;
		irq_set_level(&r->irq, level);
	}
}

/* Fire the alarm if its time has come; checked on every register access as
 * well as from the timer, so a lost or late timer costs accuracy, not the
 * interrupt. */
static void rtc_check_alarm(struct goldfish_rtc *r)
{
	if (r->alarm_armed && !r->paused && rtc_now(r) >= r->alarm_ns) {
		r->alarm_armed = false;
		r->irq_pending = true;
		r->alarms++;
	}
}

/* Program the timerfd for the host time at which the guest's alarm falls
 * (the offset may have changed since it was armed). */
static void rtc_program_timer(struct goldfish_rtc *r)
{
	struct itimerspec its;
	uint64_t host_at;

	if (r->timer_fd < 0)
		return;
	memset(&its, 0, sizeof(its));
	if (r->alarm_armed) {
		host_at = r->alarm_ns - (uint64_t)r->offset_ns;
		/* Wrapped or already past: fire at once (0 would disarm). */
		if ((int64_t)host_at <= 0)
			host_at = 1;
		its.it_value.tv_sec = (time_t)(host_at / 1000000000ULL);
		its.it_value.tv_nsec = (long)(host_at % 1000000000ULL);
	}
	timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Set the guest clock so that it reads `t` now. */
static void rtc_set_time(struct goldfish_rtc *r, uint64_t t)
{
	r->offset_ns = (int64_t)(t - host_realtime_ns());
	rtc_program_timer(r);
}

static uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
	struct goldfish_rtc *r = opaque;
	uint64_t v = 0, now;

	(void)size;
	pthread_mutex_lock(&r->lock);
	rtc_check_alarm(r);
	switch (offset) {
	case RTC_TIME_LOW:
		now = rtc_now(r);
		r->time_high_latch = (uint32_t)(now >> 32);
		v = (uint32_t)now;
		break;
	case RTC_TIME_HIGH:
		v = r->time_high_latch;
		break;
	case RTC_ALARM_LOW:
		v = (uint32_t)r->alarm_ns;
		break;
	case RTC_ALARM_HIGH:
		v = (uint32_t)(r->alarm_ns >> 32);
		break;
	case RTC_IRQ_ENABLED:
		v = r->irq_enabled;
		break;
	case RTC_ALARM_STATUS:
		v = r->alarm_armed;
		break;
	}
	rtc_update_irq(r);
	pthread_mutex_unlock(&r->lock);
	return v;
}

static void rtc_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct goldfish_rtc *r = opaque;
	uint64_t now;
	uint32_t v = (uint32_t)value;

	(void)size;
	pthread_mutex_lock(&r->lock);
	switch (offset) {
	case RTC_TIME_LOW:
		/* Linux writes TIME_HIGH, then TIME_LOW: each write replaces
		 * its half of the current time. */
		now = rtc_now(r);
		rtc_set_time(r, (now & ~0xffffffffULL) | v);
		break;
	case RTC_TIME_HIGH:
		now = rtc_now(r);
		rtc_set_time(r, ((uint64_t)v << 32) | (now & 0xffffffffULL));
		break;
	case RTC_ALARM_HIGH:
		r->alarm_ns = ((uint64_t)v << 32) | (r->alarm_ns & 0xffffffffULL);
		break;
	case RTC_ALARM_LOW:
		/* Writing the low word arms the alarm (high word first). */
		r->alarm_ns = (r->alarm_ns & ~0xffffffffULL) | v;
		r->alarm_armed = true;
		rtc_program_timer(r);
		break;
	case RTC_IRQ_ENABLED:
		r->irq_enabled = v & 1;
		break;
	case RTC_CLEAR_ALARM:
		r->alarm_armed = false;
		rtc_program_timer(r);
		break;
	case RTC_CLEAR_INTERRUPT:
		r->irq_pending = false;
		break;
	}
	rtc_check_alarm(r);
	rtc_update_irq(r);
	pthread_mutex_unlock(&r->lock);
}

static const struct mmio_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

/* I/O thread: the timerfd expired. */
static void rtc_on_timer(void *opaque, uint32_t events)
{
	struct goldfish_rtc *r = opaque;
	uint64_t expirations;

	(void)events;
	if (read(r->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&r->lock);
	rtc_check_alarm(r);
	/* Woken early (the guest clock moved back): wait on. Paused: resume
	 * looks again (re-arming a past time now would spin). */
	if (r->alarm_armed && !r->paused)
		rtc_program_timer(r);
	rtc_update_irq(r);
	pthread_mutex_unlock(&r->lock);
}

/* Lock held: put the line where the state says, whatever it was. */
static void rtc_sync_irq(struct goldfish_rtc *r)
{
	r->irq_level = r->irq_enabled && r->irq_pending;
	irq_set_level(&r->irq, r->irq_level);
}

/* Alarm off, interrupt disabled and clear. The clock keeps its time: it is
 * the battery-backed wall clock, which a reset does not touch (nor does
 * QEMU's). */
static void rtc_power_on(struct goldfish_rtc *r)
{
	r->time_high_latch = 0;
	r->alarm_ns = 0;
	r->alarm_armed = false;
	r->irq_enabled = false;
	r->irq_pending = false;
	rtc_program_timer(r);
}

static void rtc_reset(void *opaque)
{
	struct goldfish_rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	rtc_power_on(r);
	rtc_sync_irq(r);
	pthread_mutex_unlock(&r->lock);
}

/* The timer may still expire while paused; it then changes nothing until
 * resume looks at the alarm again. */
static void rtc_pause(void *opaque)
{
	struct goldfish_rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	r->paused = true;
	pthread_mutex_unlock(&r->lock);
}

static void rtc_resume(void *opaque)
{
	struct goldfish_rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	r->paused = false;
	rtc_check_alarm(r);
	rtc_program_timer(r);
	rtc_update_irq(r);
	pthread_mutex_unlock(&r->lock);
}

/* The guest's clock as its offset from host wall time (so a restored
 * clock has moved on by the time spent saved, as a real one would), the
 * latched high word, the alarm and the interrupt state. Any 64-bit offset
 * or alarm is one the guest could have written. */
static int rtc_state(void *opaque, struct vmstate *s)
{
	struct goldfish_rtc *r = opaque;
	uint64_t offset;
	int err;

	pthread_mutex_lock(&r->lock);
	offset = (uint64_t)r->offset_ns;
	if (vms_version(s, 1) < 0)
		goto out;
	vms_u64(s, &offset);
	vms_u32(s, &r->time_high_latch);
	vms_u64(s, &r->alarm_ns);
	vms_bool(s, &r->alarm_armed);
	vms_bool(s, &r->irq_enabled);
	vms_bool(s, &r->irq_pending);
out:
	err = vms_error(s);
	if (s->loading) {
		if (err) {
			warn("goldfish-rtc: saved state refused (%s); device reset", strerror(-err));
			rtc_power_on(r);
		} else {
			r->offset_ns = (int64_t)offset;
			rtc_program_timer(r);
		}
		rtc_sync_irq(r);
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

static void rtc_stats(void *opaque, const struct stats_sink *s)
{
	struct goldfish_rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	stats_put(s, "alarms", r->alarms);
	pthread_mutex_unlock(&r->lock);
}

static void rtc_destroy(void *opaque)
{
	struct goldfish_rtc *r = opaque;

	if (r->timer_fd >= 0) {
		if (r->vm->loop)
			loop_del_fd(r->vm->loop, r->timer_fd);
		close(r->timer_fd);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int rtc_create(struct vm *vm, const struct dev_params *p, void **state)
{
	struct goldfish_rtc *r;
	int irq = p->irq, err;
	struct dev_desc d = {
		.node_name = "rtc",
		.compatible = "google,goldfish-rtc",
		.base = p->base,
		.size = RTC_MMIO_SIZE,
	};

	if (!p->base) {
		warn("goldfish-rtc: needs an MMIO base");
		return -EINVAL;
	}
	if (irq < 0 && (irq = vm_alloc_irq(vm)) < 0) {
		warn("goldfish-rtc: no free interrupt line");
		return irq;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*state = r;
	pthread_mutex_init(&r->lock, NULL);
	r->vm = vm;
	r->irq = vm_irq_line(vm, (unsigned)irq);
	r->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->timer_fd < 0 || !vm->loop ||
	    loop_add_fd(vm->loop, r->timer_fd, EPOLLIN, rtc_on_timer, r) < 0)
		warn("goldfish-rtc: no alarm timer; alarms are seen only when the guest looks");
	err = vm_add_mmio(vm, p->base, RTC_MMIO_SIZE, &rtc_ops, r, "goldfish-rtc");
	if (err) {
		if (r->timer_fd >= 0) {
			if (vm->loop)
				loop_del_fd(vm->loop, r->timer_fd);
			close(r->timer_fd);
		}
		free(r);
		return err;
	}
	d.irq = irq;
	d.opaque = r;
	return vm_describe(vm, &d);
}

static const struct device_ops goldfish_rtc_model = {
	.name = "goldfish-rtc",
	.create = rtc_create,
	.reset = rtc_reset,
	.pause = rtc_pause,
	.resume = rtc_resume,
	.state = rtc_state,
	.stats = rtc_stats,
	.destroy = rtc_destroy,
};
DEVICE_MODEL(goldfish_rtc_model)
