/*
 * defer-inspect - libdefer's records without a debugger.
 *
 *   defer-inspect layout [--json] BINARY
 *   defer-inspect sites  [--json] BINARY
 *   defer-inspect dump   [--json] --core CORE BINARY
 *   defer-inspect dump   [--json] --pid PID
 *
 * Exit status: 0, or one of the DR_E* classes in dreader.h.
 */
#include <stdlib.h>
#include <string.h>
#include "tool.h"

static const char usage[] =
	"usage: defer-inspect layout [--json] BINARY\n"
	"       defer-inspect sites [--json] BINARY\n"
	"       defer-inspect dump [--json] --core CORE BINARY\n"
	"       defer-inspect dump [--json] --pid PID\n";

int fail(int code, const char *msg)
{
	fflush(stdout);
	fprintf(stderr, "defer-inspect: %s\n", msg);
	return code;
}

static int bad(const char *why)
{
	fprintf(stderr, "defer-inspect: %s\n%s", why, usage);
	return DR_EUSAGE;
}

int main(int argc, char **argv)
{
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
		return cmd[0] == 'l' ? cmd_layout(pos, json) : cmd_sites(pos, json);
	}
	if (!strcmp(cmd, "dump")) {
		if (pid && !core && !pos)
			return cmd_dump(NULL, NULL, pid, json);
		if (core && pos && !pid)
			return cmd_dump(core, pos, 0, json);
		return bad("dump wants --core CORE BINARY or --pid PID");
	}
	return bad("unknown command");
}
