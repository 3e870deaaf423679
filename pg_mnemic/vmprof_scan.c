/*
 * vmprof_scan.c
 *	  Records and stacks of vmprof .prof files (vmprof_scan.h).
 *
 * Written from the layout vmprof-python's reader and writer give; no code
 * of theirs.  Plain C, no PostgreSQL headers.
 */
#include "vmprof_scan.h"

#include <string.h>

#define MARKER_STACK		0x01
#define MARKER_CODE			0x02
#define MARKER_TRAILER		0x03
#define MARKER_INTERP_NAME	0x04	/* before the header record (vmprof 0.2) */
#define MARKER_HEADER		0x05
#define MARKER_TIME			0x06
#define MARKER_META			0x07
#define MARKER_NATIVE		0x08

/* Entry tags of PyPy's stacks (vmprof/reader.py) */
#define TAG_CODE			1
#define TAG_BLACKHOLE		2
#define TAG_JITTED			3
#define TAG_JITTING			4
#define TAG_GC				5
#define TAG_ASSEMBLER		6
#define TAG_NATIVE			7

/* tv_sec, tv_usec and 8 bytes of zone */
#define TIME_BYTES			24

/* Header versions that add fields */
#define VERSION_THREAD_ID	1
#define VERSION_MEMORY		3
#define VERSION_MODE_AWARE	4
#define VERSION_DURATION	5

static bool
has(const VmprofScan *s, size_t n)
{
	return s->len - s->pos >= n;
}

/* A signed little-endian integer of size 4 or 8 at p. */
static int64_t
signed_at(const uint8_t *p, int size)
{
	if (size == 4)
		return (int64_t) (int32_t) scan_le32(p);
	return (int64_t) scan_le64(p);
}

/* Read a word or an address; false when the file ends first. */
static bool
take(VmprofScan *s, int size, int64_t *v)
{
	if (!has(s, (size_t) size))
		return false;
	*v = signed_at(s->data + s->pos, size);
	s->pos += (size_t) size;
	return true;
}

static bool
cut_short(VmprofScan *s, size_t record, ScanError *err)
{
	return scan_fail(err, s->len, 0,
					 "the file ends inside the record that starts at byte %zu",
					 record);
}

bool
vmprof_scan_init(VmprofScan *s, const uint8_t *data, size_t len,
				 ScanError *err)
{
	int64_t		w[5];

	memset(s, 0, sizeof(*s));
	s->data = data;
	s->len = len;

	/* the second word, 3, tells the word size */
	if (len >= 8 && data[4] == 3)
		s->word_size = 4;
	else if (len >= 16 && data[8] == 3)
		s->word_size = 8;
	else if ((len >= 8 && data[7] == 3) || (len >= 16 && data[15] == 3))
		return scan_fail(err, 0, 0,
						 "a big-endian vmprof file, which vmprof does not read either");
	else
		return scan_fail(err, 0, 0, "not a vmprof file: no header of five words");
	s->addr_size = s->word_size;

	for (int i = 0; i < 5; i++)
		if (!take(s, s->word_size, &w[i]))
			return scan_fail(err, len, 0, "not a vmprof file: the header is cut short");
	if (w[0] != 0 || w[1] != 3 || w[2] != 0 || (w[4] != 0 && w[4] != 1))
		return scan_fail(err, 0, 0,
						 "not a vmprof file: the header words are not 0, 3, 0, period, 0 or 1");
	if (w[3] <= 0 || w[3] > INT32_MAX)
		return scan_fail(err, 3 * (size_t) s->word_size, 0,
						 "the sampling period is %lld µs", (long long) w[3]);
	s->period_us = w[3];
	/* 64-bit Windows: 4-byte words, 8-byte addresses */
	if (w[4] == 1 && s->word_size == 4)
		s->addr_size = 8;
	return true;
}

static bool
read_header(VmprofScan *s, size_t record, ScanError *err)
{
	const uint8_t *p = s->data + s->pos;
	int			version;
	size_t		n = 2;
	size_t		name_len;

	if (s->seen_header)
		return scan_fail(err, record, 0, "a second header record");
	if (!has(s, 3))
		return cut_short(s, record, err);
	version = (int16_t) (p[0] << 8 | p[1]);
	if (version < 0 || version > VMPROF_LAST_VERSION)
		return scan_fail(err, record + 1, 0,
						 "header version %d (this reader knows 0 to %d)",
						 version, VMPROF_LAST_VERSION);
	if (version >= VERSION_MODE_AWARE)
		s->mode = p[n++];
	else
		s->mode = version == VERSION_MEMORY ? VMPROF_MODE_MEMORY : 0;
	if (!has(s, n + 1))
		return cut_short(s, record, err);
	name_len = p[n++];
	if (!has(s, n + name_len))
		return cut_short(s, record, err);
	s->interp = (const char *) p + n;
	s->interp_len = name_len;
	if (name_len == 4 && memcmp(s->interp, "pypy", 4) == 0)
		s->mode |= VMPROF_MODE_PYPY;
	s->version = version;
	s->seen_header = true;
	s->pos += n + name_len;
	return true;
}

/*
 * The name record of files older than the header record: a length byte and
 * the name.  Those files have version 0 and bare code ids, from PyPy too.
 */
static bool
read_interp_name(VmprofScan *s, size_t record, ScanError *err)
{
	size_t		name_len;

	if (!has(s, 1) || !has(s, 1 + (size_t) s->data[s->pos]))
		return cut_short(s, record, err);
	name_len = s->data[s->pos];
	s->interp = (const char *) s->data + s->pos + 1;
	s->interp_len = name_len;
	s->old_layout = true;
	s->pos += 1 + name_len;
	return true;
}

/* A start or end time: seconds and µs since 1970, then a zone we skip. */
static bool
read_time(VmprofScan *s, size_t record, VmprofRecord *rec, ScanError *err)
{
	int64_t		sec;
	int64_t		usec;

	if (!has(s, TIME_BYTES))
		return cut_short(s, record, err);
	sec = signed_at(s->data + s->pos, 8);
	usec = signed_at(s->data + s->pos + 8, 8);
	/* anything within ±285,000 years fits in µs */
	if (usec < 0 || usec >= 1000000 ||
		sec < -INT64_C(9000000000000) || sec > INT64_C(9000000000000))
		return scan_fail(err, record + 1, 0, "a time of %lld s %lld µs",
						 (long long) sec, (long long) usec);
	rec->kind = VMPROF_TIME;
	rec->unix_us = sec * 1000000 + usec;
	s->pos += TIME_BYTES;
	return true;
}

/* A length word and that many bytes. */
static bool
read_text(VmprofScan *s, size_t record, const char **text, size_t *len,
		  ScanError *err)
{
	int64_t		n;

	if (!take(s, s->word_size, &n))
		return cut_short(s, record, err);
	if (n < 0 || !has(s, (size_t) n))
	{
		if (n >= 0)
			return cut_short(s, record, err);
		return scan_fail(err, s->pos - (size_t) s->word_size, 0,
						 "a text of %lld bytes", (long long) n);
	}
	*text = (const char *) s->data + s->pos;
	*len = (size_t) n;
	s->pos += (size_t) n;
	return true;
}

static bool
read_stack(VmprofScan *s, size_t record, VmprofRecord *rec, ScanError *err)
{
	int64_t		count;
	int64_t		depth;

	if (!take(s, s->word_size, &count) || !take(s, s->word_size, &depth))
		return cut_short(s, record, err);
	if (count < 1 || count > INT32_MAX)
		return scan_fail(err, record + 1, 0,
						 "a stack record counting %lld samples", (long long) count);
	if (depth < 0 || depth > VMPROF_MAX_DEPTH)
		return scan_fail(err, record + 1 + (size_t) s->word_size, 0,
						 "a stack of %lld entries (at most %d)",
						 (long long) depth, VMPROF_MAX_DEPTH);
	if ((s->mode & (VMPROF_MODE_LINES | VMPROF_MODE_PYPY)) && depth % 2 != 0)
		return scan_fail(err, record + 1 + (size_t) s->word_size, 0,
						 "a stack of %lld entries where they come in pairs",
						 (long long) depth);
	if (!has(s, (size_t) depth * (size_t) s->addr_size))
		return cut_short(s, record, err);
	rec->kind = VMPROF_STACK;
	rec->count = count;
	rec->depth = (size_t) depth;
	rec->entries = s->data + s->pos;
	s->pos += (size_t) depth * (size_t) s->addr_size;
	rec->thread = 0;
	rec->rss_kb = -1;
	if (s->version >= VERSION_THREAD_ID &&
		!take(s, s->addr_size, &rec->thread))
		return cut_short(s, record, err);
	if ((s->mode & VMPROF_MODE_MEMORY) && !take(s, s->addr_size, &rec->rss_kb))
		return cut_short(s, record, err);
	return true;
}

VmprofStep
vmprof_next_record(VmprofScan *s, VmprofRecord *rec, ScanError *err)
{
	while (!s->ended && s->pos < s->len)
	{
		size_t		record = s->pos;
		uint8_t		marker = s->data[s->pos++];
		bool		ok;

		memset(rec, 0, sizeof(*rec));
		rec->offset = record;
		switch (marker)
		{
			case MARKER_HEADER:
				if (!read_header(s, record, err))
					return VMPROF_ERROR;
				continue;
			case MARKER_STACK:
				ok = read_stack(s, record, rec, err);
				break;
			case MARKER_CODE:
			case MARKER_NATIVE:
				rec->kind = VMPROF_SYMBOL;
				rec->native = marker == MARKER_NATIVE;
				ok = take(s, s->addr_size, &rec->addr) ?
					read_text(s, record, &rec->text, &rec->text_len, err) :
					cut_short(s, record, err);
				break;
			case MARKER_TIME:
				ok = read_time(s, record, rec, err);
				break;
			case MARKER_META:
				rec->kind = VMPROF_META;
				ok = read_text(s, record, &rec->key, &rec->key_len, err) &&
					read_text(s, record, &rec->text, &rec->text_len, err);
				break;
			case MARKER_TRAILER:
				s->ended = true;
				if (s->version < VERSION_DURATION)
					return VMPROF_END;
				ok = read_time(s, record, rec, err);
				rec->is_end = true;
				break;
			case MARKER_INTERP_NAME:
				if (!read_interp_name(s, record, err))
					return VMPROF_ERROR;
				continue;
			default:
				scan_fail(err, record, 0, "unknown record 0x%02x", marker);
				return VMPROF_ERROR;
		}
		return ok ? VMPROF_RECORD : VMPROF_ERROR;
	}
	return VMPROF_END;
}

/*
 * Add a frame, outermost first, unless it is a JIT entry repeating the
 * frame before it: PyPy writes the JIT's entries for a frame just inside
 * the interpreter's entry of the same code.
 */
static void
add_frame(VmprofFrame *out, size_t *n, int64_t addr, bool native,
		  int32_t line, bool jitted)
{
	if (jitted && *n > 0 && out[*n - 1].addr == addr && !out[*n - 1].native)
		return;
	out[*n].addr = addr;
	out[*n].native = native;
	out[*n].line = line;
	(*n)++;
}

bool
vmprof_stack_frames(const VmprofScan *s, const VmprofRecord *rec,
					VmprofFrame *out, size_t *n, ScanError *err)
{
	const uint8_t *e = rec->entries;
	int			size = s->addr_size;

	*n = 0;
	if (s->mode & VMPROF_MODE_PYPY)
	{
		/* (tag, value) pairs, innermost first */
		for (size_t i = rec->depth; i >= 2; i -= 2)
		{
			int64_t		tag = signed_at(e + (i - 2) * size, size);
			int64_t		value = signed_at(e + (i - 1) * size, size);

			switch (tag)
			{
				case TAG_CODE:
				case TAG_JITTED:
					add_frame(out, n, value, false, 0, tag == TAG_JITTED);
					break;
				case TAG_NATIVE:
					add_frame(out, n, value, true, 0, false);
					break;
				case TAG_BLACKHOLE:
				case TAG_JITTING:
				case TAG_GC:
				case TAG_ASSEMBLER:
					break;		/* where PyPy was, not a frame */
				default:
					return scan_fail(err, (size_t) (e - s->data) + (i - 2) * size, 0,
									 "a stack entry tagged %lld", (long long) tag);
			}
		}
	}
	else if (s->mode & VMPROF_MODE_LINES)
	{
		/* (line, code) pairs, innermost first; 0 for native frames */
		for (size_t i = rec->depth; i >= 2; i -= 2)
		{
			int64_t		line = signed_at(e + (i - 2) * size, size);
			int64_t		addr = signed_at(e + (i - 1) * size, size);

			if (line < 0 || line > INT32_MAX)
				line = 0;
			add_frame(out, n, addr, addr > 0 && (addr & 1), (int32_t) line,
					  false);
		}
	}
	else
	{
		/* code ids, innermost first; odd addresses are native code */
		for (size_t i = rec->depth; i >= 1; i--)
		{
			int64_t		addr = signed_at(e + (i - 1) * size, size);

			out[*n].addr = addr;
			out[*n].native = addr > 0 && (addr & 1);
			out[*n].line = 0;
			(*n)++;
		}
	}
	return true;
}

void
vmprof_split_symbol(const char *text, size_t len, VmprofSymbol *sym)
{
	const char *colon = memchr(text, ':', len);

	sym->native = false;
	sym->name = text;
	sym->name_len = len;
	sym->file = "";
	sym->file_len = 0;
	sym->line = 0;
	if (colon == NULL)
		return;
	sym->native = colon - text == 1 && text[0] == 'n';

	/*
	 * "name:line:file": the first ":digits:" after the language ends the
	 * name, as C++ names hold "::" but no digits between colons.
	 */
	for (const char *p = colon + 1; p < text + len; p++)
	{
		const char *q = p + 1;
		int64_t		line = 0;

		if (*p != ':')
			continue;
		while (q < text + len && *q >= '0' && *q <= '9' && line <= INT32_MAX)
			line = line * 10 + (*q++ - '0');
		if (q == p + 1 || q >= text + len || *q != ':' || line > INT32_MAX)
			continue;
		sym->name = colon + 1;
		sym->name_len = (size_t) (p - (colon + 1));
		sym->line = (int32_t) line;
		sym->file = q + 1;
		sym->file_len = (size_t) (text + len - (q + 1));
		return;
	}
	sym->name = colon + 1;
	sym->name_len = (size_t) (text + len - (colon + 1));
}
