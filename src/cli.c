#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The software CPU of full and para mode: the translator emits x86-64
 * code, so other hosts interpret. */
#ifdef __x86_64__
#define SOFT_CPU_DEFAULT "jit"
#else
#define SOFT_CPU_DEFAULT "interp"
#endif

void cli_usage(FILE *f)
{
	fputs("usage: trevo run [--mode full|para|hw] [--kernel F] [--initrd F] [--append S]\n"
	      "                 [--firmware F] [--memory 512M] [--cpus N] [--disk F[,readonly]]\n"
	      "                 [--net user[,hostfwd=tcp::HP-:GP]|tap:NAME]\n"
	      "                 [--console stdio|pty|unix:PATH] [--qmp unix:PATH[,server]]\n"
	      "                 [--no-reboot] [--cpu interp|jit|kvm] [--cpu-trace] [--sbi firmware|monitor]\n"
	      "                 [--devices real|virtio] [--sandbox on|off]\n"
	      "                 [--jail DIR[,netns] --uid N --gid N]\n"
	      "       trevo run --restore FILE [--console ...] [--qmp ...] [--net tap:NAME] [--jail ...]\n"
	      "       trevo run --incoming tcp:HOST:PORT|unix:PATH [--console ...] [--qmp ...] [--jail ...]\n"
	      "       trevo qmp SOCKET COMMAND [key=value ...]\n"
	      "       trevo bench [--modes native,full,para,hw,qemu-tcg,qemu-kvm] [--workloads W,...]\n"
	      "                   [--repeat N] [--quick] [--json FILE] [--out DIR]\n"
	      "       trevo bench [cpu|boot|io|kvm ...]\n"
	      "       trevo guest build [riscv|x86]\n"
	      "--mode is a preset: full = --cpu jit --sbi firmware --devices real,\n"
	      "para = --cpu jit --sbi monitor --devices virtio, hw = --cpu kvm --devices real\n"
	      "(the software CPU is the translator, jit, on x86-64 hosts and the interpreter,\n"
	      "interp, elsewhere).\n",
	      f);
}

enum {
	OPT_MODE = 256, OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_FIRMWARE, OPT_MEMORY,
	OPT_CPUS, OPT_DISK, OPT_NET, OPT_CONSOLE,
	OPT_MAX_INSNS, OPT_HELP, OPT_CPU, OPT_CPU_TRACE, OPT_SBI, OPT_DEVICES, OPT_NO_REBOOT, OPT_QMP,
	OPT_RESTORE,
	OPT_SANDBOX, OPT_JAIL, OPT_UID, OPT_GID,
	OPT_INCOMING,
};

static const struct option run_options[] = {
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "firmware", required_argument, NULL, OPT_FIRMWARE },
	{ "bios", required_argument, NULL, OPT_FIRMWARE },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "max-insns", required_argument, NULL, OPT_MAX_INSNS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "cpu-trace", no_argument, NULL, OPT_CPU_TRACE },
	{ "sbi", required_argument, NULL, OPT_SBI },
	{ "devices", required_argument, NULL, OPT_DEVICES },
	{ "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
	{ "qmp", required_argument, NULL, OPT_QMP },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "sandbox", required_argument, NULL, OPT_SANDBOX },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ "jail", required_argument, NULL, OPT_JAIL },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ NULL, 0, NULL, 0 },
};

/* "tap:OLD[,opts]" -> "tap:NEW[,opts]", in storage that lives as long as
 * the process (the configuration points at it until exit). */
static char tap_specs[VM_MAX_NETS][160];

int cli_apply_host_choices(struct vm_config *cfg, const char *const *tap_names, int nr_tap_names)
{
	int k = 0;

	for (int i = 0; i < cfg->nr_nets && k < nr_tap_names; i++) {
		const char *spec = cfg->nets[i], *rest;
		if (strncmp(spec, "tap:", 4))
			continue;
		rest = spec + 4 + strcspn(spec + 4, ",");
		if (snprintf(tap_specs[k], sizeof(tap_specs[k]), "tap:%s%s", tap_names[k], rest) >=
		    (int)sizeof(tap_specs[k])) {
			warn("--net tap:%s: name too long", tap_names[k]);
			return -EINVAL;
		}
		cfg->nets[i] = tap_specs[k];
		k++;
	}
	if (k < nr_tap_names) {
		warn("--net tap:%s: the machine has only %d tap interface%s", tap_names[k], k,
		     k == 1 ? "" : "s");
		return -EINVAL;
	}
	return 0;
}

void cli_parse_run(int argc, char **argv, struct vm_config *cfg)
{
	int opt, sbi = -1, devices = -1, longidx = 0;
	const char *machine_opt = NULL;  /* the first option --restore excludes */
	long n;
	char *end;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = MODE_FULL;
	cfg->memory = 512 * MiB;
	cfg->cpus = 1;
	cfg->jail_uid = cfg->jail_gid = -1;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", run_options, &longidx)) != -1) {
		/* --net tap:NAME is a host-side choice too: beside --restore
		 * or --incoming it renames the machine's tap interfaces. */
		bool tap = opt == OPT_NET && !strncmp(optarg, "tap:", 4);
		if (!machine_opt && opt != OPT_CONSOLE && opt != OPT_QMP && opt != OPT_RESTORE && opt != OPT_SANDBOX &&
		    opt != OPT_INCOMING && !tap && opt != OPT_JAIL && opt != OPT_UID && opt != OPT_GID &&
		    opt != OPT_HELP && opt != '?')
			machine_opt = run_options[longidx].name;
		switch (opt) {
		case OPT_MODE:
			if (!strcmp(optarg, "full"))
				cfg->mode = MODE_FULL;
			else if (!strcmp(optarg, "para"))
				cfg->mode = MODE_PARA;
			else if (!strcmp(optarg, "hw"))
				cfg->mode = MODE_HW;
			else
				die("unknown mode '%s' (full, para or hw)", optarg);
			break;
		case OPT_KERNEL: cfg->kernel = optarg; break;
		case OPT_INITRD: cfg->initrd = optarg; break;
		case OPT_APPEND: cfg->append = optarg; break;
		case OPT_FIRMWARE: cfg->firmware = optarg; break;
		case OPT_MEMORY:
			if (parse_size(optarg, &cfg->memory))
				die("bad --memory '%s' (e.g. 512M, 2G)", optarg);
			/* Plain numbers are MiB, as in QEMU's -m. */
			if (strspn(optarg, "0123456789") == strlen(optarg))
				cfg->memory *= MiB;
			break;
		case OPT_CPUS:
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 32)
				die("bad --cpus '%s' (1 to 32)", optarg);
			cfg->cpus = (int)n;
			break;
		case OPT_DISK:
			if (cfg->nr_disks >= VM_MAX_DISKS)
				die("too many --disk options (at most %d)", VM_MAX_DISKS);
			cfg->disks[cfg->nr_disks++] = optarg;
			break;
		case OPT_NET:
			if (cfg->nr_nets >= VM_MAX_NETS)
				die("too many --net options (at most %d)", VM_MAX_NETS);
			cfg->nets[cfg->nr_nets++] = optarg;
			break;
		case OPT_CONSOLE: cfg->console = optarg; break;
		case OPT_MAX_INSNS:
			if (parse_size(optarg, &cfg->max_insns))
				die("bad --max-insns '%s'", optarg);
			break;
		case OPT_HELP:
			cli_usage(stdout);
			exit(0);
		case OPT_CPU:
			if (strcmp(optarg, "interp") && strcmp(optarg, "jit") && strcmp(optarg, "kvm"))
				die("unknown --cpu '%s' (interp, jit or kvm)", optarg);
			cfg->engine = optarg;
			break;
		case OPT_CPU_TRACE: cfg->cpu_trace = true; break;
		case OPT_SBI:
			if (!strcmp(optarg, "firmware"))
				sbi = SBI_FIRMWARE;
			else if (!strcmp(optarg, "monitor"))
				sbi = SBI_MONITOR;
			else
				die("unknown --sbi '%s' (firmware or monitor)", optarg);
			break;
		case OPT_DEVICES:
			if (!strcmp(optarg, "real"))
				devices = DEVICES_REAL;
			else if (!strcmp(optarg, "virtio"))
				devices = DEVICES_VIRTIO;
			else
				die("unknown --devices '%s' (real or virtio)", optarg);
			break;
		case OPT_NO_REBOOT:
			cfg->no_reboot = true;
			break;
		case OPT_QMP:
			if (strncmp(optarg, "unix:", 5) || !optarg[5] || optarg[5] == ',')
				die("bad --qmp '%s' (unix:PATH[,server])", optarg);
			cfg->qmp = optarg;
			break;
		case OPT_RESTORE:
			cfg->restore = optarg;
			break;
		case OPT_INCOMING:
			if (strncmp(optarg, "tcp:", 4) && strncmp(optarg, "unix:", 5))
				die("bad --incoming '%s' (tcp:HOST:PORT or unix:PATH)", optarg);
			cfg->incoming = optarg;
			break;
		case OPT_SANDBOX:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				die("unknown --sandbox '%s' (on or off)", optarg);
			cfg->no_sandbox = !strcmp(optarg, "off");
			break;
		case OPT_JAIL:
			if (!*optarg || *optarg == ',')
				die("bad --jail '%s' (DIR[,netns])", optarg);
			cfg->jail = optarg;
			break;
		case OPT_UID:
		case OPT_GID:
			n = strtol(optarg, &end, 10);
			if (*end || end == optarg || n < 0 || n > 0x7fffffff)
				die("bad --%s '%s' (a number)", opt == OPT_UID ? "uid" : "gid", optarg);
			*(opt == OPT_UID ? &cfg->jail_uid : &cfg->jail_gid) = n;
			break;
		case '?':
		default:
			if (optopt)
				die("option '%s' needs a value or is unknown (see trevo --help)",
				    argv[optind - 1]);
			die("unknown option '%s' (see trevo --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see trevo --help)", argv[optind]);
	/* The machine comes from the snapshot; only host-side choices may be
	 * made beside it. */
	if (cfg->restore && cfg->incoming)
		die("--restore and --incoming: the machine comes from one or the other");
	if (cfg->incoming && machine_opt)
		die("--incoming: the machine comes from the migration stream; only --console, --qmp, "
		    "--net tap:NAME, --sandbox and --jail/--uid/--gid may be given beside it, not --%s", machine_opt);
	if (cfg->restore && machine_opt)
		die("--restore: the machine comes from the snapshot; only --console, --qmp, "
		    "--net tap:NAME, --sandbox and --jail/--uid/--gid may be given beside it, not --%s", machine_opt);
	if (cfg->restore || cfg->incoming) {
		/* Kept aside until the machine's own configuration is known
		 * (cli_apply_host_choices). */
		for (int i = 0; i < cfg->nr_nets; i++)
			cfg->tap_names[i] = cfg->nets[i] + 4;
		cfg->nr_tap_names = cfg->nr_nets;
		cfg->nr_nets = 0;
	}
	/* The preset fills what was not chosen one by one. */
	if (!cfg->engine)
		cfg->engine = cfg->mode == MODE_HW ? "kvm" : SOFT_CPU_DEFAULT;
	cfg->sbi = sbi >= 0 ? sbi : cfg->mode == MODE_PARA ? SBI_MONITOR : SBI_FIRMWARE;
	cfg->devices = devices >= 0 ? devices : cfg->mode == MODE_PARA ? DEVICES_VIRTIO : DEVICES_REAL;
	if (!cfg->jail && (cfg->jail_uid >= 0 || cfg->jail_gid >= 0))
		die("--uid and --gid go with --jail DIR");
	if (!strcmp(cfg->engine, "kvm") && sbi >= 0)
		die("--sbi: only the RISC-V software CPU has an SBI (--cpu interp or jit)");
	if (cfg->memory < 16 * MiB || cfg->memory > 64 * GiB)
		die("impossible --memory size %llu bytes (16M to 64G)",
		    (unsigned long long)cfg->memory);
}
