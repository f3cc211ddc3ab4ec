#!/usr/bin/env python
"""The seed's separate_events.py, unchanged but for its source (and where its UDF is made): the seed reads
Kafka (startingOffsets=earliest, endingOffsets=latest); here the same events
come from a JSON-lines file (argv[1]) so local-mode PySpark can run it with no
broker. Tables are written under argv[2]. The munge UDF, the Row(**event)
extraction, the filters and the overwrite writes are the seed's."""
import json
import os
import sys

from pyspark.sql import Row, SparkSession
from pyspark.sql.functions import lit, udf


def munge_event(event_as_json):
    event = json.loads(event_as_json)
    event['Host'] = "moe"
    event['Cache-Control'] = "no-cache"
    return json.dumps(event)


def main():
    events_path, out = sys.argv[1], sys.argv[2]
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers use this venv too
    spark = SparkSession.builder.master("local[1]").appName("ExtractEventsJob") \
        .config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # The seed decorates munge_event with @udf('string') at import; Spark 4 wants
    # a session first, so it is wrapped here instead.
    munge = udf(munge_event, 'string')

    raw_events = spark.read.text(events_path).withColumnRenamed("value", "raw") \
        .withColumn("timestamp", lit("2026-01-01 00:00:00.000"))

    munged_events = raw_events.withColumn('munged', munge('raw'))

    extracted_events = munged_events \
        .rdd \
        .map(lambda r: Row(timestamp=r.timestamp, **json.loads(r.munged))) \
        .toDF()

    sword_purchases = extracted_events \
        .filter(extracted_events.event_type == 'purchase_sword')
    sword_purchases.write.mode("overwrite").parquet(out + "/sword_purchases")

    default_hits = extracted_events \
        .filter(extracted_events.event_type == 'default')
    default_hits.write.mode("overwrite").parquet(out + "/default_hits")
    spark.stop()


if __name__ == "__main__":
    main()
