#include "console/ui/DashboardView.h"

#include "console/app/ConsoleSession.h"
#include "console/ui/ConnectionsChart.h"
#include "console/ui/NodeTableProxy.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace herald::console {
namespace {
// A big figure over its caption; the caption label is returned through `caption` so it can
// follow the figure ("1 connection", "2 connections").
QLabel* bigNumber(QWidget* parent, QLabel** caption, QLayout* into) {
    auto* box = new QVBoxLayout;
    auto* value = new QLabel(QStringLiteral("–"), parent);
    QFont f = value->font();
    f.setPointSizeF(f.pointSizeF() * 2.6);
    f.setBold(true);
    value->setFont(f);
    value->setAlignment(Qt::AlignCenter);
    auto* label = new QLabel(parent);
    label->setAlignment(Qt::AlignCenter);
    box->addWidget(value);
    box->addWidget(label);
    *caption = label;
    static_cast<QHBoxLayout*>(into)->addLayout(box);
    return value;
}
} // namespace

DashboardView::DashboardView(ConsoleSession& session, QWidget* parent)
    : QWidget(parent)
    , session_(session) {
    auto* totals = new QHBoxLayout;
    connections_ = bigNumber(this, &connectionsCaption_, totals);
    connections_->setObjectName(QStringLiteral("totalConnections"));
    users_ = bigNumber(this, &usersCaption_, totals);
    users_->setObjectName(QStringLiteral("totalUsers"));
    nodes_ = bigNumber(this, &nodesCaption_, totals);
    nodes_->setObjectName(QStringLiteral("totalNodes"));
    connectionsCaption_->setObjectName(QStringLiteral("totalConnectionsCaption"));
    usersCaption_->setObjectName(QStringLiteral("totalUsersCaption"));
    nodesCaption_->setObjectName(QStringLiteral("totalNodesCaption"));

    proxy_ = new NodeTableProxy(this);
    proxy_->setSourceModel(&session_.nodes());
    table_ = new QTableView(this);
    table_->setObjectName(QStringLiteral("nodeTable"));
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(NodesModel::Id, Qt::AscendingOrder);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setStretchLastSection(true);
    // "down for 1 min 05 s" is longer than "serving": one line, and the column follows it.
    table_->setWordWrap(false);
    table_->horizontalHeader()->setSectionResizeMode(NodesModel::State,
                                                     QHeaderView::ResizeToContents);
    table_->setContextMenuPolicy(Qt::ActionsContextMenu);

    drain_ = new QPushButton(tr("&Drain node…"), this);
    drain_->setToolTip(
        tr("Stop the selected node accepting connections and move its clients to other nodes"));
    drain_->setEnabled(false);
    connect(drain_, &QPushButton::clicked, this, &DashboardView::drainSelected);
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { drain_->setEnabled(!selectedNode().isEmpty()); });

    auto* tableBox = new QWidget(this);
    auto* tableLayout = new QVBoxLayout(tableBox);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    tableLayout->addWidget(table_);
    auto* actions = new QHBoxLayout;
    actions->addStretch();
    actions->addWidget(drain_);
    tableLayout->addLayout(actions);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(tableBox);
    split->addWidget(new ConnectionsChart(session_.history(), this));
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    split->setSizes({320, 420});

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(totals);
    layout->addWidget(split, 1);
    connect(&session_.nodes(), &NodesModel::totalsChanged, this, &DashboardView::showTotals);
    showTotals();
    // Fit the columns to the first rows once; later the admin's own column widths are kept.
    connect(&session_.nodes(), &QAbstractItemModel::rowsInserted, this, [this] {
        if (!fitted_) {
            table_->resizeColumnsToContents();
            fitted_ = true;
        }
    });
}

void DashboardView::showTotals() {
    const QLocale locale;
    const NodesModel& n = session_.nodes();
    connections_->setText(locale.toString(n.totalConnections()));
    users_->setText(locale.toString(n.totalUsers()));
    nodes_->setText(n.downNodes() ? tr("%1 <span style='color:#b02a37'>(%2 down)</span>")
                                        .arg(n.liveNodes())
                                        .arg(n.downNodes())
                                  : QString::number(n.liveNodes()));
    connectionsCaption_->setText(n.totalConnections() == 1 ? tr("connection") : tr("connections"));
    usersCaption_->setText(n.totalUsers() == 1 ? tr("unique user") : tr("unique users"));
    nodesCaption_->setText(n.liveNodes() == 1 ? tr("node") : tr("nodes"));
}

QString DashboardView::selectedNode() const {
    const QModelIndexList rows = table_->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : rows.first().data(NodesModel::NodeIdRole).toString();
}

void DashboardView::drainSelected() {
    const QString node = selectedNode();
    if (node.isEmpty())
        return;
    const cluster::NodeInfo* info = session_.nodes().liveNode(node);
    const qint64 clients = info ? info->connections : 0;
    const auto answer = QMessageBox::warning(
        this, tr("Drain %1?").arg(node),
        tr("Drain node %1?\n\nIt stops accepting connections and asks %2 "
           "to reconnect to other nodes. This cannot be undone from the "
           "console; the node must be restarted to serve again.")
            .arg(node, clients == 1 ? tr("its 1 connected client")
                                    : tr("its %1 connected clients").arg(clients)),
        QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
    if (answer == QMessageBox::Yes && !session_.drain(node))
        QMessageBox::information(this, tr("Not connected"),
                                 tr("The console is not connected; nothing was sent."));
}

} // namespace herald::console
