/* --jail: the monitor in a jail, as Firecracker's jailer puts it there
 * (src/host/jail.c). */
#ifndef TREVO_HOST_JAIL_H
#define TREVO_HOST_JAIL_H

#include <stdbool.h>
#include <sys/types.h>

struct vm_config;

struct jail_spec {
	const char *dir;       /* --jail DIR: the new root (an existing directory) */
	bool netns;            /* --jail DIR,netns: a network namespace of its own */
	uid_t uid;             /* --uid / --gid: the ids the monitor runs as */
	gid_t gid;
	bool have_uid, have_gid;
};

/* Main thread, before any other thread exists (unshare(CLONE_NEWNS) fails
 * in a multi-threaded process) and after the configuration is final: make
 * every file the VM needs absolute, enter new mount, PID and IPC (and
 * network) namespaces, fork (the parent waits and exits with the monitor's
 * status), bind the files into DIR, pivot_root into it, and drop to the
 * given ids with no capabilities, no_new_privs and rlimits. Returns in the
 * jailed child; dies with one line on any failure. */
void jail_enter(const struct jail_spec *j, struct vm_config *cfg);

#endif
