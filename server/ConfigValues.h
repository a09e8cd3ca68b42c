#pragma once

#include "server/Config.h"

#include <QByteArrayList>
#include <QList>
#include <QPair>
#include <QString>
#include <optional>
#include <variant>

// The pieces loadConfig() reads values with: each parser returns nullopt on success or a
// readable reason ("expected ..., got ...") that the caller prefixes with where the value came
// from. Apart from Config.cpp so that the settings table reads in one sitting.
namespace herald::configvalues {

// "10s", "2m", "1500ms": the shortest exact form.
QString showDuration(qint64 ms);
std::optional<QString> parseInt(const QString& value, qint64 min, qint64 max, qint64* out);
// "1500ms", "10s", "2m", "1h", "7d" or a bare number of seconds; nullopt if it is none.
std::optional<qint64> durationMs(const QString& text);
// A setting's duration: as durationMs(), up to a day.
std::optional<QString> parseDurationMs(const QString& text, qint64* outMs);
std::optional<QString> parseBool(const QString& value, bool* out);
// "ADDR:PORT", "[v6]:PORT", ":PORT" or a bare port (all addresses), "localhost:PORT", into
// listenAddress / listenPort.
std::optional<QString> parseListen(const QString& text, Config& c);
// Comma-separated tokens, trimmed, empty ones dropped.
QByteArrayList splitTokens(const QString& value);
// A secret's file, trimmed; a readable reason when it cannot be read.
std::optional<QString> readSecretFile(const QString& path, QByteArray* out);
// A flat INI (any section) or JSON object file, as key -> text.
std::variant<QList<QPair<QString, QString>>, QString> readConfigFile(const QString& path);

} // namespace herald::configvalues
