"""Spark with Delta Lake (delta-spark), driven by tests/integration/test_delta_spark.py.

Runs under the Delta venv's python (.venv-delta, `make venv-delta`: a pyspark that a
delta-spark release supports, which the test venv's pyspark is not), with Delta's jars
from scripts/delta-spark.sh:

    .venv-delta/bin/python tests/tools/delta_spark.py JARS LOCAL_DIR

It starts one local Spark session with Delta's SQL extension and catalog, prints
{"ready": {"spark": ..., "delta": ...}} and then answers one JSON command a line on
stdin with one JSON line on stdout; Spark's own output goes to stderr. A command that
fails answers {"error": "<the exception's first line>", "class": "<its class>"}.

  {"op": "read", "path": P, "version": N}      (version optional: versionAsOf)
      -> {"columns": [[name, type], ...], "rows": [[value, ...], ...]}
         timestamps as microseconds since the epoch, everything else as Spark gives it
  {"op": "count", "path": P, "where": SQL}     -> {"count": n}   (Spark's data skipping
                                                  uses the add actions' stats here)
  {"op": "append", "path": P, "columns": [[name, type], ...], "batches": [rows, ...],
   "merge_schema": bool}
      -> {"versions": [...]}: each batch of rows ([[value, ...], ...]) appended as one
         commit; types are string, long, double, boolean, timestamp (microseconds)
  {"op": "history", "path": P}                 -> {"versions": [[version, operation], ...]}
  {"op": "sql", "query": Q}                    -> {"rows": [[...], ...]}
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def main() -> int:
    jars, local_dir = sys.argv[1], sys.argv[2]
    import importlib.metadata

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("questlog-delta-tests")
        .config("spark.jars", jars)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        # Delta rebuilds a table's state in 50 partitions by default: tasks that
        # cost seconds each in local mode on two cores for logs of a few commits.
        .config("spark.databricks.delta.snapshotPartitions", "1")
        .config("spark.driver.memory", "1g")
        .config("spark.local.dir", local_dir)
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    from delta.tables import DeltaTable

    types = {"string": T.StringType(), "long": T.LongType(), "double": T.DoubleType(),
             "boolean": T.BooleanType(), "timestamp": T.TimestampType()}

    def reader(cmd):
        r = spark.read.format("delta")
        if cmd.get("version") is not None:
            r = r.option("versionAsOf", int(cmd["version"]))
        return r.load(cmd["path"])

    def read(cmd):
        df = reader(cmd)
        cols = [[f.name, f.dataType.typeName()] for f in df.schema.fields]
        sel = [F.unix_micros(F.col(f"`{n}`")).alias(n) if t == "timestamp" else F.col(f"`{n}`")
               for n, t in cols]
        rows = [list(r) for r in df.select(*sel).collect()]
        return {"columns": cols, "rows": rows}

    def count(cmd):
        return {"count": reader(cmd).where(cmd["where"]).count()}

    def append(cmd):
        cols = cmd["columns"]
        staged = T.StructType([T.StructField(n, T.LongType() if t == "timestamp" else types[t], True)
                               for n, t in cols])
        log = os.path.join(cmd["path"], "_delta_log")
        versions = []
        for rows in cmd["batches"]:
            df = spark.createDataFrame([tuple(r) for r in rows], schema=staged)
            df = df.select(*[F.timestamp_micros(F.col(f"`{n}`")).alias(n) if t == "timestamp"
                             else F.col(f"`{n}`") for n, t in cols])
            w = df.write.format("delta").mode("append")
            if cmd.get("merge_schema"):
                w = w.option("mergeSchema", "true")
            w.save(cmd["path"])
            versions.append(max(int(n[:20]) for n in os.listdir(log)
                                if len(n) == 25 and n.endswith(".json")))
        return {"versions": versions}

    def history(cmd):
        h = DeltaTable.forPath(spark, cmd["path"]).history().select("version", "operation")
        return {"versions": sorted([r["version"], r["operation"]] for r in h.collect())}

    def sql(cmd):
        return {"rows": [[str(v) for v in r] for r in spark.sql(cmd["query"]).collect()]}

    ops = {"read": read, "count": count, "append": append, "history": history, "sql": sql}

    def answer(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    answer({"ready": {"spark": spark.version, "delta": importlib.metadata.version("delta-spark")}})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            answer(ops[cmd["op"]](cmd))
        except Exception as e:  # the test decides whether an error is expected
            traceback.print_exc(file=sys.stderr)
            text = str(e).strip()
            answer({"error": text.splitlines()[0] if text else repr(e), "message": text,
                    "class": type(e).__name__})
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
