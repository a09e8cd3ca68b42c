#include "server/LocalBroker.h"

#include <QMetaObject>
#include <QPointer>

namespace herald {

void LocalBroker::subscribe(const QString& key) {
    ++subscribed_[key];
}

void LocalBroker::unsubscribe(const QString& key) {
    auto it = subscribed_.find(key);
    if (it != subscribed_.end() && --it.value() <= 0)
        subscribed_.erase(it);
}

void LocalBroker::publish(const QString& key, const QByteArray& payload, PublishDone done) {
    // Queued so a publisher never sees its own delivery inside publish(), as with Redis.
    QMetaObject::invokeMethod(
        this,
        [this, key, payload] {
            if (subscribed_.contains(key))
                deliver(key, payload);
        },
        Qt::QueuedConnection);
    if (done)
        done(std::nullopt);
}

} // namespace herald
