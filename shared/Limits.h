#pragma once

#include <cstdint>

// Protocol-level constants shared by server, console and heraldctl. Configurable limits have
// their defaults here; the server's Config may lower or raise them.
namespace herald {

inline constexpr int kMaxStreamNameLength = 128;
inline constexpr int kMaxUserIdLength = 128;
inline constexpr std::int64_t kDefaultMaxMessageBytes = 64 * 1024;
inline constexpr int kDefaultMaxSubscriptions = 100;
inline constexpr std::int64_t kMaxHttpHeadBytes = 16 * 1024;
inline constexpr std::int64_t kDefaultMaxHttpBodyBytes = 1024 * 1024;
// Items in one batch publish (POST /api/publish with a JSON array): each is one publish through
// the broker, all in flight at once, so a batch is bounded like a body is.
inline constexpr int kMaxPublishBatchItems = 1000;

// WebSocket close codes Herald uses (RFC 6455 section 7.4; 4000-4999 are ours).
namespace close_code {
inline constexpr int kNormal = 1000;
inline constexpr int kGoingAway = 1001; // node shutting down
inline constexpr int kPolicyViolation = 1008;
inline constexpr int kTooLarge = 1009;            // incoming frame/message over the limit
inline constexpr int kServiceRestart = 1012;      // node draining: reconnect elsewhere
inline constexpr int kTryAgainLater = 1013;       // node full
inline constexpr int kUnauthorized = 4001;        // missing, bad or expired credential
inline constexpr int kDisconnectedByAdmin = 4003; // an administrator closed this user's connections
inline constexpr int kIdleTimeout = 4008;  // no traffic (not even pong) within the idle limit
inline constexpr int kSlowConsumer = 4009; // outbound queue over its limit
inline constexpr int kRateLimited = 4029;  // too many connections or auth failures from an address
} // namespace close_code

} // namespace herald
