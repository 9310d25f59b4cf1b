/* Live migration between hosts (the stream is described at the top of
 * migration.c): QMP migrate / query-migrate / migrate_cancel /
 * migrate-set-parameters on the source, `trevo run --incoming URI` on the
 * destination. */
#ifndef TREVO_MIGRATION_H
#define TREVO_MIGRATION_H

#include "../common.h"

#include <stddef.h>

struct vm;
struct vm_config;
struct json_writer;

/* ---- source ------------------------------------------------------------ */

/* At set-up, before the sandbox (the thread gets its own allowlist): the
 * migration thread, idle until migration_start. 0 or -errno. Does nothing
 * for an engine that cannot log dirty pages. */
int migration_setup(struct vm *vm);
void migration_teardown(struct vm *vm);
/* QMP migrate uri=tcp:HOST:PORT|unix:PATH: returns at once; the outcome
 * is in query-migrate. 0, or -errno with a reason in why. */
int migration_start(struct vm *vm, const char *uri, char *why, size_t why_len);
/* QMP migrate_cancel: the source goes on running. */
void migration_cancel(struct vm *vm);
/* QMP query-migrate's return value (MigrationInfo). */
void migration_info(struct vm *vm, struct json_writer *w);
/* QMP migrate-set-parameters; a negative value leaves it as it is. */
int migration_set_parameters(struct vm *vm, int64_t downtime_limit_ms, int64_t max_bandwidth,
			     char *why, size_t why_len);
void migration_parameters(struct vm *vm, struct json_writer *w);

/* ---- destination -------------------------------------------------------- */

struct incoming;
/* --incoming URI: listen, take one connection, read and check the
 * stream's header; the configuration replaces *cfg except the host-side
 * choices. Then vm->restore = migration_incoming_restore with *out. 0, or
 * -errno after printing one line. */
int migration_incoming_open(const char *uri, struct vm_config *cfg, struct incoming **out);
/* The vm->restore hook: the RAM pages, vCPU, board and device state up to
 * the stream's end, checked as they come. */
int migration_incoming_restore(struct vm *vm, void *incoming);
/* The vm->restored_running hook: tells the source, closes the stream. */
void migration_incoming_running(struct vm *vm, void *incoming);

/* "tcp:HOST:PORT" or "unix:PATH" (exported for the tests). 0 or -EINVAL. */
struct sockaddr_storage;
int migration_parse_uri(const char *uri, struct sockaddr_storage *ss, unsigned *len);

#endif
