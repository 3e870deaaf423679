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
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "profile_formats.h"

#define COLLAPSED_SAMPLE_US	10000

/* "function (file:line)" into its parts; false for other texts. */
static bool
split_frame(char *text, char **function, char **file, int32 *line)
{
	size_t		len = strlen(text);
	char	   *open;
	char	   *colon;
	char	   *end;
	long		n;

	if (len < 5 || text[len - 1] != ')')
		return false;
	open = strstr(text, " (");
	while (open != NULL && strstr(open + 2, " (") != NULL)
		open = strstr(open + 2, " (");	/* the last " (" */
	if (open == NULL)
		return false;
	colon = strrchr(open, ':');
	if (colon == NULL || colon == open + 2)
		return false;
	errno = 0;
	n = strtol(colon + 1, &end, 10);
	if (end != text + len - 1 || errno != 0 || n < 0 || n > PG_INT32_MAX)
		return false;
	*open = '\0';
	*colon = '\0';
	*function = text;
	*file = open + 2;
	*line = (int32) n;
	return true;
}

void
ReadCollapsed(ProfileImport *pi, const char *data, size_t len)
{
	TimestampTz at = ProfileImportEpoch();
	uint32		thread = ProfileImportThread(pi, "collapsed");
	const char *p = data;
	const char *end = data + len;
	int			lineno = 0;

	while (p < end)
	{
		const char *nl = memchr(p, '\n', end - p);
		const char *stop = nl ? nl : end;
		char	   *text;
		char	   *space;
		char	   *count_end;
		long long	count;
		uint32		stack = 0;
		char	   *frame;
		char	   *next;

		lineno++;
		if (stop > p && stop[-1] == '\r')
			stop--;
		text = pnstrdup(p, stop - p);
		p = nl ? nl + 1 : end;
		if (text[0] == '\0')
			continue;
		if (pg_encoding_verifymbstr(PG_UTF8, text, strlen(text)) != (int) strlen(text))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("collapsed stacks, line %d: not UTF-8", lineno)));

		space = strrchr(text, ' ');
		if (space == NULL || space == text)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("collapsed stacks, line %d: no count after the stack",
							lineno),
					 errhint("A line is frames separated by ';', a space and a count: a;b;c 12")));
		errno = 0;
		count = strtoll(space + 1, &count_end, 10);
		if (*count_end != '\0' || count_end == space + 1 || errno != 0 ||
			count < 0 || count > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("collapsed stacks, line %d: \"%s\" is not a count",
							lineno, space + 1)));
		*space = '\0';
		if (count == 0)
			continue;

		for (frame = text; frame != NULL; frame = next)
		{
			char	   *function = frame;
			char	   *file = "";
			int32		line = 0;

			next = strchr(frame, ';');
			if (next != NULL)
				*next++ = '\0';
			if (frame[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("collapsed stacks, line %d: an empty frame",
								lineno)));
			(void) split_frame(frame, &function, &file, &line);
			stack = ProfileImportStack(pi, stack,
									   ProfileImportFrame(pi, function, file, 0,
														  IMPORT_FRAME_PYTHON),
									   line);
		}
		ProfileImportSample(pi, thread, at, stack, (int32) count,
							count * COLLAPSED_SAMPLE_US, true, 0);
		at += count * COLLAPSED_SAMPLE_US;
		pfree(text);
	}
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
