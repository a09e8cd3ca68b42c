#pragma once

#include <QString>
#include <QUrl>
#include <optional>

// How every client of a node (heraldctl, the console) turns what a user typed into the URLs it
// calls, so both accept the same addresses and keep a proxy's path prefix alike.
namespace herald::serverurl {

// "http://host:port", "https://host/prefix", "ws://host:port" or plain "host:port" as an
// http(s) base URL; nullopt when it is not a usable server address.
std::optional<QUrl> normalise(const QString& text);
// `base` + path, e.g. http://127.0.0.1:8080 + /api/publish. A path prefix of base is kept.
QUrl api(const QUrl& base, const QString& path);
// The WebSocket URL for an endpoint (ws for http, wss for https), prefix kept.
QUrl webSocket(const QUrl& base, const QString& path);

} // namespace herald::serverurl
