// Topic administration for the Kafka integration tests (kcat cannot create topics):
//
//   kafka_admin BROKERS create TOPIC PARTITIONS [REPLICATION]
//     creates the topic; waits up to 30 s for the broker's answer.
//   kafka_admin BROKERS grow TOPIC PARTITIONS
//     adds partitions to TOPIC until it has PARTITIONS.
//   kafka_admin BROKERS delete-records TOPIC PARTITION OFFSET
//     deletes the records of PARTITION before OFFSET, as retention does: the
//     partition then starts at OFFSET.
//   kafka_admin BROKERS copy LOG_DIR TOPIC
//     produces every record of the embedded log partition LOG_DIR (DATA/<topic>/0)
//     to partition 0 of TOPIC, in order, each with its record's timestamp (kcat -P
//     cannot set one) and key (the event id, if it has one), then prints how many.
//
// Exit 0 on success; one line on stderr otherwise.
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "log/embedded/log_reader.h"
#include "log/kafka/kafka_config.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: kafka_admin BROKERS create TOPIC PARTITIONS [REPLICATION]\n"
               "       kafka_admin BROKERS grow TOPIC PARTITIONS\n"
               "       kafka_admin BROKERS delete-records TOPIC PARTITION OFFSET\n"
               "       kafka_admin BROKERS copy LOG_DIR TOPIC\n");
  return 2;
}

// A producer on `brokers` with `props` ("prop=value"); null after saying why.
rd_kafka_t* producer(const char* brokers, std::vector<std::string> props) {
  props.insert(props.begin(), std::string("bootstrap.servers=") + brokers);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (auto s = questlog::log::kafka::apply_properties(conf, props); !s.ok()) {
    std::fprintf(stderr, "kafka_admin: %s\n", s.message().c_str());
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "kafka_admin: %s\n", err);
    rd_kafka_conf_destroy(conf);
  }
  return rk;
}

// Runs one admin request, `send`, on a fresh producer and waits for its
// result; returns what `check` makes of the result event (0 when every part
// of it succeeded, else 1 after saying why), or 1 when there is no result.
template <typename Send, typename Check>
int admin(const char* brokers, rd_kafka_admin_op_t op, Send send, Check check) {
  rd_kafka_t* rk = producer(brokers, {});
  if (!rk) return 1;
  char err[512];
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, op);
  rd_kafka_AdminOptions_set_operation_timeout(opts, 30000, err, sizeof err);
  send(rk, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 35000);
  int rc = 1;
  if (!ev) {
    std::fprintf(stderr, "kafka_admin: no answer within 35 s\n");
  } else if (rd_kafka_event_error(ev)) {
    std::fprintf(stderr, "kafka_admin: %s\n", rd_kafka_event_error_string(ev));
  } else {
    rc = check(ev);
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return rc;
}

// A check for admin(): every topic result `topics_of` finds in the event.
template <typename Topics>
auto topic_results(Topics topics_of) {
  return [topics_of](rd_kafka_event_t* ev) {
    size_t n = 0;
    const rd_kafka_topic_result_t** res = topics_of(ev, &n);
    int rc = 0;
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_topic_result_error(res[i])) {
        std::fprintf(stderr, "kafka_admin: %s: %s\n", rd_kafka_topic_result_name(res[i]),
                     rd_kafka_topic_result_error_string(res[i]));
        rc = 1;
      }
    }
    return rc;
  };
}

int create(const char* brokers, const char* topic, int partitions, int replication) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic, partitions, replication, err, sizeof err);
  if (!nt) {
    std::fprintf(stderr, "kafka_admin: %s\n", err);
    return 1;
  }
  int rc = admin(
      brokers, RD_KAFKA_ADMIN_OP_CREATETOPICS,
      [&](rd_kafka_t* rk, rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
        rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
      },
      topic_results([](rd_kafka_event_t* ev, size_t* n) {
        return rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), n);
      }));
  rd_kafka_NewTopic_destroy(nt);
  return rc;
}

int grow(const char* brokers, const char* topic, int partitions) {
  char err[512];
  rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(topic, partitions, err, sizeof err);
  if (!np) {
    std::fprintf(stderr, "kafka_admin: %s\n", err);
    return 1;
  }
  int rc = admin(
      brokers, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS,
      [&](rd_kafka_t* rk, rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
        rd_kafka_CreatePartitions(rk, &np, 1, opts, q);
      },
      topic_results([](rd_kafka_event_t* ev, size_t* n) {
        return rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev),
                                                       n);
      }));
  rd_kafka_NewPartitions_destroy(np);
  return rc;
}

int delete_records(const char* brokers, const char* topic, int partition, int64_t offset) {
  rd_kafka_topic_partition_list_t* before = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(before, topic, partition)->offset = offset;
  rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(before);
  rd_kafka_topic_partition_list_destroy(before);
  int rc = admin(
      brokers, RD_KAFKA_ADMIN_OP_DELETERECORDS,
      [&](rd_kafka_t* rk, rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
        rd_kafka_DeleteRecords(rk, &del, 1, opts, q);
      },
      [](rd_kafka_event_t* ev) {
        const rd_kafka_topic_partition_list_t* done =
            rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
        int failed = 0;
        for (int i = 0; done && i < done->cnt; ++i) {
          if (done->elems[i].err) {
            std::fprintf(stderr, "kafka_admin: %s [%d]: %s\n", done->elems[i].topic,
                         done->elems[i].partition, rd_kafka_err2str(done->elems[i].err));
            failed = 1;
          }
        }
        return failed;
      });
  rd_kafka_DeleteRecords_destroy(del);
  return rc;
}

int copy(const char* brokers, const char* log_dir, const char* topic) {
  auto reader = questlog::log::embedded::LogReader::open(log_dir);
  if (!reader.ok()) {
    std::fprintf(stderr, "kafka_admin: %s\n", reader.status().message().c_str());
    return 1;
  }
  rd_kafka_t* rk = producer(brokers, {"linger.ms=20", "max.in.flight=1"});
  if (!rk) return 1;
  questlog::log::Record rec;
  long copied = 0;
  for (;;) {
    auto more = (*reader)->next(rec);
    if (!more.ok()) {
      std::fprintf(stderr, "kafka_admin: %s\n", more.status().message().c_str());
      return 1;
    }
    if (!*more) break;
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                RD_KAFKA_V_VALUE(const_cast<char*>(rec.value.data()), rec.value.size()),
                RD_KAFKA_V_KEY(rec.key.empty() ? nullptr : rec.key.data(), rec.key.size()),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(rec.timestamp_ms),
                RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 10);
    if (e) {
      std::fprintf(stderr, "kafka_admin: produce: %s\n", rd_kafka_err2str(e));
      return 1;
    }
    rd_kafka_poll(rk, 0);
    ++copied;
  }
  if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR || rd_kafka_outq_len(rk) > 0) {
    std::fprintf(stderr, "kafka_admin: %d messages not delivered within 30 s\n",
                 rd_kafka_outq_len(rk));
    return 1;
  }
  rd_kafka_destroy(rk);
  std::printf("%ld\n", copied);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[2]) == "copy") return copy(argv[1], argv[3], argv[4]);
  if (argc == 5 && std::string(argv[2]) == "grow" && std::atoi(argv[4]) > 0)
    return grow(argv[1], argv[3], std::atoi(argv[4]));
  if (argc == 6 && std::string(argv[2]) == "delete-records")
    return delete_records(argv[1], argv[3], std::atoi(argv[4]), std::atoll(argv[5]));
  if (argc < 5 || std::string(argv[2]) != "create") return usage();
  const int partitions = std::atoi(argv[4]);
  const int replication = argc > 5 ? std::atoi(argv[5]) : 1;
  if (partitions <= 0 || replication <= 0) return usage();
  return create(argv[1], argv[3], partitions, replication);
}
