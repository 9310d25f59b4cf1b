#ifndef TREVO_CLI_H
#define TREVO_CLI_H

#include <stdio.h>

#include "vm.h"

/* Parse `trevo run` options into cfg (defaults filled in). Prints one line
 * and exits 2 on a bad option. */
/* --net tap:NAME beside --restore or --incoming: the k-th tap interface
 * of the machine's configuration becomes tap_names[k]. 0, or -EINVAL
 * after one line. */
int cli_apply_host_choices(struct vm_config *cfg, const char *const *tap_names, int nr_tap_names);
void cli_parse_run(int argc, char **argv, struct vm_config *cfg);
void cli_usage(FILE *f);

#endif
