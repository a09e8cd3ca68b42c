#pragma once

#include "server/Broker.h"

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

} // namespace herald::test
