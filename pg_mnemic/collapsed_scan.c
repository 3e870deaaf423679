/*
 * collapsed_scan.c
 *	  Lines and frames of collapsed stacks (collapsed_scan.h).
 *
 * Plain C, no PostgreSQL headers.
 */
#include "collapsed_scan.h"

#include <string.h>

#include "listener/text.h"

/* A count shown in an error is cut to this many bytes. */
#define SHOWN_COUNT		40

void
collapsed_scan_init(CollapsedScan *s, const char *data, size_t len)
{
	s->data = data;
	s->len = len;
	s->pos = 0;
	s->lineno = 0;
}

/* Digits only, 0..INT32_MAX; false for anything else. */
static bool
parse_count(const char *p, size_t len, int32_t *count)
{
	int64_t		n = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (p[i] < '0' || p[i] > '9')
			return false;
		n = n * 10 + (p[i] - '0');
		if (n > INT32_MAX)
			return false;
	}
	*count = (int32_t) n;
	return true;
}

/* The last occurrence of c in p[0..len), or NULL. */
static const char *
last_char(const char *p, size_t len, char c)
{
	while (len > 0)
	{
		len--;
		if (p[len] == c)
			return p + len;
	}
	return NULL;
}

CollapsedStep
collapsed_next_line(CollapsedScan *s, CollapsedLine *line, ScanError *err)
{
	while (s->pos < s->len)
	{
		const char *p = s->data + s->pos;
		size_t		rest = s->len - s->pos;
		const char *nl = memchr(p, '\n', rest);
		size_t		len = nl ? (size_t) (nl - p) : rest;
		const char *space;
		size_t		stack_len;
		int32_t		count;

		s->lineno++;
		s->pos += nl ? len + 1 : len;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0)
			continue;
		if (!utf8_valid((const uint8_t *) p, len))
		{
			scan_fail(err, (size_t) (p - s->data), s->lineno, "not UTF-8");
			return COLLAPSED_ERROR;
		}

		space = last_char(p, len, ' ');
		if (space == NULL || space == p)
		{
			scan_fail(err, (size_t) (p - s->data), s->lineno,
					  "no count after the stack");
			return COLLAPSED_ERROR;
		}
		stack_len = (size_t) (space - p);
		if (!parse_count(space + 1, len - stack_len - 1, &count))
		{
			size_t		shown = len - stack_len - 1;
			const char *more = "";

			if (shown > SHOWN_COUNT)
			{
				/* cut at a character boundary */
				shown = SHOWN_COUNT;
				while (shown > 0 && ((uint8_t) space[1 + shown] & 0xC0) == 0x80)
					shown--;
				more = "...";
			}
			scan_fail(err, (size_t) (space + 1 - s->data), s->lineno,
					  "\"%.*s%s\" is not a count", (int) shown, space + 1, more);
			return COLLAPSED_ERROR;
		}
		if (count == 0)
			continue;

		/* no empty frame: not first, last, or between two ';' */
		for (size_t i = 0; i <= stack_len; i++)
		{
			bool		at_end = i == stack_len || p[i] == ';';
			bool		after_start = i == 0 || p[i - 1] == ';';

			if (at_end && after_start)
			{
				scan_fail(err, (size_t) (p + i - s->data), s->lineno,
						  "an empty frame");
				return COLLAPSED_ERROR;
			}
		}

		line->stack = p;
		line->stack_len = stack_len;
		line->count = count;
		line->lineno = s->lineno;
		return COLLAPSED_LINE;
	}
	return COLLAPSED_END;
}

/*
 * "function (file:line)": the last " (" opens it, the last ':' after that
 * ends a non-empty file, and the digits after it end just before the
 * closing ')'.
 */
static void
split_frame(const char *text, size_t len, CollapsedFrame *f)
{
	const char *open = NULL;
	const char *colon;
	int32_t		line;

	f->function = text;
	f->function_len = len;
	f->file = "";
	f->file_len = 0;
	f->line = 0;

	if (len < 5 || text[len - 1] != ')')
		return;
	for (size_t i = 0; i + 1 < len; i++)
		if (text[i] == ' ' && text[i + 1] == '(')
			open = text + i;
	if (open == NULL)
		return;
	colon = last_char(open, (size_t) (text + len - open), ':');
	if (colon == NULL || colon == open + 2)
		return;
	if (!parse_count(colon + 1, (size_t) (text + len - 1 - (colon + 1)), &line))
		return;
	f->function_len = (size_t) (open - text);
	f->file = open + 2;
	f->file_len = (size_t) (colon - (open + 2));
	f->line = line;
}

bool
collapsed_next_frame(const CollapsedLine *line, size_t *pos,
					 CollapsedFrame *frame)
{
	const char *p;
	const char *semi;
	size_t		len;

	if (*pos >= line->stack_len)
		return false;
	p = line->stack + *pos;
	semi = memchr(p, ';', line->stack_len - *pos);
	len = semi ? (size_t) (semi - p) : line->stack_len - *pos;
	*pos += semi ? len + 1 : len;
	split_frame(p, len, frame);
	return true;
}
