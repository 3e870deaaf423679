/*
 * csv.h
 *	  A run as CSV, streamed: /api/runs/{uuid}.csv and dolon's
 *	  /tracing_data_handler_as_csv both send it.
 */
#ifndef MNEMIC_WEB_CSV_H
#define MNEMIC_WEB_CSV_H

#include "http.h"

/*
 * Send mnemic.export_csv() of run uuid as the download mnemic-{uuid}.csv,
 * line by line, so a long run never sits whole in memory.
 */
extern int	csv_send_run(Request *req, const char *uuid);

#endif							/* MNEMIC_WEB_CSV_H */
