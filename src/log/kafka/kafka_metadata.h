// One metadata request for one topic, as the producer's readiness probe and the
// readers' open both need it.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <vector>

namespace questlog::log::kafka {

struct TopicMetadata {
  // The request's error (no broker answered: __TRANSPORT or __TIMED_OUT), else
  // the topic's own (UNKNOWN_TOPIC_OR_PART, LEADER_NOT_AVAILABLE while it is
  // being created, ...).
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool topic_error = false;         // err is the topic's, not the request's
  std::vector<int32_t> partitions;  // sorted; empty unless err is none
};

// Asks for the metadata of the topic of `rkt`, waiting up to `timeout_ms`.
TopicMetadata topic_metadata(rd_kafka_t* rk, rd_kafka_topic_t* rkt, int timeout_ms);

}  // namespace questlog::log::kafka
