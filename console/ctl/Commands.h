#pragma once

#include "console/client/NodeSocket.h"
#include "console/ctl/ApiClient.h"
#include "console/ctl/CtlOptions.h"

#include <QJsonObject>
#include <QJsonValue>
#include <functional>
#include <variant>

// The request/answer commands (publish, broadcast, withdraw, sticky, stats) and the offline token
// command.
namespace herald::ctl {

using Finish = std::function<void(int exitCode)>;

// Prints "heraldctl: <message>" and a pointer to the help on stderr.
void printUsageError(const QString& message, Command command);
// Prints an API failure, with a hint when the failure is about the credential.
void printApiFailure(const ApiResult& result, const Options& options);

// heraldctl's exit code for how a WebSocket connection ended: 3 when no connection came up in
// time, 1 when the server refused or closed it.
int exitCodeFor(const client::Ending& ending);
// After "unauthorized" on /admin: a hint when the token's source explains the refusal.
void printAdminTokenHint(const Options& options);

// Any JSON value (object, array, string, number, true, false, null), exactly one; the error
// text says what is wrong and where.
std::variant<QJsonValue, QString> parseJsonArgument(const QByteArray& text);

// "3d 4h 5m 6s" style, largest unit first, "0s" for zero.
QString formatDuration(qint64 seconds);
// The human-readable form of a GET /api/cluster answer, one "key: value" per line.
QString formatStats(const QJsonObject& cluster);

// Each calls `finish` exactly once, possibly before returning (e.g. a bad JSON argument).
void startPublish(const Options& options, ApiClient& api, Finish finish);
void startBroadcast(const Options& options, ApiClient& api, Finish finish);
void startStats(const Options& options, ApiClient& api, Finish finish);
// Sticky notices: withdraw one (DELETE /api/broadcast/ID), list the active ones.
void startWithdraw(const Options& options, ApiClient& api, Finish finish);
void startSticky(const Options& options, ApiClient& api, Finish finish);
// The human-readable form of a GET /api/broadcast answer at `nowMs`, one notice per line.
QString formatSticky(const QJsonObject& answer, qint64 nowMs);

// Prints a development token; returns the exit code.
int runToken(const Options& options, qint64 nowSeconds);

} // namespace herald::ctl
