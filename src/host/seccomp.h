/* The system-call sandbox (seccomp, STYLE.md lesson 11): every thread of
 * the monitor, once its own set-up is done, confines itself to the system
 * calls its kind of work needs. The lists are data, in seccomp.c. */
#ifndef TREVO_HOST_SECCOMP_H
#define TREVO_HOST_SECCOMP_H

#include <stdbool.h>

enum seccomp_thread {
	SECCOMP_MAIN,          /* the controller (vm_run), after set-up */
	SECCOMP_VCPU_INTERP,   /* the software CPU's hart thread */
	SECCOMP_VCPU_KVM,      /* one KVM vCPU thread */
	SECCOMP_KVM_WATCHER,   /* the KVM engine's halt watcher */
	SECCOMP_BLK_WORKER,    /* virtio-blk's I/O thread */
	SECCOMP_NET_WORKER,    /* virtio-net's I/O thread (tap or slirp) */
	SECCOMP_EVENT_LOOP,    /* the VM's event loop (src/host/loop.c) */
	SECCOMP_QMP,           /* the QMP server thread */
	SECCOMP_CONSOLE_READER,/* the console's reader for a regular-file stdin */
	SECCOMP_MIGRATION,     /* live migration's sender (src/migrate/migration.c) */
	SECCOMP_NR_THREADS,
};

/* Main thread, before any other thread exists: turn the sandbox on or
 * off for the whole process (off is the library default, so unit tests
 * that start device threads run unconfined). With it on, installs the
 * SIGSYS handler that names a refused call. */
void seccomp_setup(bool enabled);
bool seccomp_enabled(void);

/* The calling thread confines itself to its kind's list, for good. A
 * no-op with the sandbox off. A filter that cannot be installed ends the
 * process: running unconfined when confinement was asked for is worse. */
void seccomp_enter(enum seccomp_thread kind);

/* For tests and messages: "vCPU (interp)", ... */
const char *seccomp_thread_name(enum seccomp_thread kind);

#endif
