#!/usr/bin/env python
"""The course's write_swords_stream.py in local mode, for bench/follow.sh: Spark
Structured Streaming reads the topic (argv[2] on brokers argv[1]) from the
earliest offset, keeps the purchase_sword events, and writes them as Parquet to
argv[3] with a checkpoint, on a 1-second processing-time trigger. It stops once
the query has read argv[4] records (the whole topic) and prints two numbers:
seconds from the start of this script, and from the start of the query."""
import sys
import time

t0 = time.perf_counter()
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql.functions import col, get_json_object  # noqa: E402


def main():
    brokers, topic, out, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    spark = SparkSession.builder.master("local[2]").appName("WriteSwordsStream") \
        .config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    raw = spark.readStream.format("kafka") \
        .option("kafka.bootstrap.servers", brokers) \
        .option("subscribe", topic) \
        .option("startingOffsets", "earliest") \
        .load()
    events = raw.select(col("value").cast("string").alias("raw_event"), col("timestamp"))
    swords = events \
        .filter(get_json_object("raw_event", "$.event_type") == "purchase_sword") \
        .select("raw_event", "timestamp",
                get_json_object("raw_event", "$.Accept").alias("Accept"),
                get_json_object("raw_event", "$.Host").alias("Host"),
                get_json_object("raw_event", "$.User-Agent").alias("User-Agent"),
                get_json_object("raw_event", "$.event_type").alias("event_type"))
    t_query = time.perf_counter()
    query = swords.writeStream.format("parquet") \
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


if __name__ == "__main__":
    main()
