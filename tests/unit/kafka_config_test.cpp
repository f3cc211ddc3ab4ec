#include "log/kafka/kafka_config.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace questlog::log::kafka {
namespace {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

std::string get(rd_kafka_conf_t* conf, const char* name) {
  char buf[512];
  size_t size = sizeof buf;
  if (rd_kafka_conf_get(conf, name, buf, &size) != RD_KAFKA_CONF_OK) return "<unset>";
  return buf;
}

TEST(KafkaConfigTest, AppliesPropertiesInOrderLaterOnesWin) {
  Conf conf(rd_kafka_conf_new());
  ASSERT_TRUE(apply_properties(conf.get(), {"client.id=a", "linger.ms=7", "client.id=b"}).ok());
  EXPECT_EQ(get(conf.get(), "client.id"), "b");
  EXPECT_EQ(get(conf.get(), "linger.ms"), "7");
}

TEST(KafkaConfigTest, ValueMayContainEquals) {
  Conf conf(rd_kafka_conf_new());
  ASSERT_TRUE(apply_properties(conf.get(), {"client.id=x=y"}).ok());
  EXPECT_EQ(get(conf.get(), "client.id"), "x=y");
}

TEST(KafkaConfigTest, EmptyValueIsAllowed) {
  Conf conf(rd_kafka_conf_new());
  EXPECT_TRUE(apply_properties(conf.get(), {"client.id="}).ok());
}

TEST(KafkaConfigTest, MissingEqualsIsAnError) {
  Conf conf(rd_kafka_conf_new());
  Status s = apply_properties(conf.get(), {"linger.ms"});
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_EQ(s.message(), "-X linger.ms: expected prop=value");
}

TEST(KafkaConfigTest, EmptyNameIsAnError) {
  Conf conf(rd_kafka_conf_new());
  EXPECT_EQ(apply_properties(conf.get(), {"=5"}).message(), "-X =5: expected prop=value");
}

TEST(KafkaConfigTest, UnknownPropertyReportsLibrdkafkasReason) {
  Conf conf(rd_kafka_conf_new());
  Status s = apply_properties(conf.get(), {"client.id=ok", "no.such.prop=1", "linger.ms=3"});
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_EQ(s.message().rfind("-X no.such.prop=1: ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("No such configuration property"), std::string::npos) << s.message();
  EXPECT_EQ(get(conf.get(), "client.id"), "ok");  // applied before the bad one
  EXPECT_NE(get(conf.get(), "linger.ms"), "3");   // never reached
}

TEST(KafkaConfigTest, BadValueReportsLibrdkafkasReason) {
  Conf conf(rd_kafka_conf_new());
  Status s = apply_properties(conf.get(), {"linger.ms=soon"});
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_EQ(s.message().rfind("-X linger.ms=soon: ", 0), 0u) << s.message();
  EXPECT_GT(s.message().size(), std::string("-X linger.ms=soon: ").size());
}

// serve's defaults, then the user's -X, as KafkaEventLog applies them.
Conf producer_conf(const std::vector<std::string>& props) {
  Conf conf(rd_kafka_conf_new());
  EXPECT_TRUE(apply_properties(conf.get(),
                               {"acks=all", "enable.idempotence=true", "message.timeout.ms=10000"})
                  .ok());
  EXPECT_TRUE(apply_properties(conf.get(), props).ok());
  return conf;
}

TEST(KafkaConfigTest, ServesDefaultsPassTheProducerCheckSilently) {
  ProducerCheck check = check_producer(producer_conf({}).get(), false);
  EXPECT_TRUE(check.refusal.ok()) << check.refusal.message();
  EXPECT_TRUE(check.warnings.empty());
}

TEST(KafkaConfigTest, AcksOtherThanAllIsRefusedNamingTheProperty) {
  for (const char* acks : {"acks=0", "acks=1", "request.required.acks=1"}) {
    ProducerCheck check = check_producer(producer_conf({acks}).get(), false);
    EXPECT_EQ(check.refusal.code(), Errc::invalid_argument) << acks;
    EXPECT_EQ(check.refusal.message().rfind("-X acks=", 0), 0u) << check.refusal.message();
    EXPECT_NE(check.refusal.message().find("--unsafe-producer"), std::string::npos);
  }
  EXPECT_TRUE(check_producer(producer_conf({"acks=-1"}).get(), false).refusal.ok());
}

TEST(KafkaConfigTest, NoMessageTimeoutIsRefused) {
  for (const char* timeout : {"message.timeout.ms=0", "delivery.timeout.ms=0"}) {
    ProducerCheck check = check_producer(producer_conf({timeout}).get(), false);
    EXPECT_EQ(check.refusal.message().rfind("-X message.timeout.ms=0: ", 0), 0u)
        << check.refusal.message();
  }
}

TEST(KafkaConfigTest, IdempotenceOffIsAWarningAboutDuplicates) {
  ProducerCheck check = check_producer(producer_conf({"enable.idempotence=false"}).get(), false);
  EXPECT_TRUE(check.refusal.ok());
  ASSERT_EQ(check.warnings.size(), 1u);
  EXPECT_NE(check.warnings[0].find("twice"), std::string::npos) << check.warnings[0];
  // Without retries nothing is sent twice.
  EXPECT_TRUE(check_producer(producer_conf({"enable.idempotence=false", "retries=0"}).get(), false)
                  .warnings.empty());
}

TEST(KafkaConfigTest, UnsafeTurnsEveryRefusalIntoAWarning) {
  ProducerCheck check = check_producer(
      producer_conf({"acks=0", "enable.idempotence=false", "message.timeout.ms=0"}).get(), true);
  EXPECT_TRUE(check.refusal.ok());
  EXPECT_EQ(check.warnings.size(), 3u);
}

TEST(KafkaConfigTest, DebugIsOnlyEnabledWhenAsked) {
  EXPECT_FALSE(debug_enabled(producer_conf({}).get()));
  EXPECT_TRUE(debug_enabled(producer_conf({"debug=broker,msg"}).get()));
}

TEST(KafkaConfigTest, ListIsRecognised) {
  EXPECT_TRUE(wants_property_list({"client.id=a", "list"}));
  EXPECT_FALSE(wants_property_list({"client.id=list"}));
  EXPECT_FALSE(wants_property_list({}));
}

}  // namespace
}  // namespace questlog::log::kafka
