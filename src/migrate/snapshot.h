/* Snapshots of a whole VM in one file (the format is described at the top
 * of snapshot.c): QMP snapshot-save writes one, `trevo run --restore F`
 * starts the machine from one. */
#ifndef TREVO_SNAPSHOT_H
#define TREVO_SNAPSHOT_H

#include "../common.h"

#include <stddef.h>

struct vm;
struct vm_config;
struct snapshot;

/* Write the state of vm to path (atomically: a temporary file beside it,
 * fsynced, renamed, the directory fsynced). raw: guest RAM as a page-aligned
 * sparse region that restore maps copy-on-write; otherwise zstd. Call with
 * the machine standing still (vm_call_paused). 0, or -errno with a reason in
 * why. */
int snapshot_save(struct vm *vm, const char *path, bool raw, char *why, size_t why_len);

/* Open path and read its header: the machine configuration replaces *cfg,
 * except the host-side choices (console, QMP socket), which are kept. The
 * file is checked (magic, format version, architecture, header checksum,
 * every section's bounds) before anything is built. 0, or -errno after
 * printing one line. */
int snapshot_open(const char *path, struct vm_config *cfg, struct snapshot **out);

/* The vm->restore hook: after the board, the user's devices and the
 * images exist, put RAM, every vCPU, the board and every device back as the
 * snapshot has them; disks are checked against their recorded identity.
 * 0, or -errno after printing one line. Closes nothing: snapshot_close. */
int snapshot_restore(struct vm *vm, void *snapshot);
void snapshot_close(struct snapshot *s);

/* The most vCPUs a snapshot or a migration stream describes: the RISC-V
 * machine's (MAX_HARTS), which is more than KVM's (X86_MAX_CPUS). */
#define SNAPSHOT_MAX_CPUS 32

struct vmstate;
/* The machine configuration as in a snapshot's header, for the migration
 * stream (migration.c): save into a fresh vmstate (vms_free it), load into
 * *cfg keeping the host-side choices, the strings owned by *owner
 * (snapshot_close). Disks must exist with the recorded size. 0, or -errno
 * with a reason in why. */
int snapshot_config_save(struct vm *vm, struct vmstate *s, char *why, size_t why_len);
int snapshot_config_load(const void *buf, size_t len, struct vm_config *cfg,
			 struct snapshot **owner, char *why, size_t why_len);

#endif
