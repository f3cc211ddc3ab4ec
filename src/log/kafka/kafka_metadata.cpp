#include "log/kafka/kafka_metadata.h"

#include <algorithm>
#include <cstring>

namespace questlog::log::kafka {

TopicMetadata topic_metadata(rd_kafka_t* rk, rd_kafka_topic_t* rkt, int timeout_ms) {
  TopicMetadata out;
  const rd_kafka_metadata_t* md = nullptr;
  out.err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  if (out.err != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  const char* name = rd_kafka_topic_name(rkt);
  const rd_kafka_metadata_topic_t* t = nullptr;
  for (int i = 0; i < md->topic_cnt; ++i)
    if (std::strcmp(md->topics[i].topic, name) == 0) t = &md->topics[i];
  out.topic_error = true;
  out.err = t ? t->err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  if (out.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < t->partition_cnt; ++i) out.partitions.push_back(t->partitions[i].id);
    std::sort(out.partitions.begin(), out.partitions.end());
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

}  // namespace questlog::log::kafka
