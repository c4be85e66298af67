"""Benchmark helper: DuckDB exporting the vulnerability rows from normalised tables.

usage: duckdb_copy.py <dir> <threads>
<dir> holds devices.ndjson, software.ndjson, findings.ndjson, paths.ndjson (dimension
tables) and rows.csv (device, finding, paths, first-seen seconds), written by the
Posture benchmark from a snapshot. Loading is not timed; only the COPY is.
Prints one JSON object: {"duckdb": version, "rows": n, "load_seconds": s, "copy_seconds": s, "bytes": n}.
"""
import json
import os
import sys
import time

import duckdb

d, threads = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute("SET preserve_insertion_order = false")
t0 = time.perf_counter()
for t in ("devices", "software", "findings", "paths"):
    con.execute(
        f"CREATE TABLE {t} AS SELECT * FROM read_json('{d}/{t}.ndjson', format='newline_delimited', sample_size=-1)"
    )
con.execute(
    f"CREATE TABLE rows AS SELECT * FROM read_csv('{d}/rows.csv', header=true, "
    "columns={'d': 'UINTEGER', 'f': 'UINTEGER', 'p': 'UINTEGER', 't': 'UBIGINT'})"
)
load = time.perf_counter() - t0
n = con.execute("SELECT count(*) FROM rows").fetchone()[0]
out = os.path.join(d, "duckdb-vulnerabilities.json.gz")
query = """
SELECT
  dv.deviceId || '_' || s.softwareName || '_' || s.softwareVersion || '_' || coalesce(f.cveId, '') || '_' AS id,
  dv.deviceId, dv.rbacGroupName, dv.deviceName, dv.osPlatform, dv.osVersion, dv.osArchitecture,
  s.softwareVendor, s.softwareName, s.softwareVersion,
  f.cveId, f.vulnerabilitySeverityLevel, f.recommendedSecurityUpdate,
  f.recommendedSecurityUpdateId, f.recommendedSecurityUpdateUrl,
  p.diskPaths, p.registryPaths,
  dv.lastSeenTimestamp,
  strftime(make_timestamp(r.t::BIGINT * 1000000), '%Y-%m-%d %H:%M:%S') AS firstSeenTimestamp,
  f.exploitabilityLevel, f.recommendationReference, f.securityUpdateAvailable, f.cvssScore,
  dv.rbacGroupId
FROM rows r
JOIN devices dv ON dv.d = r.d
JOIN findings f ON f.f = r.f
JOIN software s ON s.s = f.s
JOIN paths p ON p.p = r.p
"""
t0 = time.perf_counter()
con.execute(f"COPY ({query}) TO '{out}' (FORMAT JSON, COMPRESSION GZIP)")
copy = time.perf_counter() - t0
print(json.dumps({
    "duckdb": duckdb.__version__,
    "rows": n,
    "load_seconds": load,
    "copy_seconds": copy,
    "bytes": os.path.getsize(out),
}))
