"""An analyst's Python session against a ClickHouse HTTP endpoint, for tests of the kpi SQL door.

    analyst.py --url http://127.0.0.1:8123 --user analyst --password <token> < plan.json

The plan on stdin is a JSON list of steps:
    {"name": "...", "kind": "query" | "command" | "df", "sql": "...",
     "parameters": {...}?, "settings": {...}?}
`query` is client.query (rows), `command` is client.command, `df` is client.query_df (pandas).

stdout has one JSON line for connecting, named "connect" (the server version and time zone the
client read, or its error), then one per step, in order: {name, columns, types, rows} for a
query, {name, columns, dtypes, rows} for a data frame, {name, result} for a command, or
{name, error: {code, type, message}} where code is ClickHouse's exception code (null when the
failure was not the server's). Exit status: 0 when every line was written, 2 when connecting
failed, 1 on a bad plan.

`--option key=value` (repeatable) passes a get_client argument, the value read as JSON when it
parses (e.g. --option autogenerate_session_id=false --option compress=false).
"""

import argparse
import base64
import datetime
import decimal
import ipaddress
import json
import math
import re
import sys
import uuid
from urllib.parse import urlsplit

import clickhouse_connect
import pandas


def json_safe(value):
    """A value JSON can carry exactly: decimals and big integers as strings, dates as ISO text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        # Beyond 2^53 a JSON reader (JavaScript) would round it.
        return value if abs(value) <= 2**53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (decimal.Decimal, uuid.UUID, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, in data frames
        return json_safe(value.tolist())
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    return str(value)


def cell(value):
    """A data frame cell: pandas' missing markers (NaN, NaT, NA) become null."""
    if not hasattr(value, "__len__") and pandas.isna(value):
        return None
    return json_safe(value)


def error_of(err):
    """The ClickHouse exception code the client's message carries ("Code: 62."), with the message."""
    text = str(err)
    match = re.search(r"\bCode: (\d+)\.", text) or re.search(r"error code (\d+)", text)
    return {"code": int(match.group(1)) if match else None, "type": type(err).__name__, "message": text}


KINDS = ("query", "command", "df")


def run_step(client, step):
    kind, sql = step["kind"], step["sql"]
    options = {"parameters": step.get("parameters"), "settings": step.get("settings")}
    if kind == "query":
        result = client.query(sql, **options)
        return {
            "columns": list(result.column_names),
            "types": [t.name for t in result.column_types],
            "rows": json_safe(result.result_rows),
        }
    if kind == "command":
        result = client.command(sql, **options)
        # A statement without a result answers a QuerySummary; others their value (text, number, list).
        return {"result": json_safe(result.summary if hasattr(result, "summary") else result)}
    if kind == "df":
        frame = client.query_df(sql, **options)
        return {
            "columns": [str(c) for c in frame.columns],
            "dtypes": [str(t) for t in frame.dtypes],
            "rows": [[cell(v) for v in row] for row in frame.itertuples(index=False, name=None)],
        }
    raise AssertionError(kind)


def emit(line):
    print(json.dumps(line), flush=True)


def option(text):
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def main():
    parser = argparse.ArgumentParser(description="Run a JSON plan of queries through clickhouse-connect.")
    parser.add_argument("--url", required=True, help="http://host:port, optionally with a path (sent as proxy_path)")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--option", type=option, action="append", default=[], help="a get_client argument, key=value")
    args = parser.parse_args()

    plan = json.load(sys.stdin)
    if not isinstance(plan, list) or not all(isinstance(s, dict) and {"name", "sql"} <= s.keys() and s.get("kind") in KINDS for s in plan):
        print("the plan must be a JSON list of {name, kind: query|command|df, sql, parameters?, settings?}", file=sys.stderr)
        return 1

    url = urlsplit(args.url)
    try:
        client = clickhouse_connect.get_client(
            interface=url.scheme or "http",
            host=url.hostname,
            port=url.port or 8123,
            proxy_path=url.path.strip("/"),
            username=args.user,
            password=args.password,
            **dict(args.option),
        )
    except Exception as err:  # the first queries run while connecting: auth and version
        emit({"name": "connect", "error": error_of(err)})
        return 2
    emit({"name": "connect", "server_version": client.server_version, "timezone": str(client.server_tz)})

    with client:
        for step in plan:
            try:
                emit({"name": step["name"], **run_step(client, step)})
            except Exception as err:
                emit({"name": step["name"], "error": error_of(err)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
