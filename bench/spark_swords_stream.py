#!/usr/bin/env python
"""The course's write_swords_stream.py in local mode: Spark Structured Streaming reads the
topic (argv[2] on brokers argv[1]), keeps the purchase_sword events, and writes them to
argv[3] with a checkpoint, on a 1-second processing-time trigger. Two uses:

    spark_swords_stream.py BROKERS TOPIC OUT EXPECTED
        bench/follow.sh (catch-up): from the earliest offset, as Parquet; stops once the
        query has read EXPECTED records (the whole topic) and prints two numbers: seconds
        from the start of this script, and from the start of the query.
    spark_swords_stream.py BROKERS TOPIC OUT --live-delta
        bench/follow_live.sh (live latency): from the latest offset, as a Delta table
        (delta-spark; run under .venv-delta with its jars) at OUT/sword_purchases, with
        the X-Tag header as a column too; prints "ready" once the query has run its first
        micro-batch, then runs until SIGTERM or SIGINT.

The columns are the course's (raw_event, timestamp, Accept, Host, User-Agent, event_type).
"""
import signal
import sys
import threading
import time

t0 = time.perf_counter()
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql.functions import col, get_json_object  # noqa: E402


def swords(spark, brokers, topic, starting, extra=()):
    raw = spark.readStream.format("kafka") \
        .option("kafka.bootstrap.servers", brokers) \
        .option("subscribe", topic) \
        .option("startingOffsets", starting) \
        .load()
    events = raw.select(col("value").cast("string").alias("raw_event"), col("timestamp"))
    keys = ["Accept", "Host", "User-Agent", "event_type", *extra]
    return events \
        .filter(get_json_object("raw_event", "$.event_type") == "purchase_sword") \
        .select("raw_event", "timestamp", *(get_json_object("raw_event", f"$.{k}").alias(k) for k in keys))


def catch_up(brokers, topic, out, expected):
    spark = SparkSession.builder.master("local[2]").appName("WriteSwordsStream") \
        .config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    stream = swords(spark, brokers, topic, "earliest")
    t_query = time.perf_counter()
    query = stream.writeStream.format("parquet") \
        .option("checkpointLocation", out + "/_checkpoints_for_sword_purchases") \
        .option("path", out + "/sword_purchases") \
        .trigger(processingTime="1 second") \
        .start()
    seen = {}  # batchId -> numInputRows
    while sum(seen.values()) < expected:
        for p in query.recentProgress:
            seen[p["batchId"]] = p["numInputRows"]
        if query.exception() is not None:
            raise query.exception()
        time.sleep(0.05)
    t_done = time.perf_counter()
    query.stop()
    print(f"{t_done - t0:.2f} {t_done - t_query:.2f}")


def live_delta(brokers, topic, out):
    spark = SparkSession.builder.master("local[2]").appName("WriteSwordsStream") \
        .config("spark.ui.enabled", "false") \
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension") \
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog") \
        .config("spark.sql.shuffle.partitions", "2") \
        .config("spark.databricks.delta.snapshotPartitions", "2") \
        .getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    query = swords(spark, brokers, topic, "latest", ["X-Tag"]).writeStream.format("delta") \
        .option("checkpointLocation", out + "/_checkpoints_for_sword_purchases") \
        .trigger(processingTime="1 second") \
        .start(out + "/sword_purchases")
    while not query.recentProgress:
        if query.exception() is not None:
            raise query.exception()
        time.sleep(0.05)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    while not stop.wait(0.2):
        if query.exception() is not None:
            raise query.exception()
    query.stop()
    spark.stop()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[4] == "--live-delta":
        live_delta(*sys.argv[1:4])
    else:
        catch_up(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
