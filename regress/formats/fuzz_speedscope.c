/*
 * fuzz_speedscope.c
 *	  libFuzzer target for speedscope files: PostgreSQL's JSON parser (the
 *	  frontend build of libpgcommon) driving the scanner
 *	  (pg_mnemic/speedscope_json.c and speedscope_scan.c).  A file it
 *	  accepts has every frame index in range, each sample's frames in order
 *	  and every evented profile balanced.
 */
#include "speedscope_scan.h"
#include "fuzz_check.h"
#include "tracked_alloc.h"

/*
 * The frontend parser recurses without checking the stack (the server's
 * checks it); keep inputs shallower than any real file.  Not instrumented:
 * it is the harness's, and a traced comparison per byte would slow every
 * run.
 */
#define MAX_NESTING		256

__attribute__((no_sanitize("coverage")))
static bool
too_deep(const uint8_t *data, size_t size)
{
	int			depth = 0;

	for (size_t i = 0; i < size; i++)
		if ((data[i] == '[' || data[i] == '{') && ++depth > MAX_NESTING)
			return true;
		else if ((data[i] == ']' || data[i] == '}') && depth > 0)
			depth--;
	return false;
}

static void
check_file(const SpeedscopeFile *f)
{
	for (size_t i = 0; i < f->nframes; i++)
		FUZZ_CHECK(f->frames[i].name != NULL && f->frames[i].line >= 0, "a frame");
	for (size_t i = 0; i < f->nprofiles; i++)
	{
		const SpeedscopeProfile *p = &f->profiles[i];
		long		open = 0;

		FUZZ_CHECK(p->unit <= SPEEDSCOPE_BYTES, "a unit");
		if (!p->evented)
		{
			FUZZ_CHECK(p->nsamples == p->nweights, "samples and weights differ");
			FUZZ_CHECK(p->starts != NULL && p->starts[0] == 0, "no first start");
			for (size_t j = 0; j < p->nsamples; j++)
			{
				FUZZ_CHECK(p->starts[j] <= p->starts[j + 1] &&
						   p->starts[j + 1] <= p->nframes, "a sample's frames");
				FUZZ_CHECK(p->weights[j] >= 0, "a negative weight");
			}
			for (size_t k = 0; k < p->nframes; k++)
				FUZZ_CHECK(p->frames[k] < f->nframes, "a frame index");
		}
		for (size_t j = 0; j < p->nevents; j++)
		{
			FUZZ_CHECK(p->events[j].frame < f->nframes, "an event's frame");
			FUZZ_CHECK(j == 0 || p->events[j].at >= p->events[j - 1].at, "events go back");
			open += p->events[j].open ? 1 : -1;
			FUZZ_CHECK(open >= 0, "an event closes more than is open");
		}
		if (p->evented)
			FUZZ_CHECK(open == 0, "an evented profile left open");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SpeedscopeFile file;
	ScanError	err;

	if (too_deep(data, size))
		return 0;
	if (speedscope_parse((const char *) data, size, &tracked_alloc, &file, &err))
		check_file(&file);
	else
		FUZZ_CHECK(err.message[0] != '\0', "an error without a message");
	tracked_free_all();
	return 0;
}
