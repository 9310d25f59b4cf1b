#include "vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "host/console.h"
#include "host/loop.h"
#include "host/qmp.h"
#include "stats.h"

int bus_add(struct bus *b, uint64_t base, uint64_t size, const struct mmio_ops *ops,
	    void *opaque, const char *name)
{
	if (b->nr >= BUS_MAX_REGIONS || size == 0 || base > UINT64_MAX - (size - 1))
		return -EINVAL;
	for (int i = 0; i < b->nr; i++) {
		const struct mmio_region *r = &b->region[i];
		if (base < r->base + r->size && r->base < base + size) {
			warn("%s: MMIO window %#llx+%#llx overlaps %s", name,
			     (unsigned long long)base, (unsigned long long)size, r->name);
			return -EBUSY;
		}
	}
	b->region[b->nr++] = (struct mmio_region){ base, size, ops, opaque, name };
	return 0;
}

const struct mmio_region *bus_find(const struct bus *b, uint64_t addr, unsigned len)
{
	for (int i = 0; i < b->nr; i++) {
		const struct mmio_region *r = &b->region[i];
		if (addr >= r->base && addr - r->base < r->size && len <= r->size - (addr - r->base))
			return r;
	}
	return NULL;
}

int vm_add_mmio(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		void *opaque, const char *name)
{
	return bus_add(&vm->mmio, base, size, ops, opaque, name);
}

int vm_add_pio(struct vm *vm, uint16_t port, uint16_t size, const struct mmio_ops *ops,
	       void *opaque, const char *name)
{
	return bus_add(&vm->pio, port, size, ops, opaque, name);
}

int vm_alloc_mmio(struct vm *vm, uint64_t size, uint64_t *base)
{
	uint64_t b = (vm->mmio_alloc_next + size - 1) & ~(size - 1);

	if (size == 0 || b < vm->mmio_alloc_next || b + size > vm->mmio_alloc_end)
		return -ENOSPC;
	vm->mmio_alloc_next = b + size;
	*base = b;
	return 0;
}

int vm_alloc_irq(struct vm *vm)
{
	if (!vm->irq_alloc_first)
		vm->irq_alloc_first = vm->irq_alloc_next;
	if (vm->irq_alloc_next >= vm->irq_alloc_end)
		return -ENOSPC;
	return vm->irq_alloc_next++;
}

struct irq_line vm_irq_line(struct vm *vm, unsigned irq)
{
	return (struct irq_line){ vm->set_irq, vm->irq_ctx, irq };
}

int vm_describe(struct vm *vm, const struct dev_desc *d)
{
	if (vm->nr_desc >= VM_MAX_DESC)
		return -ENOSPC;
	vm->desc[vm->nr_desc++] = *d;
	return 0;
}

#define MAX_MODELS 64
static const struct device_ops *models[MAX_MODELS];
static int nr_models;

void device_model_register(const struct device_ops *m)
{
	if (nr_models < MAX_MODELS)
		models[nr_models++] = m;
}

const struct device_ops *device_model_find(const char *name)
{
	for (int i = 0; i < nr_models; i++)
		if (!strcmp(models[i]->name, name))
			return models[i];
	return NULL;
}

#define MAX_ENGINES 8
static const struct engine_ops *engines[MAX_ENGINES];
static int nr_engines;
static const struct board_ops *boards[MAX_ENGINES];
static int nr_boards;

void engine_register(const struct engine_ops *e)
{
	if (nr_engines < MAX_ENGINES)
		engines[nr_engines++] = e;
}

const struct engine_ops *engine_find(const char *name)
{
	for (int i = 0; i < nr_engines; i++)
		if (!strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}

void board_register(const struct board_ops *b)
{
	if (nr_boards < MAX_ENGINES)
		boards[nr_boards++] = b;
}

const struct board_ops *board_find(int arch)
{
	for (int i = 0; i < nr_boards; i++)
		if (boards[i]->arch == arch)
			return boards[i];
	return NULL;
}

int vm_create_device(struct vm *vm, const char *model, const struct dev_params *p)
{
	const struct device_ops *m = device_model_find(model);
	struct dev_params params;
	struct device *d;
	int n = 0, err;

	if (!m) {
		warn("no device model named %s in this build", model);
		return -ENOENT;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (!vm->devices_tail)
		vm->devices_tail = &vm->devices;
	for (struct device *o = vm->devices; o; o = o->next)
		n += o->ops == m;
	d->ops = m;
	snprintf(d->id, sizeof(d->id), "%s%d", m->name, n);
	params = *p;
	params.index = n;
	if ((err = m->create(vm, &params, &d->state))) {
		free(d);
		return err;
	}
	*vm->devices_tail = d;
	vm->devices_tail = &d->next;
	return 0;
}

struct device *vm_find_device(struct vm *vm, const char *id)
{
	for (struct device *d = vm->devices; d; d = d->next)
		if (!strcmp(d->id, id))
			return d;
	return NULL;
}

int vm_add_doorbell(struct vm *vm, const struct vm_doorbell *db)
{
	if (vm->nr_doorbells >= VM_MAX_DOORBELLS)
		return -ENOSPC;
	vm->doorbell[vm->nr_doorbells++] = *db;
	return 0;
}

/* The user's disks and network cards (--disk, --net) on every board, and
 * with the virtio device family (--devices virtio, the para preset) the
 * guest console on virtio-console (hvc0) and a virtio-rng. */
int vm_create_user_devices(struct vm *vm)
{
	const struct vm_config *c = vm->cfg;
	int err;

	if (c->devices == DEVICES_VIRTIO) {
		struct dev_params p = { .irq = -1 };
		if ((err = vm_create_device(vm, "virtio-console", &p)) ||
		    (err = vm_create_device(vm, "virtio-rng", &p)))
			return err;
	}
	for (int i = 0; i < c->nr_disks; i++) {
		struct dev_params p = { .irq = -1, .arg = c->disks[i] };
		if ((err = vm_create_device(vm, "virtio-blk", &p)))
			return err;
	}
	for (int i = 0; i < c->nr_nets; i++) {
		struct dev_params p = { .irq = -1, .arg = c->nets[i] };
		if ((err = vm_create_device(vm, "virtio-net", &p)))
			return err;
	}
	return 0;
}

int vm_load_blob(struct vm *vm, const char *what, const char *path, uint64_t gpa,
		 const void *data, uint64_t len)
{
	struct vm_blob *b;

	if (!gmem_ptr(&vm->mem, gpa, len ? len : 1)) {
		warn("%s %s: does not fit in guest RAM (%llu bytes at %#llx; --memory is %llu MiB)",
		     what, path ? path : "", (unsigned long long)len, (unsigned long long)gpa,
		     (unsigned long long)(vm->cfg->memory >> 20));
		return -E2BIG;
	}
	b = calloc(1, sizeof(*b));
	if (!b || !(b->data = malloc(len ? len : 1))) {
		free(b);
		return -ENOMEM;
	}
	memcpy(b->data, data, len);
	b->gpa = gpa;
	b->len = len;
	b->next = vm->blobs;
	vm->blobs = b;
	gmem_write(&vm->mem, gpa, data, len);
	return 0;
}

/* ---- the controller --------------------------------------------------- */

enum { VM_REQ_PAUSE = 1, VM_REQ_RESUME, VM_REQ_RESET };

void vm_kick(struct vm *vm)
{
	if (vm->engine && vm->engine->kick)
		vm->engine->kick(vm);
	else if (vm->kick)
		vm->kick(vm);
}

static void wake_controller(struct vm *vm)
{
	pthread_mutex_lock(&vm->ctl_lock);
	pthread_cond_broadcast(&vm->ctl_cond);
	pthread_mutex_unlock(&vm->ctl_lock);
}

void vm_request_exit(struct vm *vm, enum vm_exit why, int code)
{
	int expected = VM_RUNNING;

	if (atomic_compare_exchange_strong(&vm->exit_reason, &expected, (int)why))
		atomic_store(&vm->exit_code, code);
	vm_kick(vm);
	if (vm->engine)
		wake_controller(vm);
}

static void emit(struct vm *vm, const char *name, const char *data)
{
	if (vm->event)
		vm->event(vm->event_opaque, name, data);
}

static void devices_call(struct vm *vm, size_t which)
{
	for (struct device *d = vm->devices; d; d = d->next) {
		void (*fn)(void *) = *(void (**)(void *))((const char *)d->ops + which);
		if (fn)
			fn(d->state);
	}
}
#define DEVICES_CALL(vm, op) devices_call(vm, offsetof(struct device_ops, op))

/* Park the vCPUs, then quiesce the devices. */
static void machine_pause(struct vm *vm)
{
	atomic_store(&vm->pause_req, 1);
	vm->engine->pause(vm);
	DEVICES_CALL(vm, pause);
}

static void machine_resume(struct vm *vm)
{
	DEVICES_CALL(vm, resume);
	atomic_store(&vm->pause_req, 0);
	vm->engine->resume(vm);
}

/* Everything back to power-on, with the images loaded again (QEMU's
 * qemu_system_reset: devices, vCPUs, ROM blobs, then the board). Paused. */
static int machine_reset(struct vm *vm)
{
	DEVICES_CALL(vm, reset);
	vm->engine->reset(vm);
	for (struct vm_blob *b = vm->blobs; b; b = b->next) {
		gmem_write(&vm->mem, b->gpa, b->data, b->len);
		if (vm->engine->invalidate_code)
			vm->engine->invalidate_code(vm, b->gpa, b->len);
	}
	return vm->board->reset ? vm->board->reset(vm) : 0;
}

static void set_state(struct vm *vm, enum vm_run_state st)
{
	atomic_store(&vm->run_state, (int)st);
}

static int do_reset(struct vm *vm, bool guest)
{
	bool was_running = atomic_load(&vm->run_state) == VM_STATE_RUNNING;
	int err;

	machine_pause(vm);
	err = machine_reset(vm);
	vm->resets++;
	atomic_store(&vm->exit_code, 0);
	atomic_store(&vm->exit_reason, VM_RUNNING);
	emit(vm, "RESET", guest ? "{\"guest\": true, \"reason\": \"guest-reset\"}"
				: "{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}");
	if (err) {
		warn("system reset failed: %s", strerror(-err));
		vm_request_exit(vm, VM_FAIL, 1);
		return err;
	}
	/* A guest reboot always comes back running (as on QEMU); a reset asked
	 * for while paused stays paused. */
	if (was_running || guest)
		machine_resume(vm);
	if (!was_running && guest) {
		set_state(vm, VM_STATE_RUNNING);
		emit(vm, "RESUME", NULL);
	}
	return 0;
}

static int handle_request(struct vm *vm, int req)
{
	enum vm_run_state st = atomic_load(&vm->run_state);

	switch (req) {
	case VM_REQ_PAUSE:
		if (st == VM_STATE_RUNNING) {
			machine_pause(vm);
			set_state(vm, VM_STATE_PAUSED);
			emit(vm, "STOP", NULL);
		}
		return 0;
	case VM_REQ_RESUME:
		if (st == VM_STATE_PAUSED) {
			machine_resume(vm);
			set_state(vm, VM_STATE_RUNNING);
			emit(vm, "RESUME", NULL);
		}
		return 0;
	case VM_REQ_RESET:
		return do_reset(vm, false);
	}
	return -EINVAL;
}

static const char *shutdown_reason(struct vm *vm, int why)
{
	switch (why) {
	case VM_POWEROFF: return "{\"guest\": true, \"reason\": \"guest-shutdown\"}";
	case VM_REBOOT: return "{\"guest\": true, \"reason\": \"guest-reset\"}";
	case VM_QUIT: return "{\"guest\": false, \"reason\": \"host-qmp-quit\"}";
	default:
		(void)vm;
		return "{\"guest\": true, \"reason\": \"guest-panic\"}";
	}
}

/* The controller's loop (main thread): waits for the guest to end or for a
 * request from the QMP thread, and does what it asks with the vCPUs parked. */
static void controller(struct vm *vm)
{
	pthread_mutex_lock(&vm->ctl_lock);
	for (;;) {
		int why = atomic_load(&vm->exit_reason);

		if (why == VM_REBOOT && !vm->cfg->no_reboot) {
			pthread_mutex_unlock(&vm->ctl_lock);
			do_reset(vm, true);
			pthread_mutex_lock(&vm->ctl_lock);
			continue;
		}
		if (why != VM_RUNNING)
			break;
		if (vm->ctl_req) {
			int req = vm->ctl_req, err;
			pthread_mutex_unlock(&vm->ctl_lock);
			err = handle_request(vm, req);
			pthread_mutex_lock(&vm->ctl_lock);
			vm->ctl_result = err;
			vm->ctl_req = 0;
			pthread_cond_broadcast(&vm->ctl_cond);
			continue;
		}
		pthread_cond_wait(&vm->ctl_cond, &vm->ctl_lock);
	}
	pthread_mutex_unlock(&vm->ctl_lock);
}

/* From the QMP thread: one request at a time, answered by the controller. */
static int control(struct vm *vm, int req)
{
	int err;

	pthread_mutex_lock(&vm->ctl_call_lock);
	pthread_mutex_lock(&vm->ctl_lock);
	if (atomic_load(&vm->run_state) == VM_STATE_SHUTDOWN || vm_should_stop(vm)) {
		err = -EBUSY;
	} else {
		vm->ctl_req = req;
		pthread_cond_broadcast(&vm->ctl_cond);
		while (vm->ctl_req && atomic_load(&vm->run_state) != VM_STATE_SHUTDOWN)
			pthread_cond_wait(&vm->ctl_cond, &vm->ctl_lock);
		err = vm->ctl_req ? -EBUSY : vm->ctl_result;
		vm->ctl_req = 0;
	}
	pthread_mutex_unlock(&vm->ctl_lock);
	pthread_mutex_unlock(&vm->ctl_call_lock);
	return err;
}

int vm_pause(struct vm *vm) { return control(vm, VM_REQ_PAUSE); }
int vm_resume(struct vm *vm) { return control(vm, VM_REQ_RESUME); }
int vm_system_reset(struct vm *vm) { return control(vm, VM_REQ_RESET); }

void vm_quit(struct vm *vm)
{
	vm_request_exit(vm, VM_QUIT, 0);
}

enum vm_run_state vm_get_run_state(struct vm *vm)
{
	return (enum vm_run_state)atomic_load(&vm->run_state);
}

const char *vm_run_state_name(enum vm_run_state st)
{
	switch (st) {
	case VM_STATE_PRELAUNCH: return "prelaunch";
	case VM_STATE_RUNNING: return "running";
	case VM_STATE_PAUSED: return "paused";
	case VM_STATE_SHUTDOWN: return "shutdown";
	}
	return "internal-error";
}

int vm_nr_vcpus(struct vm *vm)
{
	return vm->cfg->cpus;
}

int vm_vcpu_thread_id(struct vm *vm, int cpu)
{
	if (!vm->engine || !vm->engine->vcpu_thread_id || cpu < 0 || cpu >= vm_nr_vcpus(vm))
		return 0;
	return vm->engine->vcpu_thread_id(vm, cpu);
}

const char *vm_arch_name(struct vm *vm)
{
	return vm->engine && vm->engine->arch == VCPU_ARCH_X86_64 ? "x86_64" : "riscv64";
}

void vm_collect_stats(struct vm *vm, void (*begin)(void *ctx, const char *target, const char *path),
		      const struct stats_sink *sink)
{
	char path[64];

	begin(sink->ctx, "vm", "/machine");
	stats_put(sink, "resets", vm->resets);
	for (int i = 0; i < vm_nr_vcpus(vm); i++) {
		snprintf(path, sizeof(path), "/machine/cpu/%d", i);
		begin(sink->ctx, "vcpu", path);
		if (vm->engine && vm->engine->vcpu_stats)
			vm->engine->vcpu_stats(vm, i, sink);
	}
	for (struct device *d = vm->devices; d; d = d->next) {
		snprintf(path, sizeof(path), "/machine/device/%s", d->id);
		begin(sink->ctx, "device", path);
		if (d->ops->stats)
			d->ops->stats(d->state, sink);
	}
}

static void vm_teardown(struct vm *vm)
{
	struct device *d = vm->devices;

	if (vm->engine && vm->engine_state)
		vm->engine->destroy(vm);
	loop_stop(vm->loop);
	qmp_stop(vm);
	while (d) {
		struct device *next = d->next;
		if (d->ops->destroy)
			d->ops->destroy(d->state);
		free(d);
		d = next;
	}
	vm->devices = NULL;
	vm->devices_tail = &vm->devices;
	if (vm->board && vm->board->destroy)
		vm->board->destroy(vm);
	while (vm->blobs) {
		struct vm_blob *next = vm->blobs->next;
		free(vm->blobs->data);
		free(vm->blobs);
		vm->blobs = next;
	}
	console_destroy(vm->console);
	vm->console = NULL;
	term_restore();
	gmem_free(&vm->mem);
}

int vm_run(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	pthread_condattr_t ca;
	int status, why, err;

	pthread_mutex_init(&vm->ctl_lock, NULL);
	pthread_mutex_init(&vm->ctl_call_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->ctl_cond, &ca);
	if (!vm->devices_tail)
		vm->devices_tail = &vm->devices;
	set_state(vm, VM_STATE_PRELAUNCH);

	vm->engine = engine_find(cfg->engine);
	if (!vm->engine)
		die("--cpu %s: no such CPU engine in this build", cfg->engine);
	vm->board = board_find(vm->engine->arch);
	if (!vm->board)
		die("--cpu %s: no board for its architecture in this build", cfg->engine);
	if ((err = vm->board->create(vm)))
		die("%s: cannot build the machine: %s", vm->board->name, strerror(-err));
	if (vm_create_user_devices(vm))
		exit(EXIT_USAGE);  /* the device said why */
	if (vm->board->load(vm))
		exit(EXIT_USAGE);  /* the loader said why */
	if (vm->board->reset && (err = vm->board->reset(vm)))
		die("%s: cannot set the boot state: %s", vm->board->name, strerror(-err));
	if (cfg->qmp && qmp_start(vm, cfg->qmp))
		exit(EXIT_USAGE);  /* qmp_start said why */
	if (loop_start(vm->loop))
		die("cannot start the I/O thread");
	set_state(vm, VM_STATE_RUNNING);
	if ((err = vm->engine->start(vm)))
		die("cannot start the vCPUs: %s", strerror(-err));

	controller(vm);

	why = atomic_load(&vm->exit_reason);
	vm->engine->pause(vm);
	pthread_mutex_lock(&vm->ctl_lock);
	set_state(vm, VM_STATE_SHUTDOWN);
	pthread_cond_broadcast(&vm->ctl_cond);
	pthread_mutex_unlock(&vm->ctl_lock);
	emit(vm, "SHUTDOWN", shutdown_reason(vm, why));
	switch (why) {
	case VM_FAIL:
		status = atomic_load(&vm->exit_code);
		if (status == 0)
			status = 1;
		break;
	case VM_REBOOT:
		warn("guest requested a reboot; stopping (--no-reboot)");
		status = 0;
		break;
	default:
		status = 0;
	}
	vm_teardown(vm);
	return status;
}
