#include "server/Publisher.h"

#include "server/Router.h"
#include "shared/Bus.h"
#include "shared/Codec.h"

#include <QDateTime>
#include <QTimer>

namespace herald {

Publisher::Publisher(const Config& config, QString nodeId, MessageIds& ids, Broker& broker,
                     Router& router, Metrics& metrics, QObject* parent)
    : QObject(parent)
    , config_(config)
    , nodeId_(std::move(nodeId))
    , ids_(ids)
    , broker_(broker)
    , router_(router)
    , metrics_(metrics) {
    clock_.start();
    deadlineTimer_.setSingleShot(true);
    connect(&deadlineTimer_, &QTimer::timeout, this, &Publisher::expire);
}

void Publisher::publish(const streams::StreamRef& stream, const QByteArray& dataJson, Done done) {
    const QString key = stream.routingKey();
    if (const auto retention = router_.retentionFor(key)) {
        // Kept and published in one step by the broker, which gives the id (the message's
        // position in the stream). No local-only fallback here: a message some clients saw but
        // history never had would break the order every resume relies on.
        auto publish = open(key, std::move(done));
        broker_.publishKept(key, *retention, dataJson, nodeId_,
                            [this, publish](std::variant<QString, Error> result) {
                                if (auto* error = std::get_if<Error>(&result))
                                    answer(*publish, QString(), *error);
                                else
                                    answer(*publish, std::get<QString>(result), std::nullopt);
                            });
        watch(publish);
        return;
    }
    const QString id = ids_.next();
    const QByteArray payload = bus::encodeEnvelope(
        {id, nodeId_, QDateTime::currentMSecsSinceEpoch(), dataJson, {}, false});
    publishPayload(key, id, payload, std::move(done));
}

void Publisher::broadcast(const SystemNotice& notice, Done done) {
    const QString id = ids_.next();
    const QByteArray data = codec::encode(BroadcastRequest{notice});
    const QByteArray payload =
        bus::encodeEnvelope({id, nodeId_, QDateTime::currentMSecsSinceEpoch(), data, {}, false});
    publishPayload(streams::kSystemKey, id, payload, std::move(done));
}

std::shared_ptr<Publisher::Outstanding> Publisher::open(const QString& key, Done done) {
    // A caller without a callback still gets counted: `done` must not be empty while open.
    if (!done)
        done = [](const PublishResult&) {};
    return std::make_shared<Outstanding>(Outstanding{key, std::move(done)});
}

void Publisher::answer(Outstanding& publish, const QString& id, std::optional<Error> error) {
    if (!publish.done)
        return;
    const Done done = std::exchange(publish.done, nullptr);
    if (error)
        metrics_.countError(error->code);
    else
        metrics_.published++;
    done(PublishResult{id, publish.key, error});
}

void Publisher::watch(const std::shared_ptr<Outstanding>& publish) {
    // Only for a broker that has not answered yet (Redis; the embedded one answers at once).
    if (!publish->done)
        return;
    deadlines_.push_back({clock_.elapsed() + config_.publishTimeoutMs, publish});
    if (!deadlineTimer_.isActive())
        deadlineTimer_.start(config_.publishTimeoutMs);
}

void Publisher::expire() {
    const qint64 now = clock_.elapsed();
    while (!deadlines_.empty() && deadlines_.front().atMs <= now) {
        answer(*deadlines_.front().publish, QString(),
               Error{ErrorCode::Unavailable,
                     QStringLiteral("the broker did not confirm the publish within %1 ms; it "
                                    "may still be delivered")
                         .arg(config_.publishTimeoutMs)});
        deadlines_.pop_front();
    }
    if (!deadlines_.empty())
        deadlineTimer_.start(static_cast<int>(deadlines_.front().atMs - now));
}

void Publisher::publishPayload(const QString& key, const QString& id, const QByteArray& payload,
                               Done done) {
    auto publish = open(key, std::move(done));
    broker_.publish(key, payload, [this, key, id, payload, publish](std::optional<Error> error) {
        if (error && error->code == ErrorCode::Unavailable) {
            // The cluster is out of reach: this node's own subscribers still get the message,
            // and the caller is told plainly that the others did not.
            router_.deliver(key, payload);
            error->message +=
                QStringLiteral("; delivered to this node's connections only (%1)").arg(nodeId_);
        }
        answer(*publish, id, error);
    });
    watch(publish);
}

} // namespace herald
