/*
 * defer-inspect - libdefer's records without a debugger.
 *
 *   defer-inspect layout [--json] BINARY
 *   defer-inspect sites  [--json] BINARY
 *   defer-inspect dump   [--json] --core CORE BINARY
 *   defer-inspect dump   [--json] --pid PID
 *   budgets: --max-threads N --max-records N --max-panics N
 *            --max-output BYTES --max-time SECONDS
 *
 * Exit status: 0, or one of the DR_E* classes in dreader.h.
 */
#define _GNU_SOURCE
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
	"       defer-inspect dump [--json] --core CORE BINARY\n"
	"       defer-inspect dump [--json] --pid PID\n"
	"budgets: --max-threads N (65536) --max-records N (1048576) --max-panics N (65536)\n"
	"         --max-output BYTES (268435456) --max-time SECONDS (60)\n";

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

struct args { const char *cmd, *core, *pos; int json, pid; };

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
		r = cmd_dump(a->core, a->pos, a->pid, a->json);
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

int main(int argc, char **argv)
{
	struct args a = { 0 };
	const char *cmd, *core = NULL, *pos = NULL;
	int json = 0, pid = 0, i;

	if (argc < 2)
		return bad("no command");
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--core") && i + 1 < argc) {
			core = argv[++i];
		} else if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v <= 0 || v > 0x7fffffff)
				return bad("--pid wants a process id");
			pid = (int)v;
		} else if (!strncmp(argv[i], "--max-", 6) && i + 1 < argc) {
			const char *opt = argv[i];
			char *end;
			unsigned long long v = strtoull(argv[++i], &end, 10);

			if (*end || !v || argv[i][0] == '-')
				return bad("a budget wants a positive number");
			if (!strcmp(opt, "--max-threads"))
				budgets.lim.threads = v;
			else if (!strcmp(opt, "--max-records"))
				budgets.lim.records = v;
			else if (!strcmp(opt, "--max-panics"))
				budgets.lim.panics = v;
			else if (!strcmp(opt, "--max-output"))
				budgets.output = v;
			else if (!strcmp(opt, "--max-time"))
				budgets.seconds = v < 1000000 ? (unsigned)v : 999999;
			else
				return bad("unknown budget");
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return bad("unknown option");
		} else if (!pos) {
			pos = argv[i];
		} else {
			return bad("too many arguments");
		}
	}
	if (!strcmp(cmd, "layout") || !strcmp(cmd, "sites")) {
		if (!pos || core || pid)
			return bad("wants one BINARY");
	} else if (!strcmp(cmd, "dump")) {
		if (!(pid && !core && !pos) && !(core && pos && !pid))
			return bad("dump wants --core CORE BINARY or --pid PID");
	} else {
		return bad("unknown command");
	}
	a = (struct args){ cmd, core, pos, json, pid };
	if (getenv("DEFER_INSPECT_NOFORK"))
		return run(&a);
	return isolated(&a);
}
