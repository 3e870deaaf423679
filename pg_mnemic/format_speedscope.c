/*
 * format_speedscope.c
 *	  (being written)
 */
#include "postgres.h"

#include "profile_formats.h"

void
ReadSpeedscope(ProfileImport *pi, const char *data, size_t len)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("this profile format is not supported yet")));
}

bytea *
WriteSpeedscope(const ProfileExport *ex)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("this profile format is not supported yet")));
	return NULL;
}
