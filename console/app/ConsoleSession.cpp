#include "console/app/ConsoleSession.h"

#include "shared/Streams.h"

#include <QDateTime>

namespace herald::console {

ConsoleSession::ConsoleSession(QObject* parent)
    : QObject(parent) {
    connect(&client_, &AdminClient::snapshotReceived, this, &ConsoleSession::applySnapshot);
    connect(&client_, &AdminClient::broadcastReportReceived, &broadcasts_,
            &BroadcastsModel::applyReport);
    connect(&client_, &AdminClient::streamsReceived, &streams_, &StreamsModel::apply);
    connect(&client_, &AdminClient::auditReceived, &audit_, &AuditModel::apply);
    connect(&client_, &AdminClient::stickyReceived, &sticky_, &StickyModel::apply);
    connect(&client_, &AdminClient::messageReceived, this, [this](const MessageEvent& m) {
        tail_.append(m, QDateTime::currentMSecsSinceEpoch());
    });
    connect(&client_, &AdminClient::stateChanged, this, &ConsoleSession::onState);
    connect(&client_, &AdminClient::ackReceived, this, [this](const admin::Ack& ack) {
        Q_EMIT notice(tr("server accepted %1").arg(ack.what.isEmpty() ? ack.requestId : ack.what));
        // Every accepted action is audited, so the audit view follows without a manual refresh.
        refreshAudit();
    });
    connect(&client_, &AdminClient::serverError, this,
            [this](const QString& code, const QString& message) {
                Q_EMIT notice(tr("server error %1: %2").arg(code, message));
            });
    // Streams change slowly and the report costs the server a cluster-wide sum: every 5 s is
    // enough to keep the audience preview honest.
    history_.setWindowMs(5 * 60 * 1000);
    streamsTimer_.setInterval(5000);
    connect(&streamsTimer_, &QTimer::timeout, this, &ConsoleSession::refreshStreams);
}

void ConsoleSession::open(const QUrl& server, const QByteArray& token) {
    server_ = server;
    client_.open(server, token);
}

void ConsoleSession::onState(AdminClient::State state) {
    if (state != AdminClient::State::Connected) {
        streamsTimer_.stop();
        return;
    }
    refreshStreams();
    refreshAudit();
    streamsTimer_.start();
    // A new connection has no subscriptions: resume the tail the admin had open.
    if (!tailed_.isEmpty())
        client_.send(SubscribeRequest{{tailed_}, {}});
}

void ConsoleSession::applySnapshot(const admin::ClusterSnapshot& snapshot) {
    nodes_.applySnapshot(snapshot);
    history_.record(snapshot, QDateTime::currentMSecsSinceEpoch());
}

bool ConsoleSession::sendBroadcast(const admin::Target& target, const SystemNotice& notice,
                                   QString* why, qint64 ttlMs) {
    const AudiencePreview p = preview(target);
    if (!p.valid) {
        if (why)
            *why = p.text;
        return false;
    }
    if (ttlMs > 0 && target.kind != admin::Target::Kind::All) {
        if (why)
            *why = tr("a sticky notice is for everyone: choose the target Everyone");
        return false;
    }
    const admin::BroadcastCommand sent = client_.broadcast(target, notice, ttlMs);
    if (sent.requestId.isEmpty()) {
        if (why)
            *why = tr("not connected: %1").arg(client_.stateText());
        return false;
    }
    broadcasts_.addSent(sent, QDateTime::currentMSecsSinceEpoch());
    return true;
}

bool ConsoleSession::withdraw(const QString& id) {
    return client_.send(admin::WithdrawCommand{id});
}

bool ConsoleSession::drain(const QString& node) {
    return client_.send(admin::DrainCommand{node});
}
bool ConsoleSession::disconnectUser(const QString& user) {
    return client_.send(admin::DisconnectCommand{user});
}
void ConsoleSession::refreshStreams() {
    client_.send(admin::StreamsCommand{50});
}
void ConsoleSession::refreshAudit() {
    client_.send(admin::AuditCommand{200});
}

bool ConsoleSession::startTail(const QString& stream, QString* why) {
    // Admins may tail anyone's private stream, so the spec is resolved as a publisher would name
    // it.
    const auto resolved = streams::resolveForPublisher(stream);
    if (const auto* e = std::get_if<Error>(&resolved)) {
        if (why)
            *why = e->message;
        return false;
    }
    stopTail();
    tailed_ = std::get<streams::StreamRef>(resolved).routingKey();
    tail_.clear();
    if (!client_.send(SubscribeRequest{{tailed_}, {}}) && why)
        *why = tr("not connected; the tail starts when the console reconnects");
    return true;
}

void ConsoleSession::stopTail() {
    if (!tailed_.isEmpty())
        client_.send(UnsubscribeRequest{{tailed_}});
    tailed_.clear();
}

} // namespace herald::console
