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

// True when `props` asks for kcat's `-X list` (print every property and exit).
bool wants_property_list(const std::vector<std::string>& props);

// kcat's `-X list`: if `props` asks for it, prints every librdkafka property to
// stdout and returns true (the command then exits 0).
bool show_properties_if_asked(const std::vector<std::string>& props);

}  // namespace questlog::log::kafka
