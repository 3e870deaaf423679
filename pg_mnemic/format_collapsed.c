/*
 * format_collapsed.c
 *	  Collapsed ("folded") stacks, as Brendan Gregg's FlameGraph scripts and
 *	  py-spy write them: one line per distinct stack, frames from the
 *	  outermost to the innermost separated by ';', then a space and a count:
 *
 *	    <module> (app.py:12);main (app.py:40);work (app.py:7) 42
 *
 * A frame written "function (file:line)" gives its file and the line being
 * executed; any other text is a function name alone.  The format has no
 * time: an import puts the stacks one after another from the import's
 * start, each count taken as that many samples of 10 ms on CPU (py-spy's
 * default rate).  An export writes the window's stacks, each with its
 * weight as an integer (microseconds, samples or bytes), lines in order.
 * The text is taken apart by collapsed_scan.c, which is fuzzed on its own.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#include "collapsed_scan.h"
#include "profile_formats.h"

#define COLLAPSED_SAMPLE_US	10000

/*
 * Ids already found, by the text they came from: a line's stack, or a
 * frame.  Files repeat the same stacks and frames many times; a repeat
 * then costs a hash of its text instead of one lookup per frame.
 */
typedef struct TextId
{
	uint64		hash;			/* key */
	const char *text;			/* in the file */
	size_t		len;
	uint32		id;
} TextId;

static HTAB *
text_table(const char *name)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(TextId);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * The entry of text: *known when it holds text's id already; NULL when
 * another text has the same hash (then the caller does without).
 */
static TextId *
text_entry(HTAB *table, const char *text, size_t len, bool *known)
{
	uint64		hash = hash_bytes_extended((const unsigned char *) text, len, 0);
	bool		found;
	TextId	   *e = hash_search(table, &hash, HASH_ENTER, &found);

	*known = found && e->len == len && memcmp(e->text, text, len) == 0;
	if (found && !*known)
		return NULL;
	if (!found)
	{
		e->text = text;
		e->len = len;
	}
	return e;
}

/*
 * The ProfileImport frame of a frame of a line, text[0..len) being the
 * frame as written (its line is the stack's).
 */
static uint32
import_frame(ProfileImport *pi, HTAB *frames, const CollapsedFrame *f,
			 const char *text, size_t len)
{
	bool		known;
	TextId	   *e = text_entry(frames, text, len, &known);
	char	   *function;
	char	   *file;
	uint32		id;

	if (known)
		return e->id;
	function = pnstrdup(f->function, f->function_len);
	file = pnstrdup(f->file, f->file_len);
	id = ProfileImportFrame(pi, function, file, 0, IMPORT_FRAME_PYTHON);
	pfree(function);
	pfree(file);
	if (e != NULL)
		e->id = id;
	return id;
}

void
ReadCollapsed(ProfileImport *pi, const char *data, size_t len)
{
	TimestampTz at = ProfileImportEpoch();
	uint32		thread = ProfileImportThread(pi, "collapsed");
	HTAB	   *stacks = text_table("mnemic collapsed stacks");
	HTAB	   *frames = text_table("mnemic collapsed frames");
	CollapsedScan scan;
	CollapsedLine line;
	CollapsedStep step;
	ScanError	err;

	collapsed_scan_init(&scan, data, len);
	while ((step = collapsed_next_line(&scan, &line, &err)) == COLLAPSED_LINE)
	{
		bool		known;
		TextId	   *e = text_entry(stacks, line.stack, line.stack_len, &known);
		uint32		stack = 0;

		if (known)
			stack = e->id;
		else
		{
			CollapsedFrame frame;
			size_t		pos = 0;

			size_t		start = 0;

			while (collapsed_next_frame(&line, &pos, &frame))
			{
				/* pos is past the frame and its ';' */
				size_t		end = pos < line.stack_len ? pos - 1 : pos;

				stack = ProfileImportStack(pi, stack,
										   import_frame(pi, frames, &frame,
														line.stack + start,
														end - start),
										   frame.line);
				start = pos;
			}
			if (e != NULL)
				e->id = stack;
		}
		ProfileImportSample(pi, thread, at, stack, line.count,
							(int64) line.count * COLLAPSED_SAMPLE_US, true, 0);
		at += (int64) line.count * COLLAPSED_SAMPLE_US;
	}
	if (step == COLLAPSED_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("collapsed stacks, line %d: %s", err.line, err.message),
				 errhint("A line is frames separated by ';', a space and a count: a;b;c 12")));
}

/* A frame as collapsed text: "function (file:line)", or the function alone. */
static void
append_frame(StringInfo out, ProfileFrameInfo *f, int32 line)
{
	appendStringInfoString(out, f->function);
	if (f->file[0] != '\0')
		appendStringInfo(out, " (%s:%d)", f->file, line != 0 ? line : f->line);
}

static int
compare_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

bytea *
WriteCollapsed(const ProfileExport *ex)
{
	char	  **lines = palloc(sizeof(char *) * Max(ex->paths.n, 1));
	int			n = 0;
	StringInfoData out;
	bytea	   *result;

	for (int i = 0; i < ex->paths.n; i++)
	{
		const ProfilePath *p = &ex->paths.paths[i];
		StringInfoData line;

		if (ex->values[i] == 0)
			continue;
		initStringInfo(&line);
		for (int d = 0; d < p->depth; d++)
		{
			if (d > 0)
				appendStringInfoChar(&line, ';');
			append_frame(&line, ProfileFrameInfoOf(ex->frames, p->frames[d]),
						 p->lines[d]);
		}
		appendStringInfo(&line, " " INT64_FORMAT "\n", ex->values[i]);
		lines[n++] = line.data;
	}
	qsort(lines, n, sizeof(char *), compare_lines);

	initStringInfo(&out);
	for (int i = 0; i < n; i++)
		appendStringInfoString(&out, lines[i]);
	result = (bytea *) palloc(VARHDRSZ + out.len);
	SET_VARSIZE(result, VARHDRSZ + out.len);
	memcpy(VARDATA(result), out.data, out.len);
	return result;
}
