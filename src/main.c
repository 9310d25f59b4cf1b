/* trevo: one program, three kinds of virtualization (PRODUCT.md). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"
#include "host/qmp.h"
#include "host/console.h"
#include "host/loop.h"
#include "migrate/migration.h"
#include "migrate/snapshot.h"
#include "host/jail.h"
#include "host/seccomp.h"
#include "vm.h"

/* Helper scripts (guest recipes, benchmarks) live beside the binary's
 * source tree: build/trevo -> ../guest, ../bench. */
static int run_script(const char *argv0, const char *rel, int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char **args;

	if (n < 0)
		die_host("cannot find my own path");
	self[n] = '\0';
	(void)argv0;
	snprintf(path, sizeof(path), "%s/../%s", dirname(self), rel);
	if (access(path, X_OK))
		die("%s not found next to the trevo binary", rel);
	args = calloc(argc + 2, sizeof(*args));
	args[0] = path;
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	execv(path, args);
	die("cannot run %s: %s", path, strerror(errno));
}

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	static struct vm vm; /* static: what hangs off it stays reachable at exit */
	static struct snapshot *snap;
	static struct incoming *incoming;

	cli_parse_run(argc, argv, &cfg);
	seccomp_setup(!cfg.no_sandbox);
	memset(&vm, 0, sizeof(vm));
	const char *tap_names[VM_MAX_NETS];
	int nr_tap_names = cfg.nr_tap_names;

	memcpy(tap_names, cfg.tap_names, sizeof(tap_names));
	if (cfg.restore) {
		if (snapshot_open(cfg.restore, &cfg, &snap) ||
		    cli_apply_host_choices(&cfg, tap_names, nr_tap_names))
			return EXIT_USAGE;  /* snapshot_open said why */
		vm.restore = snapshot_restore;
		vm.restore_ctx = snap;
	}
	if (cfg.incoming) {
		if (migration_incoming_open(cfg.incoming, &cfg, &incoming) ||
		    cli_apply_host_choices(&cfg, tap_names, nr_tap_names))
			return EXIT_USAGE;  /* it said why */
		vm.restore = migration_incoming_restore;
		vm.restore_ctx = incoming;
		vm.restored_running = migration_incoming_running;
	}
	/* Still one thread: the jail's namespaces need that. */
	if (cfg.jail) {
		static char dir[4096];
		struct jail_spec j = { .dir = dir, .uid = (uid_t)cfg.jail_uid, .gid = (gid_t)cfg.jail_gid,
				       .have_uid = cfg.jail_uid >= 0, .have_gid = cfg.jail_gid >= 0 };
		snprintf(dir, sizeof(dir), "%s", cfg.jail);
		if (strlen(dir) > 6 && !strcmp(dir + strlen(dir) - 6, ",netns")) {
			dir[strlen(dir) - 6] = 0;
			j.netns = true;
		}
		jail_enter(&j, &cfg);
	}
	vm.cfg = &cfg;
	/* The host side every machine needs: the I/O event loop (each machine
	 * starts it once its devices are in) and the console. */
	vm.loop = loop_create();
	if (!vm.loop)
		die_host("cannot create the I/O event loop");
	vm.console = console_create(&vm, cfg.console);
	if (!vm.console)
		return EXIT_USAGE; /* console_create said why */
	return vm_run(&vm);
}

/* A closed stdin/stdout/stderr (as under some CI runners) would let the
 * next open() take fd 0-2 and turn an image file into console input. */
static void keep_std_fds_open(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	}
}

int main(int argc, char **argv)
{
	keep_std_fds_open();
	if (argc < 2)
		return cmd_run(argc, argv);
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		cli_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "guest")) {
		if (argc < 3 || strcmp(argv[2], "build"))
			die("usage: trevo guest build [riscv|x86]");
		return run_script(argv[0], "guest/build.sh", argc - 3, argv + 3);
	}
	if (!strcmp(argv[1], "qmp"))
		return qmp_client_main(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench"))
		return run_script(argv[0], "bench/run.sh", argc - 2, argv + 2);
	if (argv[1][0] == '-')
		return cmd_run(argc, argv);
	fprintf(stderr, "trevo: unknown command '%s'\n", argv[1]);
	cli_usage(stderr);
	return EXIT_USAGE;
}
