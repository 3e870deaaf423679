/*
 * call_clock.c
 *	  The clock that times @profiler calls (call_clock.h): which one, and
 *	  how long its tick is.
 *
 * The time-stamp counter is used only where the kernel keeps its own time
 * by it, and not when DOLON_CALL_CLOCK=monotonic asks for the portable
 * clock.  Its rate is learnt against the monotonic clock, over the time
 * since the first choice: each duration read compares both clocks now with
 * both then, so the longer a process runs, the finer the rate; a read in
 * the first millisecond waits for that millisecond to pass, so that it is
 * never coarser than a few parts in a hundred thousand.
 *
 * The choice is made once per process (the counter and the kernel's
 * clocksource are the machine's, not an interpreter's), under the GIL of
 * whichever interpreter imports dolon first.
 */
#include "call_clock.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int			dolon_call_clock_tsc = 0;

static int	chosen = 0;
static int64_t base_ticks;
static int64_t base_ns;

#define CALIBRATION_MIN_NS	1000000

#ifdef DOLON_CALL_CLOCK_HAS_TSC
/* The kernel keeps time by the time-stamp counter. */
static int
kernel_clock_is_tsc(void)
{
	char		buf[32];
	ssize_t		n;
	int			fd = open("/sys/devices/system/clocksource/clocksource0/"
						  "current_clocksource", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, "tsc\n") == 0 || strcmp(buf, "tsc") == 0;
}

/* Both clocks at one moment: the counter between two monotonic readings. */
static void
read_both(int64_t *ticks, int64_t *ns)
{
	int64_t		before = dolon_monotonic_ns();

	*ticks = (int64_t) __rdtsc();
	*ns = before + (dolon_monotonic_ns() - before) / 2;
}
#endif

void
call_clock_init(void)
{
	const char *asked = getenv("DOLON_CALL_CLOCK");

	if (chosen)
		return;
	chosen = 1;
#ifdef DOLON_CALL_CLOCK_HAS_TSC
	if ((asked == NULL || strcmp(asked, "monotonic") != 0) &&
		kernel_clock_is_tsc())
	{
		read_both(&base_ticks, &base_ns);
		dolon_call_clock_tsc = 1;
	}
#else
	(void) asked;
#endif
}

double
call_clock_ns_per_tick(void)
{
#ifdef DOLON_CALL_CLOCK_HAS_TSC
	int64_t		ticks,
				ns;

	if (!dolon_call_clock_tsc)
		return 1.0;
	read_both(&ticks, &ns);
	while (ns - base_ns < CALIBRATION_MIN_NS)
		read_both(&ticks, &ns);
	if (ticks <= base_ticks)
		return 1.0;				/* cannot happen with a sound counter */
	return (double) (ns - base_ns) / (double) (ticks - base_ticks);
#else
	return 1.0;
#endif
}

const char *
call_clock_name(void)
{
	return dolon_call_clock_tsc ? "tsc" : "monotonic";
}
