#pragma once

#include "server/Broker.h"
#include "server/RedisConnection.h"
#include "server/RedisUrl.h"

#include <QTest>
#include <memory>
#include <optional>

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

namespace herald::test {

// Records everything a broker delivers (both the data and the control routes), for tests.
struct Inbox {
    QList<QPair<QString, QByteArray>> items;
    explicit Inbox(herald::Broker& b) {
        QObject::connect(&b, &herald::Broker::dataArrived, &b,
                         [this](const QString& k, const QByteArray& p) {
                             items.append({k, p});
                         });
        QObject::connect(&b, &herald::Broker::controlArrived, &b, [this](const QByteArray& p) {
            items.append({herald::cluster::kControlKey, p});
        });
    }
    qsizetype count(const QString& key, const QByteArray& payload) const {
        return items.count({key, payload});
    }
    bool has(const QString& key, const QByteArray& payload) const {
        return count(key, payload) > 0;
    }
};

// A RedisUrl from a test's literal (a bad one is a bug in the test).
inline herald::RedisUrl urlOf(const QString& text) {
    const auto parsed = herald::RedisUrl::parse(text);
    if (const auto* e = std::get_if<QString>(&parsed))
        qFatal("bad test URL %s: %s", qPrintable(text), qPrintable(*e));
    return std::get<herald::RedisUrl>(parsed);
}

// Runs one command and waits for its answer. The result lives on the heap so a late answer
// after a timeout cannot write into a dead stack frame.
inline std::optional<herald::RedisReply> run(herald::RedisConnection& c, const QByteArrayList& argv,
                                             int timeoutMs = 10000) {
    auto out = std::make_shared<std::optional<herald::RedisReply>>();
    c.command(argv, [out](const herald::RedisReply& r) { *out = r; });
    if (!QTest::qWaitFor([&] { return out->has_value(); }, timeoutMs))
        return std::nullopt;
    return *out;
}

} // namespace herald::test
