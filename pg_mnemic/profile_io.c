/*
 * profile_io.c
 *	  mnemic.import_profile() and mnemic.export_profile(): a profile file in
 *	  or out, in the format named (profile_formats.h).
 */
#include "postgres.h"

#include <math.h>
#include <zlib.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "listener/spi_helpers.h"
#include "profile_formats.h"
#include "sqlutil.h"
#include "coordinator.h"

PG_FUNCTION_INFO_V1(mnemic_import_profile);
PG_FUNCTION_INFO_V1(mnemic_export_profile);

/* The largest profile a gzipped file may unpack to. */
#define MAX_UNPACKED	((size_t) MaxAllocHugeSize)

typedef void (*ProfileReader) (ProfileImport *pi, const char *data, size_t len);
typedef bytea *(*ProfileWriter) (const ProfileExport *ex);

static const struct
{
	const char *name;
	ProfileReader read;
	ProfileWriter write;
}			formats[] = {
	{"collapsed", ReadCollapsed, WriteCollapsed},
	{"speedscope", ReadSpeedscope, WriteSpeedscope},
	{"pprof", ReadPprof, WritePprof},
	{"vmprof", ReadVmprof, NULL},
};

static int
format_index(text *name, bool for_export)
{
	char	   *s = text_to_cstring(name);

	for (int i = 0; i < lengthof(formats); i++)
		if (strcmp(s, formats[i].name) == 0 &&
			(!for_export || formats[i].write != NULL))
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown profile format \"%s\"", s),
			 for_export ?
			 errhint("Profiles are exported as collapsed, speedscope or pprof.") :
			 errhint("Profiles are imported from vmprof, collapsed, speedscope or pprof.")));
	return -1;					/* keep the compiler quiet */
}

TimestampTz
ProfileImportEpoch(void)
{
	return GetCurrentTransactionStartTimestamp();
}

TimestampTz
ProfileTimeAfter(TimestampTz base, int64 us)
{
	TimestampTz t;

	if (pg_add_s64_overflow(base, us, &t) || !IS_VALID_TIMESTAMP(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("the profile's samples run past the range of timestamptz")));
	return t;
}

/* data[0..len) unpacked when it is gzipped (RFC 1952); as is otherwise. */
static char *
gunzip_if_gzipped(const char *data, size_t len, size_t *outlen)
{
	z_stream	z;
	size_t		cap;
	char	   *out;
	int			rc;

	*outlen = len;
	if (len < 2 || (uint8) data[0] != 0x1f || (uint8) data[1] != 0x8b)
		return (char *) data;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		elog(ERROR, "pg_mnemic: inflateInit2 failed");
	cap = Max(len * 4, 4096);
	out = palloc_extended(cap, MCXT_ALLOC_HUGE);
	z.next_in = (Bytef *) data;
	z.avail_in = (uInt) Min(len, (size_t) UINT_MAX);
	for (;;)
	{
		if (z.total_out == cap)
		{
			if (cap >= MAX_UNPACKED / 2)
			{
				inflateEnd(&z);
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("the gzipped profile unpacks to more than 1 GB")));
			}
			cap *= 2;
			out = repalloc_huge(out, cap);
		}
		z.next_out = (Bytef *) out + z.total_out;
		z.avail_out = (uInt) Min(cap - z.total_out, (size_t) UINT_MAX);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
		{
			size_t		at = z.total_in;

			inflateEnd(&z);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("gzipped profile: corrupt at byte %zu of %zu", at, len)));
		}
		if (rc == Z_BUF_ERROR && z.avail_in == 0)
		{
			inflateEnd(&z);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("gzipped profile: cut short after %zu bytes", len)));
		}
	}
	*outlen = z.total_out;
	inflateEnd(&z);
	return out;
}

static void *
palloc_resize(void *ctx, void *ptr, size_t size)
{
	return ptr ? repalloc_huge(ptr, size) :
		palloc_extended(size, MCXT_ALLOC_HUGE);
}

const ScanAlloc ProfileScanAlloc = {palloc_resize, NULL};

bytea *
GzipBytes(const char *data, size_t len)
{
	z_stream	z;
	size_t		cap = deflateBound(NULL, len) + 64;
	bytea	   *out = palloc_extended(VARHDRSZ + cap, MCXT_ALLOC_HUGE);

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
					 Z_DEFAULT_STRATEGY) != Z_OK)
		elog(ERROR, "pg_mnemic: deflateInit2 failed");
	z.next_in = (Bytef *) data;
	z.avail_in = (uInt) len;
	z.next_out = (Bytef *) VARDATA(out);
	z.avail_out = (uInt) cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
	{
		deflateEnd(&z);
		elog(ERROR, "pg_mnemic: deflate did not finish");
	}
	SET_VARSIZE(out, VARHDRSZ + z.total_out);
	deflateEnd(&z);
	return out;
}

/*
 * SQL: mnemic.import_profile(tracer text, format text, data bytea) RETURNS
 * uuid: the profile stored as a new run of tracer.
 */
Datum
mnemic_import_profile(PG_FUNCTION_ARGS)
{
	text	   *tracer = RequiredText(fcinfo, 0, "tracer");
	int			f = format_index(RequiredText(fcinfo, 1, "format"), false);
	bytea	   *data;
	size_t		len;
	char	   *bytes;
	ProfileImport *pi;
	pg_uuid_t  *run;
	pg_uuid_t  *result;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("data must not be NULL")));
	data = PG_GETARG_BYTEA_PP(2);
	bytes = gunzip_if_gzipped(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), &len);
	pi = ProfileImportCreate();
	formats[f].read(pi, bytes, len);
	SpiConnect();
	run = ProfileImportStore(pi, text_to_cstring(tracer));
	/* SPI_finish frees what was allocated since SpiConnect */
	result = SPI_palloc(sizeof(pg_uuid_t));
	memcpy(result, run, sizeof(pg_uuid_t));
	SPI_finish();
	PG_RETURN_UUID_P(result);
}

/* Two paths by their frames' names, files and lines, the outermost first. */
static int
compare_paths(const void *a, const void *b, void *arg)
{
	const ProfileExport *ex = arg;
	const ProfilePath *x = &ex->paths.paths[*(const int *) a];
	const ProfilePath *y = &ex->paths.paths[*(const int *) b];

	for (int d = 0; d < x->depth && d < y->depth; d++)
	{
		ProfileFrameInfo *fx = ProfileFrameInfoOf(ex->frames, x->frames[d]);
		ProfileFrameInfo *fy = ProfileFrameInfoOf(ex->frames, y->frames[d]);
		int			c = strcmp(fx->function, fy->function);

		if (c == 0)
			c = strcmp(fx->file, fy->file);
		if (c == 0)
			c = (x->lines[d] > y->lines[d]) - (x->lines[d] < y->lines[d]);
		if (c != 0)
			return c;
	}
	return (x->depth > y->depth) - (x->depth < y->depth);
}

/* Put the paths (and their values) in order, so an export is the same each time. */
static void
sort_paths(ProfileExport *ex)
{
	int			n = ex->paths.n;
	int		   *order = palloc(sizeof(int) * Max(n, 1));
	ProfilePath *paths = palloc(sizeof(ProfilePath) * Max(n, 1));
	int64	   *values = palloc(sizeof(int64) * Max(n, 1));

	for (int i = 0; i < n; i++)
		order[i] = i;
	qsort_arg(order, n, sizeof(int), compare_paths, ex);
	for (int i = 0; i < n; i++)
	{
		paths[i] = ex->paths.paths[order[i]];
		values[i] = ex->values[order[i]];
	}
	ex->paths.paths = paths;
	ex->values = values;
}

/* The unit a weight is written in by formats that want integers. */
static const char *
unit_of(ProfileWeight weight)
{
	switch (weight)
	{
		case WEIGHT_CPU:
		case WEIGHT_WALL:
			return "microseconds";
		case WEIGHT_SAMPLES:
			return "samples";
		default:
			return "bytes";
	}
}

/*
 * SQL: mnemic.export_profile(run uuid, t_from, t_to, format text, weight
 * text) RETURNS bytea: the window as a file of that format.
 */
Datum
mnemic_export_profile(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *run = RequiredUuid(fcinfo, 0, "run");
	int			f = format_index(RequiredText(fcinfo, 3, "format"), true);
	text	   *weight_name = RequiredText(fcinfo, 4, "weight");
	ProfileExport ex;
	ProfileScope scope;
	int32	   *ids;
	int			nids = 0;
	bytea	   *result;
	MemoryContext outer;
	MemoryContext old;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	memset(&ex, 0, sizeof(ex));
	ex.weight = ProfileWeightParse(weight_name);
	ex.weight_name = text_to_cstring(weight_name);
	ex.unit = unit_of(ex.weight);
	ex.run = UuidText(run);
	outer = CurrentMemoryContext;
	SpiConnect();
	scope = ProfileScopeMake(run, !PG_ARGISNULL(1),
							 PG_ARGISNULL(1) ? 0 : PG_GETARG_TIMESTAMPTZ(1),
							 !PG_ARGISNULL(2),
							 PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMESTAMPTZ(2), NULL);
	ex.tracer = scope.tracer;
	ex.from = scope.from;
	ex.to = scope.to;
	ex.paths = ProfileResolvePaths(scope.run_id, ProfileSumStacks(&scope, ex.weight));

	/* values as integers of the unit; frames of every path */
	ex.values = palloc(sizeof(int64) * Max(ex.paths.n, 1));
	for (int i = 0; i < ex.paths.n; i++)
	{
		ex.values[i] = ex.paths.paths[i].value;
		nids += ex.paths.paths[i].depth;
	}
	ids = palloc(sizeof(int32) * Max(nids, 1));
	nids = 0;
	for (int i = 0; i < ex.paths.n; i++)
		for (int d = 0; d < ex.paths.paths[i].depth; d++)
			ids[nids++] = ex.paths.paths[i].frames[d];
	ex.frames = ProfileFrameInfos(ids, nids);
	sort_paths(&ex);

	/* the file outlives SPI_finish, which frees what SPI's context holds */
	old = MemoryContextSwitchTo(outer);
	result = formats[f].write(&ex);
	MemoryContextSwitchTo(old);
	SPI_finish();
	PG_RETURN_BYTEA_P(result);
}
