#include "io/file_system.h"

namespace questlog::io {

Status File::append(std::string_view data) {
  Status s = write_at(append_position_, data);
  if (s.ok()) append_position_ += data.size();
  return s;
}

}  // namespace questlog::io
