"""A real reader of Posture's export files: DuckDB's read_json over every part file.

usage: read_exports.py <listing.json>
<listing.json> is {"<ExportName>": ["/abs/path/part-...json.gz", ...], ...}.
Prints {"<ExportName>": {"rows": n, "files": n, "columns": {"name": "DUCKDB TYPE", ...},
"orgs": [...], "partition_mismatches": n}, ...}. DuckDB reads the `OrgId=` and
`_RbacGroupId=` path segments as hive partition columns; a mismatch is a record whose
group differs from its file's `_RbacGroupId=`.
"""
import json
import sys

import duckdb

listing = json.load(open(sys.argv[1]))
con = duckdb.connect()
result = {}
for name, files in listing.items():
    rel = con.sql(
        "SELECT * FROM read_json($files, format='newline_delimited', compression='gzip', sample_size=-1)",
        params={"files": files},
    )
    columns = dict(zip(rel.columns, [str(t) for t in rel.types]))
    rows = con.execute(
        "SELECT count(*) FROM read_json($files, format='newline_delimited', compression='gzip', sample_size=-1)",
        {"files": files},
    ).fetchone()[0]
    entry = {"rows": rows, "columns": columns, "files": len(files)}
    group = "RbacGroupId" if "RbacGroupId" in columns else "rbacGroupId"
    if "_RbacGroupId" in columns and "OrgId" in columns:
        entry["partition_mismatches"] = con.execute(
            f"SELECT count(*) FILTER (WHERE _RbacGroupId <> {group}) FROM read_json($files, "
            "format='newline_delimited', compression='gzip', sample_size=-1)",
            {"files": files},
        ).fetchone()[0]
        entry["orgs"] = [r[0] for r in con.execute(
            "SELECT DISTINCT OrgId FROM read_json($files, format='newline_delimited', "
            "compression='gzip', sample_size=-1)",
            {"files": files},
        ).fetchall()]
    result[name] = entry
print(json.dumps(result))
