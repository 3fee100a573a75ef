/* SPDX-License-Identifier: MIT */
/*
 * defer-inspect - libdefer's records without a debugger.
 *
 *   defer-inspect layout [--json] BINARY
 *   defer-inspect sites  [--json] BINARY
 *   defer-inspect dump   [--json] [--history] [--full] --core CORE BINARY
 *   defer-inspect dump   [--json] [--history] [--full] --pid PID
 *   defer-inspect -h | --help | --version
 *   budgets: --max-threads N --max-records N --max-panics N
 *            --max-output BYTES --max-time SECONDS
 *
 * Options may come anywhere, as --opt=VALUE or --opt VALUE; `--` ends them.
 * Exit status: 0, or one of the DR_E* classes in dreader.h (the table is
 * in docs/defer-inspect.md and defer-inspect(1)).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tool.h"

static const char usage[] =
	"usage: defer-inspect layout [--json] BINARY\n"
	"       defer-inspect sites [--json] BINARY\n"
	"       defer-inspect dump [--json] [--history] [--full] --core CORE BINARY\n"
	"       defer-inspect dump [--json] [--history] [--full] --pid PID\n"
	"       defer-inspect -h | --help | --version\n"
	"budgets: --max-threads N (65536) --max-records N (1048576) --max-panics N (65536)\n"
	"         --max-output BYTES (268435456) --max-time SECONDS (60)\n"
	"options go anywhere, as --opt=VALUE or --opt VALUE; -- ends them\n";

int fail(int code, const char *msg)
{
	char e[2048];

	/* Errors name paths and strings of the target. */
	fflush(stdout);
	fprintf(stderr, "defer-inspect: %s\n", esc(e, sizeof e, msg));
	return code;
}

static int bad(const char *why)
{
	fprintf(stderr, "defer-inspect: %s\n%s", why, usage);
	return DR_EUSAGE;
}

struct args { const char *cmd, *core, *pos; int json, pid, history, full; };

/* Under the sanitizers (the test build) a report must not look like one of
 * our exit codes to the parent below. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__asan_default_options(void) { return "exitcode=99"; }
const char *__ubsan_default_options(void) { return "exitcode=99"; }

static int run(const struct args *a)
{
	int r;

	output_begin();
	budgets.lim.deadline = dr_now() + budgets.seconds;
	if (!strcmp(a->cmd, "layout"))
		r = cmd_layout(a->pos, a->json);
	else if (!strcmp(a->cmd, "sites"))
		r = cmd_sites(a->pos, a->json);
	else
		r = cmd_dump(a->core, a->pos, a->pid, a->json, a->history, a->full);
	r = out_budget(r);
	fflush(stdout);
	return r;
}

/*
 * libdwarf 20210528 crashes on some corrupt DWARF (double frees and wild
 * reads that later releases fixed; our fuzzer finds them in seconds).  So
 * the command runs in a child whose output is kept until it succeeds; if
 * the child dies, it runs again with DWARF off, from the symbol tables and
 * _defer_debug_offsets, and says so.
 *
 * The child is the one that attaches to a live target, so it must not
 * outlive us: PR_SET_PDEATHSIG kills it if we are killed (even by
 * SIGKILL), and the kernel detaches a dead tracer's tracees, which then
 * run on.  It checks the time budget itself and stops cleanly; an alarm
 * a little later ends it if it is stuck (the input is then not retried:
 * that would double the wait).
 * DEFER_INSPECT_NOFORK=1 runs in-process (for debugging the tool).
 */
static int isolated(const struct args *a)
{
	pid_t parent = getpid();
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		int fd = memfd_create("defer-inspect-out", MFD_CLOEXEC), st;
		pid_t pid;
		char buf[65536];
		ssize_t n;

		if (fd < 0)
			return run(a);
		fflush(stdout);
		if ((pid = fork()) < 0) {
			close(fd);
			return run(a);
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			/* Killed before prctl took effect: nobody to report to. */
			if (getppid() != parent)
				_exit(DR_EUSAGE);
			dup2(fd, 1);
			dr_no_dwarf = attempt > 0;
			alarm(budgets.seconds + 5);
			_exit(run(a));
		}
		while (waitpid(pid, &st, 0) < 0)
			;
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
			char msg[200];

			close(fd);
			snprintf(msg, sizeof msg, "stopped at the time budget: still reading after %u s "
				 "(blocked?); raise it with --max-time SECONDS", budgets.seconds + 5);
			return fail(DR_EBUDGET, msg);
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) < 64) {
			lseek(fd, 0, SEEK_SET);
			while ((n = read(fd, buf, sizeof buf)) > 0)
				fwrite(buf, 1, (size_t)n, stdout);
			close(fd);
			return WEXITSTATUS(st);
		}
		close(fd);
		if (attempt == 0)
			dr_warn("reading the debug info failed (%s %d: corrupt DWARF?); "
				"retrying with symbol tables and _defer_debug_offsets only",
				WIFSIGNALED(st) ? "signal" : "status",
				WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
	return fail(DR_ECORRUPT, "the input is too corrupt to read");
}

/* Long options; a budget's val is OPT_BUDGET + its case in budget(). */
enum { OPT_JSON = 0x80, OPT_CORE, OPT_PID, OPT_VERSION, OPT_HISTORY, OPT_FULL, OPT_BUDGET = 0x100 };
static const struct option longopts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "history", no_argument, NULL, OPT_HISTORY },
	{ "full", no_argument, NULL, OPT_FULL },
	{ "core", required_argument, NULL, OPT_CORE },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "max-threads", required_argument, NULL, OPT_BUDGET + 0 },
	{ "max-records", required_argument, NULL, OPT_BUDGET + 1 },
	{ "max-panics", required_argument, NULL, OPT_BUDGET + 2 },
	{ "max-output", required_argument, NULL, OPT_BUDGET + 3 },
	{ "max-time", required_argument, NULL, OPT_BUDGET + 4 },
	{ NULL, 0, NULL, 0 },
};

static int budget(int which, const char *arg)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*end || !v || arg[0] == '-' || !arg[0] || errno)
		return bad("a budget wants a positive number");
	switch (which) {
	case 0: budgets.lim.threads = v; break;
	case 1: budgets.lim.records = v; break;
	case 2: budgets.lim.panics = v; break;
	case 3: budgets.output = v; break;
	default: budgets.seconds = v < 1000000 ? (unsigned)v : 999999; break;
	}
	return 0;
}

/* Options anywhere, GNU style (--pid=N or --pid N); `--` ends them, so a
 * BINARY may start with '-'.  The first operand is the command. */
static int parse(int argc, char **argv, struct args *a)
{
	char msg[160];
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			a->json = 1;
			break;
		case OPT_HISTORY:
			a->history = 1;
			break;
		case OPT_FULL:
			a->full = 1;
			break;
		case OPT_CORE:
			a->core = optarg;
			break;
		case OPT_PID: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (!optarg[0] || *end || errno || v <= 0 || v > 0x7fffffff)
				return bad("--pid wants a process id");
			a->pid = (int)v;
			break;
		}
		case 'h':
			fputs(usage, stdout);
			return -1;
		case OPT_VERSION:
			printf("defer-inspect (libdefer) %s\n", DEFER_INSPECT_VERSION);
			return -1;
		case ':':
			snprintf(msg, sizeof msg, "%s wants an argument", argv[optind - 1]);
			return bad(msg);
		case '?':
			if (optopt)
				snprintf(msg, sizeof msg, "unknown option -%c", optopt);
			else
				snprintf(msg, sizeof msg, "unknown option %s", argv[optind - 1]);
			return bad(msg);
		default:
			if ((r = budget(c - OPT_BUDGET, optarg)))
				return r;
		}
	}
	if (optind >= argc)
		return bad("no command");
	a->cmd = argv[optind++];
	if (optind < argc)
		a->pos = argv[optind++];
	if (optind < argc)
		return bad("too many arguments");
	if (!strcmp(a->cmd, "layout") || !strcmp(a->cmd, "sites")) {
		if (!a->pos || a->core || a->pid)
			return bad("wants one BINARY");
		if (a->history)
			return bad("--history is an option of dump");
		if (a->full)
			return bad("--full is an option of dump");
	} else if (!strcmp(a->cmd, "dump")) {
		if (!(a->pid && !a->core && !a->pos) && !(a->core && a->pos && !a->pid))
			return bad("dump wants --core CORE BINARY or --pid PID");
	} else {
		return bad("unknown command");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	int r = parse(argc, argv, &a);

	if (r)
		return r < 0 ? 0 : r;
	if (getenv("DEFER_INSPECT_NOFORK"))
		return run(&a);
	return isolated(&a);
}
