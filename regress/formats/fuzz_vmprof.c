/*
 * fuzz_vmprof.c
 *	  libFuzzer target for the vmprof scanner (pg_mnemic/vmprof_scan.c):
 *	  every record, stack and symbol it returns lies inside the input, and
 *	  an error names a byte of it.
 */
#include "vmprof_scan.h"
#include "fuzz_check.h"
#include "listener/text.h"
#include "tracked_alloc.h"

#include <string.h>

static VmprofFrame frames[VMPROF_MAX_DEPTH];

static void
check_symbol(const VmprofRecord *rec)
{
	VmprofSymbol sym;
	char	   *repaired;

	vmprof_split_symbol(rec->text, rec->text_len, &sym);
	FUZZ_CHECK(fuzz_inside(sym.name, sym.name_len, rec->text, rec->text_len),
			   "a symbol's name outside its record");
	FUZZ_CHECK(sym.file_len == 0 ||
			   fuzz_inside(sym.file, sym.file_len, rec->text, rec->text_len),
			   "a symbol's file outside its record");
	FUZZ_CHECK(sym.line >= 0, "a negative first line");
	repaired = scan_utf8_repaired(&tracked_alloc, sym.name, sym.name_len);
	FUZZ_CHECK(repaired != NULL, "no memory for a name");
	FUZZ_CHECK(utf8_valid((const uint8_t *) repaired, strlen(repaired)),
			   "a repaired name is not UTF-8");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	VmprofScan	scan;
	VmprofRecord rec;
	VmprofStep	step;
	ScanError	err;

	if (!vmprof_scan_init(&scan, data, size, &err))
	{
		FUZZ_CHECK(err.message[0] != '\0' && err.offset <= size, "a bad header error");
		return 0;
	}
	FUZZ_CHECK(scan.period_us > 0, "a period of 0");
	while ((step = vmprof_next_record(&scan, &rec, &err)) == VMPROF_RECORD)
	{
		FUZZ_CHECK(rec.offset < size, "a record outside the input");
		switch (rec.kind)
		{
			case VMPROF_STACK:
				{
					size_t		n;

					FUZZ_CHECK(rec.depth <= VMPROF_MAX_DEPTH, "a stack too deep");
					FUZZ_CHECK(fuzz_inside(rec.entries, rec.depth * scan.addr_size, data, size),
							   "a stack outside the input");
					FUZZ_CHECK(rec.count >= 1, "a stack of no samples");
					if (vmprof_stack_frames(&scan, &rec, frames, &n, &err))
						FUZZ_CHECK(n <= rec.depth, "more frames than entries");
					else
						FUZZ_CHECK(err.offset < size, "a bad entry error");
					break;
				}
			case VMPROF_SYMBOL:
				FUZZ_CHECK(fuzz_inside(rec.text, rec.text_len, data, size),
						   "a symbol outside the input");
				check_symbol(&rec);
				break;
			case VMPROF_META:
				FUZZ_CHECK(fuzz_inside(rec.key, rec.key_len, data, size) &&
						   fuzz_inside(rec.text, rec.text_len, data, size),
						   "a meta record outside the input");
				break;
			case VMPROF_TIME:
				break;
		}
	}
	if (step == VMPROF_ERROR)
		FUZZ_CHECK(err.message[0] != '\0' && err.offset <= size, "a bad record error");
	tracked_free_all();
	return 0;
}
