// What a WebHDFS server says when an operation fails: an HTTP status and a
// RemoteException JSON body (WebHDFS.md, "Error Responses"):
//
//   {"RemoteException":{"exception":"AccessControlException",
//                       "javaClassName":"org.apache.hadoop.security.AccessControlException",
//                       "message":"Permission denied: user=bob, access=WRITE, ..."}}
//
// The namenode's messages may span lines (SafeModeException's advice); a
// datanode's carry the Java stack trace after the first line.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace questlog::io {

struct RemoteException {
  std::string exception;   // "AccessControlException"
  std::string java_class;  // "org.apache.hadoop.security.AccessControlException", may be empty
  std::string message;     // HDFS's own words, as sent
};

// The RemoteException in a response body, or nullopt when there is none (not
// JSON, another shape, an empty body).
std::optional<RemoteException> parse_remote_exception(std::string_view body);

// HDFS's message as one line: a Java stack trace ("\n\tat ...") dropped, other
// line breaks and tabs as single spaces, trimmed.
std::string one_line(std::string_view message);

// The Errc a failed operation maps to: FileNotFoundException -> not_found,
// FileAlreadyExistsException -> already_exists, AlreadyBeingCreatedException
// and RecoveryInProgressException -> busy, IllegalArgumentException and
// UnsupportedOperationException -> invalid_argument, anything else -> io_error.
Errc errc_for(const RemoteException& e);

// "AccessControlException: Permission denied: user=bob, ..." (one line), or,
// without a RemoteException, "HTTP 502" and the start of the body on one line.
std::string describe_failure(long http_status, const std::optional<RemoteException>& e,
                             std::string_view body);

// Whether writing again may succeed: not for a refusal that will be repeated
// (permissions, quotas, safe mode, a missing parent, an existing file, a bad
// argument); yes for other IOExceptions and server errors.
bool retryable(const RemoteException& e);

}  // namespace questlog::io
