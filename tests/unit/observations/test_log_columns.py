"""Log pages build rows positionally: the selected columns must stay in `LogRow`'s order."""

from __future__ import annotations

from application.reads.rows import LogRow
from projections.logs_queries import LOG_COLUMNS


def test_log_columns_name_the_row_fields_in_order() -> None:
    """Each selected column (or its alias) is the `LogRow` field at the same place."""
    names = [column.split(" AS ")[-1].strip() for column in LOG_COLUMNS.split(",")]
    assert names == list(LogRow.__struct_fields__)
