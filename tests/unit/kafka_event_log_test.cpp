// The Kafka event log's behaviour when there is no broker: refused at once, never
// queued, and closed promptly. (With a broker: tests/integration/test_kafka_serve.py.)
#include "log/kafka/kafka_event_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string_view>
#include <vector>

namespace questlog::log::kafka {
namespace {

ProducerOptions nowhere() {
  ProducerOptions o;
  o.brokers = "127.0.0.1:1";  // nothing listens on port 1
  o.topic = "events";
  o.readiness_poll_ms = 50;
  return o;
}

TEST(KafkaEventLog, RefusesABadPropertyWithLibrdkafkasReason) {
  ProducerOptions o = nowhere();
  o.props = {"linger.ms=soon"};
  auto log = KafkaEventLog::open(o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Errc::invalid_argument);
  EXPECT_NE(log.status().message().find("-X linger.ms=soon: "), std::string::npos)
      << log.status().message();
}

TEST(KafkaEventLog, UnreachableBrokerAnswersBusyAtOnceForEveryEvent) {
  auto log = KafkaEventLog::open(nowhere());
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_FALSE((*log)->wait_ready(300));

  std::vector<std::string_view> events{"{\"a\":1}", "{\"b\":2}"};
  bool called = false;
  (*log)->append(events, [&](const Outcome& out) {
    called = true;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(out.of(i).code(), Errc::busy);
      EXPECT_NE(out.of(i).message().find("Kafka is not reachable at 127.0.0.1:1"),
                std::string::npos)
          << out.of(i).message();
    }
  });
  EXPECT_TRUE(called) << "a refused append is answered before append returns";

  const auto began = std::chrono::steady_clock::now();
  EXPECT_TRUE((*log)->close().ok()) << "nothing was queued, so nothing is left undelivered";
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5));

  called = false;
  (*log)->append(events, [&](const Outcome& out) {
    called = true;
    EXPECT_EQ(out.status.code(), Errc::busy);
  });
  EXPECT_TRUE(called);
}

TEST(OutcomeTest, PerEventFailuresLeaveTheOthersAcknowledged) {
  Outcome all(Status::error(Errc::busy, "down"));
  EXPECT_FALSE(all.of(0).ok());
  EXPECT_FALSE(all.of(7).ok());

  Outcome some(Status::error(Errc::busy, "queue full"));
  some.failed = {0, 1, 0};
  EXPECT_TRUE(some.of(0).ok());
  EXPECT_EQ(some.of(1).message(), "queue full");
  EXPECT_TRUE(some.of(2).ok());
}

}  // namespace
}  // namespace questlog::log::kafka
