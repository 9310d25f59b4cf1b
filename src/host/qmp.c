/* Placeholder until the QMP server lands (same commit series). */
#include "qmp.h"

#include "../common.h"

int qmp_start(struct vm *vm, const char *spec)
{
	(void)vm;
	warn("--qmp %s: the QMP server is not in this build", spec);
	return -ENOSYS;
}

void qmp_stop(struct vm *vm)
{
	(void)vm;
}

int qmp_client_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	warn("trevo qmp: not in this build");
	return EXIT_USAGE;
}
