#include "log/kafka/kafka_config.h"

#include <fmt/format.h>

#include <cstdio>

#include "util/say.h"

namespace questlog::log::kafka {

Status set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value) {
  const std::string n(name), v(value);
  char err[512] = {};
  if (rd_kafka_conf_set(conf, n.c_str(), v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK) return {};
  return Status::error(Errc::invalid_argument,
                       fmt::format("-X {}={}: {}", n, v, static_cast<const char*>(err)));
}

Status apply_properties(rd_kafka_conf_t* conf, const std::vector<std::string>& props) {
  for (const std::string& p : props) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::error(Errc::invalid_argument, fmt::format("-X {}: expected prop=value", p));
    if (Status s = set_property(conf, std::string_view(p).substr(0, eq),
                                std::string_view(p).substr(eq + 1));
        !s.ok())
      return s;
  }
  return {};
}

std::string get_property(rd_kafka_conf_t* conf, const char* name) {
  char buf[512];
  size_t size = sizeof buf;
  if (rd_kafka_conf_get(conf, name, buf, &size) != RD_KAFKA_CONF_OK) return {};
  return buf;
}

ProducerCheck check_producer(rd_kafka_conf_t* conf, bool unsafe) {
  ProducerCheck check;
  std::vector<std::string> risks;
  const std::string acks = get_property(conf, "acks");
  if (acks != "-1")
    risks.push_back(
        fmt::format("-X acks={}: a 200 would go out before every in-sync replica has the event, "
                    "so a broker failure can lose acknowledged events (questlog needs acks=all)",
                    acks));
  if (get_property(conf, "message.timeout.ms") == "0")
    risks.push_back(
        "-X message.timeout.ms=0: no limit on how long a request waits for Kafka, so a client "
        "can wait forever for its answer (questlog needs a limit; its default is 10000)");
  if (!risks.empty() && !unsafe)
    check.refusal = Status::error(
        Errc::invalid_argument,
        fmt::format("{}; --unsafe-producer takes this risk on purpose", risks.front()));
  if (unsafe)
    for (std::string& r : risks) check.warnings.push_back(std::move(r));
  if (get_property(conf, "enable.idempotence") != "true" &&
      get_property(conf, "message.send.max.retries") != "0")
    check.warnings.push_back(
        "-X enable.idempotence=false: a retried send can write an acknowledged event twice "
        "(or out of order)");
  return check;
}

bool debug_enabled(rd_kafka_conf_t* conf) { return !get_property(conf, "debug").empty(); }

void print_log_line(const char* facility, const char* message) {
  say(stderr, "questlog: kafka: {}: {}\n", facility, message);
}

bool wants_property_list(const std::vector<std::string>& props) {
  for (const std::string& p : props)
    if (p == "list") return true;
  return false;
}

bool show_properties_if_asked(const std::vector<std::string>& props) {
  if (!wants_property_list(props)) return false;
  rd_kafka_conf_properties_show(stdout);
  return true;
}

}  // namespace questlog::log::kafka
