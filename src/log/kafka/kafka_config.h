// librdkafka configuration shared by the producer (serve) and the readers (tail,
// extract): kcat's `-X prop=value` vocabulary, applied one way everywhere.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace questlog::log::kafka {

// Sets one librdkafka property. On failure the Status is Errc::invalid_argument
// and reads "-X <name>=<value>: <librdkafka's reason>".
Status set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value);

// Applies each "prop=value" in order (later ones win, as with kcat). The value
// may itself contain '='; only the first one splits. Stops at the first entry
// that is malformed ("-X foo: expected prop=value") or that librdkafka refuses
// (unknown property, bad value), and returns that error; properties applied
// before it stay set.
Status apply_properties(rd_kafka_conf_t* conf, const std::vector<std::string>& props);

// The effective value of property `name` in `conf` ("" when librdkafka has none).
std::string get_property(rd_kafka_conf_t* conf, const char* name);

// serve's promise on Kafka is a 200 only for an event every in-sync replica has.
// check_producer() reads the effective configuration `conf` (our defaults and the
// user's -X applied) against it:
// - `refusal` (Errc::invalid_argument, naming the property and why) when it lets a
//   200 go out for an event Kafka may not have (acks other than all/-1) or lets a
//   request wait without limit (message.timeout.ms=0);
// - `warnings`, one line each, for settings that let an acknowledged event be
//   written twice (enable.idempotence=false with retries).
// With `unsafe` (serve --unsafe-producer) a refusal is only a warning.
struct ProducerCheck {
  Status refusal;
  std::vector<std::string> warnings;
};
ProducerCheck check_producer(rd_kafka_conf_t* conf, bool unsafe);

// True when the `debug` property is set: librdkafka then logs its debug contexts,
// and every line it logs goes to stderr (kcat's `-X debug=broker,msg` habit).
bool debug_enabled(rd_kafka_conf_t* conf);

// One librdkafka log line on stderr: "questlog: kafka: <facility>: <message>".
void print_log_line(const char* facility, const char* message);

// True when `props` asks for kcat's `-X list` (print every property and exit).
bool wants_property_list(const std::vector<std::string>& props);

// kcat's `-X list`: if `props` asks for it, prints every librdkafka property to
// stdout and returns true (the command then exits 0).
bool show_properties_if_asked(const std::vector<std::string>& props);

}  // namespace questlog::log::kafka
