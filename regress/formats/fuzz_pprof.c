/*
 * fuzz_pprof.c
 *	  libFuzzer target for the pprof scanner (pg_mnemic/pprof_scan.c): a
 *	  profile it accepts has every index in range and every string UTF-8.
 */
#include "pprof_scan.h"
#include "fuzz_check.h"
#include "listener/text.h"
#include "tracked_alloc.h"

static void
check_profile(const PprofProfile *p, size_t size)
{
	size_t		nrefs = 0;
	size_t		nvalues = 0;
	size_t		nlines = 0;

	FUZZ_CHECK(p->nstrings >= 1 && p->strings[0].len == 0, "no empty string first");
	for (uint32_t i = 0; i < p->nstrings; i++)
		FUZZ_CHECK(utf8_valid((const uint8_t *) p->strings[i].ptr, p->strings[i].len),
				   "a string is not UTF-8");
	for (uint32_t i = 0; i < p->nsample_types; i++)
		FUZZ_CHECK(p->sample_types[i].type < p->nstrings &&
				   p->sample_types[i].unit < p->nstrings, "a sample type's string");
	FUZZ_CHECK(p->period_type.type < p->nstrings && p->period_type.unit < p->nstrings &&
			   p->default_sample_type < p->nstrings, "the period type's string");
	for (uint32_t i = 0; i < p->nfunctions; i++)
		FUZZ_CHECK(p->functions[i].name < p->nstrings &&
				   p->functions[i].system_name < p->nstrings &&
				   p->functions[i].filename < p->nstrings, "a function's string");
	for (uint32_t i = 0; i < p->nlocations; i++)
	{
		const PprofLocation *loc = &p->locations[i];

		FUZZ_CHECK(loc->first_line == nlines, "locations' lines overlap");
		nlines += loc->nlines;
	}
	for (uint32_t i = 0; i < p->nlocations; i++)
		for (uint32_t j = 0; j < p->locations[i].nlines; j++)
			FUZZ_CHECK(p->lines[p->locations[i].first_line + j].function < p->nfunctions,
					   "a line's function");
	for (uint32_t i = 0; i < p->nsamples; i++)
	{
		const PprofSample *s = &p->samples[i];

		FUZZ_CHECK(s->first_location == nrefs && s->first_value == nvalues,
				   "samples overlap");
		FUZZ_CHECK(s->offset < size, "a sample outside the input");
		FUZZ_CHECK(s->thread < p->nstrings, "a sample's thread");
		for (uint32_t j = 0; j < s->nlocations; j++)
			FUZZ_CHECK(p->sample_locations[s->first_location + j] < p->nlocations,
					   "a sample's location");
		nrefs += s->nlocations;
		nvalues += p->nsample_types;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PprofProfile profile;
	ScanError	err;

	if (pprof_scan(data, size, &tracked_alloc, &profile, &err))
		check_profile(&profile, size);
	else
		FUZZ_CHECK(err.message[0] != '\0' && err.offset <= size, "a bad error");
	tracked_free_all();
	return 0;
}
