/*
 * fuzz_collapsed.c
 *	  libFuzzer target for the collapsed stacks scanner
 *	  (pg_mnemic/collapsed_scan.c): every line and frame it returns lies
 *	  inside the input and keeps the promises of collapsed_scan.h.
 */
#include "collapsed_scan.h"
#include "fuzz_check.h"

#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	CollapsedScan scan;
	CollapsedLine line;
	CollapsedStep step;
	ScanError	err;
	int			last_line = 0;

	collapsed_scan_init(&scan, text, size);
	while ((step = collapsed_next_line(&scan, &line, &err)) == COLLAPSED_LINE)
	{
		CollapsedFrame frame;
		size_t		pos = 0;
		int			frames = 0;

		FUZZ_CHECK(line.count > 0, "a line counting 0 returned");
		FUZZ_CHECK(line.lineno > last_line, "line numbers go back");
		FUZZ_CHECK(line.stack_len > 0 && fuzz_inside(line.stack, line.stack_len, text, size),
				   "a stack outside the input");
		last_line = line.lineno;
		while (collapsed_next_frame(&line, &pos, &frame))
		{
			FUZZ_CHECK(fuzz_inside(frame.function, frame.function_len, line.stack, line.stack_len),
					   "a function outside its line");
			FUZZ_CHECK(frame.file_len == 0 ||
					   fuzz_inside(frame.file, frame.file_len, line.stack, line.stack_len),
					   "a file outside its line");
			FUZZ_CHECK(frame.line >= 0, "a negative line");
			FUZZ_CHECK(memchr(frame.function, ';', frame.function_len) == NULL,
					   "a frame holds a ';'");
			frames++;
		}
		FUZZ_CHECK(frames > 0, "a line without frames");
	}
	if (step == COLLAPSED_ERROR)
		FUZZ_CHECK(err.line > 0 && err.message[0] != '\0', "an error without line or message");
	return 0;
}
