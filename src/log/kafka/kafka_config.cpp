#include "log/kafka/kafka_config.h"

#include <cstdio>

namespace questlog::log::kafka {

Status set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value) {
  const std::string n(name), v(value);
  char err[512] = {};
  if (rd_kafka_conf_set(conf, n.c_str(), v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK) return {};
  return Status::error(Errc::invalid_argument, "-X " + n + "=" + v + ": " + err);
}

Status apply_properties(rd_kafka_conf_t* conf, const std::vector<std::string>& props) {
  for (const std::string& p : props) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::error(Errc::invalid_argument, "-X " + p + ": expected prop=value");
    if (Status s = set_property(conf, std::string_view(p).substr(0, eq),
                                std::string_view(p).substr(eq + 1));
        !s.ok())
      return s;
  }
  return {};
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
