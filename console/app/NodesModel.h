#pragma once

#include "shared/Admin.h"

#include <QAbstractTableModel>
#include <QTimer>
#include <functional>

namespace herald::console {

// Every node the console has seen, one row each, fed by the cluster snapshots. A node that leaves
// the snapshot is kept as "down" for a while (default 60 s) instead of vanishing, so an admin who
// glances at the table still sees that something died; rows not refreshed for a few seconds (the
// console lost its connection) are "stale". Views colour rows from StateRole.
class NodesModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Id,
        Address,
        State,
        Connections,
        Users,
        Subscriptions,
        MessagesIn,
        Deliveries,
        BrokerLag,
        Uptime,
        Version,
        ColumnCount
    };
    enum Role { StateRole = Qt::UserRole + 1, SortRole, NodeIdRole };

    explicit NodesModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void applySnapshot(const admin::ClusterSnapshot& snapshot);

    // Cluster totals as the server counted them (users are de-duplicated across nodes there).
    qint64 totalConnections() const { return connections_; }
    qint64 totalUsers() const { return users_; }
    int liveNodes() const;
    int downNodes() const;
    // The last snapshot's node record; nullptr when the node is unknown or down.
    const cluster::NodeInfo* liveNode(const QString& id) const;
    QStringList liveNodeIds() const;
    QString stateOf(int row) const;

    void setDownRetentionMs(qint64 ms) { downRetentionMs_ = ms; }
    void setStaleAfterMs(qint64 ms) { staleAfterMs_ = ms; }
    // Tests move time by hand; the default is the wall clock.
    void setClock(std::function<qint64()> clock) { clock_ = std::move(clock); }
    // Re-evaluates stale/down rows now (also done every second by a timer).
    void tick();

Q_SIGNALS:
    void totalsChanged();
    void nodeWentDown(const QString& id, const QString& address);
    void nodeCameBack(const QString& id);

private:
    struct Row {
        cluster::NodeInfo info;
        qint64 seenAtMs = 0;    // when a snapshot last listed it
        qint64 downSinceMs = 0; // 0: listed in the latest snapshot
        bool stale = false;
    };
    static QString stateName(const Row& row);
    QVariant display(const Row& row, int column) const;
    QVariant sortValue(const Row& row, int column) const;
    void rowsChanged(int first, int last);

    QList<Row> rows_;
    qint64 connections_ = 0;
    qint64 users_ = 0;
    qint64 lastSnapshotMs_ = 0;
    qint64 downRetentionMs_ = 60'000;
    qint64 staleAfterMs_ = 3'500;
    std::function<qint64()> clock_;
    QTimer ticker_;
};

QString formatDuration(qint64 ms);

} // namespace herald::console
