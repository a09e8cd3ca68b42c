#pragma once

#include "console/app/Audience.h"
#include "console/app/BroadcastsModel.h"
#include "console/app/ConnectionsHistory.h"
#include "console/app/NodesModel.h"
#include "console/app/ReportModels.h"
#include "console/client/AdminClient.h"

#include <QObject>
#include <QTimer>

namespace herald::console {

// One connected cluster: the admin client and the models it feeds. This is only wiring and the
// few admin actions (send, drain, tail); the models stay independent so the views and the tests
// can bind to any of them alone.
class ConsoleSession : public QObject {
    Q_OBJECT
public:
    explicit ConsoleSession(QObject* parent = nullptr);

    void open(const QUrl& server, const QByteArray& token);
    AdminClient& client() { return client_; }
    NodesModel& nodes() { return nodes_; }
    ConnectionsHistory& history() { return history_; }
    BroadcastsModel& broadcasts() { return broadcasts_; }
    StreamsModel& streams() { return streams_; }
    AuditModel& audit() { return audit_; }
    StickyModel& sticky() { return sticky_; }
    TailModel& tail() { return tail_; }
    QUrl server() const { return server_; }

    AudiencePreview preview(const admin::Target& target) const {
        return previewAudience(target, nodes_, streams_);
    }
    // False with `why` when not connected or the target is malformed.
    // ttlMs > 0: a sticky notice (target all only).
    bool sendBroadcast(const admin::Target& target, const SystemNotice& notice,
                       QString* why = nullptr, qint64 ttlMs = 0);
    // Withdraws an active sticky notice on every node; false while not connected.
    bool withdraw(const QString& id);
    bool drain(const QString& node);
    bool disconnectUser(const QString& user);
    bool startTail(const QString& stream, QString* why = nullptr);
    void stopTail();
    QString tailedStream() const { return tailed_; }
    void refreshStreams();
    void refreshAudit();

    // Feeds a snapshot as if the server had sent it (the load measurement's seam).
    void applySnapshot(const admin::ClusterSnapshot& snapshot);

Q_SIGNALS:
    // One line for the status bar about the latest action's outcome.
    void notice(const QString& text);

private:
    void onState(AdminClient::State state);

    AdminClient client_;
    NodesModel nodes_;
    ConnectionsHistory history_;
    BroadcastsModel broadcasts_;
    StreamsModel streams_;
    AuditModel audit_;
    StickyModel sticky_;
    TailModel tail_;
    QTimer streamsTimer_;
    QUrl server_;
    QString tailed_;
};

} // namespace herald::console
