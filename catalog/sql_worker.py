"""`python -m catalog.sql_worker`: runs one user query in its own process, for catalog.sql_process.

A separate process is the only hard stop for what DuckDB cannot interrupt (a runaway scalar function
such as `repeat('x', 3000000000)`): its address space is capped with RLIMIT_AS, the size of files it may
write with RLIMIT_FSIZE, and the parent kills it at the time limit. Protocol: argv names a JSON request file
({catalog, sql, limits, out}); `ready` on stdout once started; then the result goes to `out` as an Arrow
IPC stream, and one JSON line ({"cut": ...} or {"error": ...}) to stdout.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa

from catalog.reader import open_catalog
from catalog.sql import explain, run_capped
from catalog.sql_limits import SqlLimits
from core.errors import LayerScopeError

MB = 1024 * 1024
HEADROOM_MB = 128  # above DuckDB's own memory_limit: Arrow batches, strings DuckDB does not track


def _address_space_now() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def limit_process(limits: SqlLimits) -> None:
    """Cap this process: address space (memory), written file size (the result file), no core dumps."""
    memory = _address_space_now() + (limits.memory_mb + HEADROOM_MB) * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    written = 2 * limits.max_bytes + 64 * MB  # the result file is the only file it may write
    resource.setrlimit(resource.RLIMIT_FSIZE, (written, written))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    pa.set_cpu_count(limits.threads)
    pa.set_io_thread_count(limits.threads)


def serve(request: dict, out: BinaryIO) -> dict:
    limits = SqlLimits(**request["limits"])
    try:
        catalog = Path(request["catalog"]).resolve()
        try:
            os.chdir(catalog.parent)
        except OSError:
            raise LayerScopeError(f"the catalog {catalog.name} cannot be opened") from None
        con = open_catalog(catalog, memory_mb=limits.memory_mb, threads=limits.threads, relative=True)
        limit_process(limits)
        result = run_capped(con, request["sql"], limits, public=bool(request.get("public")))
        with pa.ipc.new_stream(out, result.table.schema) as writer:
            writer.write_table(result.table)
        out.flush()
        return {"cut": result.cut}
    except (LayerScopeError, duckdb.Error, MemoryError) as exc:  # the query's own fault: a message, no traceback
        return {"error": str(explain(exc, limits))}
    except BaseException as exc:  # anything else is a bug: a short message, the traceback to stderr (the log)
        traceback.print_exc(file=sys.stderr)
        return {"error": str(explain(exc, limits))}


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything a library prints (e.g. a progress bar) goes to the log, not into the protocol
    print("ready", file=protocol, flush=True)
    request = json.load(sys.stdin)
    with os.fdopen(int(sys.argv[1]), "wb") as out:
        print(json.dumps(serve(request, out)), file=protocol, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
