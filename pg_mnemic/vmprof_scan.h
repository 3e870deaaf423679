/*
 * vmprof_scan.h
 *	  The records of a vmprof .prof file, as vmprof (CPython and PyPy)
 *	  writes them, and the frames of a stack record.
 *
 * The layout, as vmprof-python's writer (src/vmprof_common.c, _vmprof.c,
 * vmp_stack.c, compat.c) and reader (vmprof/reader.py) have it: the file
 * starts with five native words [0, 3, 0, period in µs, 1 on 64-bit
 * Windows] (8-byte words on 64-bit Unix, 4-byte on 32-bit systems and on
 * Windows, where addresses still take 8), then records, each a marker byte
 * and fields packed without padding:
 *
 *	 0x05 header	 version (2 bytes, big-endian), mode byte (version 4 and
 *					 later: 1 memory, 2 lines, 4 native, 8 PyPy, 16 real
 *					 time), name length byte, interpreter name
 *	 0x06 start		 tv_sec, tv_usec (8 bytes each), 8 bytes of zone
 *	 0x07 meta		 key length word, key, value length word, value
 *	 0x01 stack		 count word, depth word, depth addresses innermost
 *					 first, thread (an address; version 1 and later),
 *					 resident memory in KiB (an address; memory mode)
 *	 0x02 code		 id (an address), length word, "py:name:line:file"
 *	 0x08 native	 the same, "n:name:line:file"
 *	 0x03 trailer	 from version 5, the end time as for 0x06; the end
 *	 0x04 name		 files older than the header record (vmprof 0.2): a
 *					 length byte and the interpreter's name
 *
 * In a stack, line mode puts the executing line before each code id; PyPy
 * writes (tag, value) pairs instead of bare ids.  There are no timestamps
 * per sample.  Only little-endian files exist (vmprof's reader refuses the
 * others).
 *
 * Plain C, no PostgreSQL headers (format_scan.h); nothing is allocated.
 */
#ifndef MNEMIC_VMPROF_SCAN_H
#define MNEMIC_VMPROF_SCAN_H

#include "format_scan.h"

/* Entries of one stack record at most (vmprof's reader allows 2^16). */
#define VMPROF_MAX_DEPTH	65536

/* Mode bits of the header record. */
#define VMPROF_MODE_MEMORY		0x01
#define VMPROF_MODE_LINES		0x02
#define VMPROF_MODE_NATIVE		0x04
#define VMPROF_MODE_PYPY		0x08
#define VMPROF_MODE_REAL_TIME	0x10

/* The newest header version known (6: vmprof 0.4.x). */
#define VMPROF_LAST_VERSION		6

typedef struct VmprofScan
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
	int			word_size;		/* 4 or 8 */
	int			addr_size;		/* 4 or 8 */
	int64_t		period_us;
	int			version;		/* 0 until a header record */
	int			mode;			/* VMPROF_MODE_* */
	const char *interp;			/* the interpreter's name, not terminated */
	size_t		interp_len;
	bool		seen_header;
	bool		old_layout;		/* a 0x04 name record: vmprof 0.2 */
	bool		ended;			/* after the trailer */
} VmprofScan;

typedef enum VmprofRecordKind
{
	VMPROF_STACK,
	VMPROF_SYMBOL,
	VMPROF_TIME,
	VMPROF_META
} VmprofRecordKind;

typedef struct VmprofRecord
{
	VmprofRecordKind kind;
	size_t		offset;			/* of its marker byte */

	/* VMPROF_STACK */
	int64_t		count;			/* samples it stands for, from 1 */
	size_t		depth;			/* entries, as written */
	const uint8_t *entries;		/* depth addresses */
	int64_t		thread;			/* 0 before version 1 */
	int64_t		rss_kb;			/* -1 unless memory mode */

	/* VMPROF_SYMBOL */
	int64_t		addr;
	bool		native;			/* a 0x08 record */
	const char *text;			/* not terminated, maybe not UTF-8 */
	size_t		text_len;

	/* VMPROF_TIME: the start (0x06) or the end (in the trailer) */
	bool		is_end;
	int64_t		unix_us;		/* µs since 1970 */

	/* VMPROF_META: key and value, as text and text_len */
	const char *key;
	size_t		key_len;
} VmprofRecord;

/* A frame of a stack, outermost first. */
typedef struct VmprofFrame
{
	int64_t		addr;			/* code id, or native address */
	bool		native;
	int32_t		line;			/* executing (line mode), 0 unknown */
} VmprofFrame;

/* A symbol record's text taken apart: "py:name:line:file". */
typedef struct VmprofSymbol
{
	bool		native;			/* language "n" */
	const char *name;
	size_t		name_len;
	const char *file;
	size_t		file_len;
	int32_t		line;			/* first line of the function, 0 unknown */
} VmprofSymbol;

typedef enum VmprofStep
{
	VMPROF_RECORD,
	VMPROF_END,
	VMPROF_ERROR
} VmprofStep;

/* Read the five words at the start; false with err when they are wrong. */
extern bool vmprof_scan_init(VmprofScan *s, const uint8_t *data, size_t len,
							 ScanError *err);

/*
 * The next record; header records are taken in (they set version, mode
 * and interp) and not returned.  VMPROF_END at the end of the file or after
 * the trailer.
 */
extern VmprofStep vmprof_next_record(VmprofScan *s, VmprofRecord *rec,
									 ScanError *err);

/*
 * The frames of a stack record, outermost first, into out (room for
 * rec->depth); *n is how many.  PyPy's assembler and marker entries are
 * left out, and so is a JIT entry just inside an entry of the same code
 * (one frame, as vmprof shows it).  False with err on an entry tag vmprof
 * does not write.
 */
extern bool vmprof_stack_frames(const VmprofScan *s, const VmprofRecord *rec,
								VmprofFrame *out, size_t *n, ScanError *err);

/* Take a symbol text apart; a text of another form is a name alone. */
extern void vmprof_split_symbol(const char *text, size_t len,
								VmprofSymbol *sym);

#endif							/* MNEMIC_VMPROF_SCAN_H */
