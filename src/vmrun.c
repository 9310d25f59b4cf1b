/* The controller: vm_run builds the machine from its board, engine and
 * devices, runs it, and serves the state machine (running <-> paused, reset,
 * shutdown) on the main thread, for the guest (reboot, poweroff) and for the
 * QMP thread (the control calls of vm.h). Everything it does to the machine
 * it does with the vCPUs parked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "host/console.h"
#include "host/loop.h"
#include "host/qmp.h"
#include "host/seccomp.h"
#include "migrate/migration.h"
#include "stats.h"
#include "vm.h"

enum { VM_REQ_PAUSE = 1, VM_REQ_RESUME, VM_REQ_RESET, VM_REQ_CALL };

static void emit(struct vm *vm, const char *name, const char *data)
{
	if (vm->event)
		vm->event(vm->event_opaque, name, data);
}

/* Every device's op (pause, resume, reset), in creation order. */
#define DEVICES_CALL(vm, op)                                              \
	do {                                                              \
		for (struct device *d_ = (vm)->devices; d_; d_ = d_->next) \
			if (d_->ops->op)                                  \
				d_->ops->op(d_->state);                   \
	} while (0)

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
	if (vm->images_pending) {
		/* A restored machine's first reset: its images, read now
		 * (vm_load_blob keeps them; the loop below writes them). */
		if (vm->board->load(vm))
			return -EINVAL;  /* the loader said why */
		vm->images_pending = false;
	}
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
	case VM_REQ_CALL: {
		/* The machine stands still for fn, without STOP/RESUME events:
		 * to the guest and to QMP clients it never stopped. */
		int err;
		if (st == VM_STATE_RUNNING)
			machine_pause(vm);
		err = vm->ctl_call(vm, vm->ctl_call_arg);
		if (st == VM_STATE_RUNNING && atomic_load(&vm->run_state) == VM_STATE_RUNNING)
			machine_resume(vm);
		return err;
	}
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
static int control_call(struct vm *vm, int req, int (*fn)(struct vm *, void *), void *arg)
{
	int err;

	pthread_mutex_lock(&vm->ctl_call_lock);
	pthread_mutex_lock(&vm->ctl_lock);
	vm->ctl_call = fn;
	vm->ctl_call_arg = arg;
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

static int control(struct vm *vm, int req)
{
	return control_call(vm, req, NULL, NULL);
}

int vm_pause(struct vm *vm) { return control(vm, VM_REQ_PAUSE); }

int vm_call_paused(struct vm *vm, int (*fn)(struct vm *vm, void *arg), void *arg)
{
	return control_call(vm, VM_REQ_CALL, fn, arg);
}
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

	migration_teardown(vm);
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

/* At start-up, -EINVAL means bad input (whoever refused it said why);
 * anything else is the host failing us. */
static void fail_start(struct vm *vm, const char *what, int err)
{
	if (err == -EINVAL)
		exit(EXIT_USAGE);
	die_host("%s: %s: %s", vm->board->name, what, strerror(-err));
}

int vm_run(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	pthread_condattr_t ca;
	uint64_t t0, t1, t2;
	int status, why, err;

	pthread_mutex_init(&vm->ctl_lock, NULL);
	pthread_mutex_init(&vm->ctl_call_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->ctl_cond, &ca);
	set_state(vm, VM_STATE_PRELAUNCH);

	vm->engine = engine_find(cfg->engine);
	if (!vm->engine)
		die("--cpu %s: no such CPU engine in this build", cfg->engine);
	vm->board = board_find(vm->engine->arch);
	if (!vm->board)
		die("--cpu %s: no board for its architecture in this build", cfg->engine);
	t0 = host_ns();
	if ((err = vm->board->create(vm)))
		fail_start(vm, "cannot build the machine", err);
	t1 = host_ns();
	if (vm_create_user_devices(vm))
		exit(EXIT_USAGE);  /* the device said why */
	t2 = host_ns();
	/* A restore replaces all of RAM, so the images only matter at a
	 * system reset: reading them can wait for it where the board says
	 * nothing else hangs on them (restore time; Firecracker restores
	 * without the kernel at hand at all). */
	if (vm->restore && vm->board->load_can_wait && vm->board->load_can_wait(vm))
		vm->images_pending = true;
	else if (vm->board->load(vm))
		exit(EXIT_USAGE);  /* the loader said why */
	debug("vm: board %.1f ms, devices %.1f ms, images %.1f ms", (double)(t1 - t0) / 1e6,
	      (double)(t2 - t1) / 1e6, (double)(host_ns() - t2) / 1e6);
	if (vm->restore) {
		if (vm->restore(vm, vm->restore_ctx))
			exit(EXIT_USAGE);  /* the restore said why */
	} else if (vm->board->reset && (err = vm->board->reset(vm))) {
		fail_start(vm, "cannot set the boot state", err);
	}
	if (cfg->qmp && qmp_start(vm, cfg->qmp))
		exit(EXIT_USAGE);  /* qmp_start said why */
	if (loop_start(vm->loop))
		die_host("cannot start the I/O thread");
	if ((err = migration_setup(vm)))
		die_host("cannot start the migration thread: %s", strerror(-err));
	set_state(vm, VM_STATE_RUNNING);
	if ((err = vm->engine->start(vm)))
		die_host("cannot start the vCPUs: %s", strerror(-err));
	if (vm->restored_running)
		vm->restored_running(vm, vm->restore_ctx);

	seccomp_enter(SECCOMP_MAIN);  /* set-up is over: every thread exists */
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
