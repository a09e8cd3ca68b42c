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
    , metrics_(metrics) {}

void Publisher::publish(const streams::StreamRef& stream, const QByteArray& dataJson, Done done) {
    const QString key = stream.routingKey();
    if (const auto retention = router_.retentionFor(key)) {
        // Kept and published in one step by the broker, which gives the id (the message's
        // position in the stream). No local-only fallback here: a message some clients saw but
        // history never had would break the order every resume relies on.
        const Answer answer = answerOnce(key, std::move(done));
        broker_.publishKept(key, *retention, dataJson, nodeId_,
                            [finish = answer.finish](std::variant<QString, Error> result) {
                                if (auto* error = std::get_if<Error>(&result))
                                    finish(QString(), *error);
                                else
                                    finish(std::get<QString>(result), std::nullopt);
                            });
        armTimeout(answer);
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

Publisher::Answer Publisher::answerOnce(const QString& key, Done done) {
    auto answered = std::make_shared<bool>(false);
    auto finish = [this, key, done = std::move(done), answered](const QString& id,
                                                                std::optional<Error> error) {
        if (*answered)
            return;
        *answered = true;
        if (error)
            metrics_.countError(error->code);
        else
            metrics_.published++;
        if (done)
            done(PublishResult{id, key, error});
    };
    return {finish, answered};
}

void Publisher::armTimeout(const Answer& answer) {
    // Only for a broker that has not answered yet (Redis; the embedded one answers at once): a
    // timer per publish would cost on the hot path, and hold the publisher for its whole time.
    if (*answer.answered)
        return;
    QTimer::singleShot(
        config_.publishTimeoutMs, this, [finish = answer.finish, ms = config_.publishTimeoutMs] {
            finish(QString(), Error{ErrorCode::Unavailable,
                                    QStringLiteral("the broker did not confirm the publish "
                                                   "within %1 ms; it may still be delivered")
                                        .arg(ms)});
        });
}

void Publisher::publishPayload(const QString& key, const QString& id, const QByteArray& payload,
                               Done done) {
    const Answer answer = answerOnce(key, std::move(done));
    broker_.publish(
        key, payload, [this, key, id, payload, finish = answer.finish](std::optional<Error> error) {
            if (error && error->code == ErrorCode::Unavailable) {
                // The cluster is out of reach: this node's own subscribers still get the message,
                // and the caller is told plainly that the others did not.
                router_.deliver(key, payload);
                error->message +=
                    QStringLiteral("; delivered to this node's connections only (%1)").arg(nodeId_);
            }
            finish(id, error);
        });
    armTimeout(answer);
}

} // namespace herald
