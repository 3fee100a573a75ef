/* Panics from signal handlers.  argv[1] picks the case:
 *   handler   a program's own SIGSEGV/SIGBUS/SIGFPE handler panics; the
 *             panic is recovered, three times per signal: the signal must
 *             not stay blocked
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <defer.h>

static void catch(void)
{
	const struct _panic *p = recover();
	printf("catch: %s\n", p ? p->msg : "nothing");
}

static void onsig(int sig)
{
	panic("handler got signal %d", sig);
}

static int *volatile nowhere __attribute__((unused));

/* A real fault for SIGSEGV; SIGBUS and SIGFPE are sent (an integer
 * division by zero does not trap on every virtual machine). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
static void fault(int sig)
{
#ifndef __SANITIZE_ADDRESS__	/* UBSan reports the null store itself */
	if (sig == SIGSEGV)
		*nowhere = 1;
	else
#endif
		raise(sig);
}

static void raise_in_frame(int sig)
{
	defer_frame;
	defer(catch);
	fault(sig);
	printf("raise_in_frame: not reached\n");
}

static void handler_case(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE };
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsig;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, 0);
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 3; k++)
			raise_in_frame(sigs[i]);
	sigset_t now;
	pthread_sigmask(SIG_SETMASK, 0, &now);
	printf("blocked afterwards: %d %d %d\n", sigismember(&now, SIGSEGV),
	       sigismember(&now, SIGBUS), sigismember(&now, SIGFPE));
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "handler"))
		handler_case();
	printf("main: done\n");
	return 0;
}
