// Topic administration for the Kafka integration tests (kcat cannot create topics):
//
//   kafka_admin BROKERS create TOPIC PARTITIONS [REPLICATION]
//
// Waits up to 30 s for the broker's answer; exit 0 once the topic exists.
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

int usage() {
  std::fprintf(stderr, "usage: kafka_admin BROKERS create TOPIC PARTITIONS [REPLICATION]\n");
  return 2;
}

int create(const char* brokers, const char* topic, int partitions, int replication) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "kafka_admin: %s\n", err);
    return 1;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "kafka_admin: %s\n", err);
    return 1;
  }
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic, partitions, replication, err, sizeof err);
  if (!nt) {
    std::fprintf(stderr, "kafka_admin: %s\n", err);
    return 1;
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, 30000, err, sizeof err);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 35000);
  int rc = 1;
  if (!ev) {
    std::fprintf(stderr, "kafka_admin: no answer within 35 s\n");
  } else if (rd_kafka_event_error(ev)) {
    std::fprintf(stderr, "kafka_admin: %s\n", rd_kafka_event_error_string(ev));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rc = 0;
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_topic_result_error(res[i])) {
        std::fprintf(stderr, "kafka_admin: %s: %s\n", rd_kafka_topic_result_name(res[i]),
                     rd_kafka_topic_result_error_string(res[i]));
        rc = 1;
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || std::string(argv[2]) != "create") return usage();
  const int partitions = std::atoi(argv[4]);
  const int replication = argc > 5 ? std::atoi(argv[5]) : 1;
  if (partitions <= 0 || replication <= 0) return usage();
  return create(argv[1], argv[3], partitions, replication);
}
