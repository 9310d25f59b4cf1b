#ifndef TREVO_CLI_H
#define TREVO_CLI_H

#include <stdio.h>

#include "vm.h"

/* Parse `trevo run` options into cfg (defaults filled in). Prints one line
 * and exits 2 on a bad option. */
void cli_parse_run(int argc, char **argv, struct vm_config *cfg);
void cli_usage(FILE *f);

#endif
