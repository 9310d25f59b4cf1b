/* Counters reported through QMP query-stats: each vCPU and each device
 * names its own counters to a sink, which the QMP server turns into JSON.
 * Counters only grow, across system resets too (but for a vCPU's
 * "instructions", its architectural minstret); reads race with updates and
 * are fine that way. */
#ifndef TREVO_STATS_H
#define TREVO_STATS_H

#include "common.h"

struct stats_sink {
	void (*put)(void *ctx, const char *name, uint64_t value);
	void *ctx;
};

static inline void stats_put(const struct stats_sink *s, const char *name, uint64_t value)
{
	s->put(s->ctx, name, value);
}

#endif
