// Extract job file (TOML) -> job; a job that parses then runs its transforms
// and filters over a small event. What must hold: an error is one line naming the file.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "extract/job.h"
#include "extract/transforms.h"

using namespace questlog;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto job = extract::parse_job(text, "jobs/fuzz.toml");
  if (!job.ok()) {
    const std::string& why = job.status().message();
    if (why.find('\n') != std::string::npos || why.rfind("jobs/fuzz.toml", 0) != 0) {
      std::fprintf(stderr, "not one line naming the file: %s\n", why.c_str());
      std::abort();
    }
    return 0;
  }
  extract::FieldNames& names = *job->names;
  extract::Event e;
  e.set(names.intern("event_type"), extract::Value::of_string("purchase_sword"));
  e.set(names.intern("Host"), extract::Value::of_string("user1.comcast.com"));
  e.set(names.intern("quantity"), extract::Value::of_int(3));
  e.set(names.intern("price"), extract::Value::of_double(2.5));
  e.set(names.intern("officer"), extract::Value::of_bool(true));
  e.set(names.intern("Accept"), extract::Value::null());
  extract::Transformer transformer(job->transforms);
  if (transformer.apply(e))
    for (const extract::TableSpec& t : job->tables) (void)t.where.matches(e);
  return 0;
}
