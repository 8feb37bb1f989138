"""What one rerun of the SQL page costs the server to send a shown table: peak resident growth while
Streamlit makes the Arrow bytes, the ForwardMsg, its hash's serialisation and the websocket's.
`catalog/sql_budget.py` counts `SHOWN_COPIES` copies of the head a page shows; this is its in-process part.

    python -m benchmarks.sql_display_cost            # a 16 MB table (the default byte limit)
    python -m benchmarks.sql_display_cost --mb 1     # the head the page shows
"""
from __future__ import annotations

import argparse
import gc

import pyarrow as pa
from streamlit import dataframe_util
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_cache import populate_hash_if_needed
from streamlit.runtime.runtime_util import serialize_forward_msg

ROWS = 10_000


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=16.0, help="the table's Arrow size in MB")
    args = parser.parse_args()
    table = pa.table({"s": ["x" * int(args.mb * 1e6 / ROWS - 4)] * ROWS})
    gc.collect()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets the peak (VmHWM) to the current resident set
    before = _status_mb("VmRSS")
    msg = ForwardMsg()
    msg.delta.new_element.dataframe.arrow_data.data = dataframe_util.convert_arrow_table_to_arrow_bytes(table)
    populate_hash_if_needed(msg)
    wire = serialize_forward_msg(msg)
    grown = _status_mb("VmHWM") - before
    print(f"table {table.nbytes / 1e6:.1f} MB; message {len(wire) / 1e6:.1f} MB; peak growth {grown:.0f} MB "
          f"({grown * 2**20 / table.nbytes:.1f} copies)")


if __name__ == "__main__":
    main()
